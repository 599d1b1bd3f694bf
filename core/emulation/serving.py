"""Putting an emulator's WSGI app on the wire: in process (an httpx transport that passes the
raw request path as a real server does) or on a real loopback port (HTTP/1.1, kept-alive
connections, a background thread), and the body iterator that tells when an answer is out."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import httpx

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Any]


def serve_wsgi(app: WsgiApp, host: str, port: int, name: str) -> Any:
    """A threaded werkzeug server for `app` on `host:port` (0: any free port), serving in a
    daemon thread named `name`; call `shutdown()` on it to stop."""
    import logging

    from werkzeug.serving import WSGIRequestHandler, make_server

    class KeepAlive(WSGIRequestHandler):
        """HTTP/1.1 with persistent connections, as the vendors' servers speak it."""

        protocol_version = "HTTP/1.1"
        timeout = 60  # an idle kept-alive connection is dropped after a minute

    # One access-log line per call would drown the command's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(host, port, app, threaded=True, request_handler=KeepAlive)
    # Stopping must not wait for clients that keep idle connections open.
    if isinstance(server, socketserver.ThreadingMixIn):
        server.block_on_close = False
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


class Written:
    """An answer's body, piece by piece, that tells `done` once it is written but for the
    sending: just before the server takes the last piece (a chunked body is in flight while
    its earlier pieces go out), or when it is closed first (a client that hung up). Not after
    the last send: a server thread that gets to run again late would still count a call its
    client has finished and followed with the next. `sent` hears of each piece written."""

    def __init__(
        self,
        pieces: list[bytes],
        done: Callable[[], None],
        sent: Callable[[int], None] | None = None,
    ):
        self._pieces = pieces
        self._done: Callable[[], None] | None = done
        self._sent = sent

    def __iter__(self) -> Iterator[bytes]:
        last = len(self._pieces) - 1
        for at, piece in enumerate(self._pieces):
            if at == last:
                self._finish()
            yield piece
            if self._sent is not None:
                self._sent(len(piece))
        self._finish()  # no pieces at all

    def close(self) -> None:
        self._finish()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()


def raw_path(environ: Mapping[str, Any]) -> str:
    """The request's path as sent, before percent-decoding: from `REQUEST_URI` (werkzeug's
    server and the in-process transport set it), else re-encoded from `PATH_INFO`."""
    uri = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if uri:
        path = str(uri).split("?", 1)[0]
        return urlsplit(path).path if "://" in path else path
    return quote(str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")))


def raw_path_transport(app: WsgiApp) -> httpx.BaseTransport:
    """httpx's WSGI transport to `app`, plus the raw request path in `REQUEST_URI` as a real
    server gives it (httpx's puts only the decoded path)."""
    import httpx

    class RawPathTransport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            uri = request.url.raw_path.decode("ascii")

            def with_uri(environ: dict[str, Any], start_response: StartResponse) -> Any:
                environ["REQUEST_URI"] = uri
                return app(environ, start_response)

            return httpx.WSGITransport(app=with_uri).handle_request(request)

    return RawPathTransport()


def reason(status: int) -> str:
    """The status line's reason phrase."""
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"
