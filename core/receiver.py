"""The HTTP receiver of `integrate serve`: webhooks in, a health page out (werkzeug's threaded
WSGI server in a thread of serve: the engine is synchronous and thread-based, no asyncio).

A notification is a hint (RELIABILITY §3.3): the receiver checks its size, its JSON type, the
path's integration and flow, reads it with the source plugin's `notice()`, compares its token
with the channel's in constant time, records it in the event ledger (a key seen before: 200,
nothing new), answers 200 at once and wakes the serve loop, which runs the flow."""

from __future__ import annotations

import hmac
import logging
import socketserver
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from integrate.channels import Hook, accepts
from integrate.clock import Clock, SystemClock
from integrate.errors import IntegrateError
from integrate.ledger import EventLedger

log = logging.getLogger("integrate.serve")

MAX_BODY = 1024 * 1024  # a notification larger than this is refused (413)
JSON_TYPES = ("application/json",)


class Inbox:
    """The flows webhooks woke, waiting for the serve loop (each once however many calls came
    meanwhile: they are coalesced into one run), and the loop's wait, which they cut short."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self._woken = threading.Condition()
        self._flows: dict[tuple[str, str], None] = {}  # (integration, flow), in arrival order
        self.stopping = False

    def put(self, integration: str, flow: str) -> None:
        with self._woken:
            self._flows[(integration, flow)] = None
            self._woken.notify_all()

    def stop(self) -> None:
        """Wake the loop to stop (a signal came)."""
        with self._woken:
            self.stopping = True
            self._woken.notify_all()

    def take(self) -> list[tuple[str, str]]:
        """The flows woken since the last take, oldest first."""
        with self._woken:
            flows, self._flows = list(self._flows), {}
            return flows

    def wait_until(self, moment: float | None) -> bool:
        """Wait until `moment` (for ever when None) or a webhook or a stop; True when woken
        before it. On a fake clock (tests) the time passes at once, unless a flow is woken."""
        with self._woken:
            if self._flows or self.stopping:
                return True
            if not isinstance(self.clock, SystemClock):
                if moment is None:
                    return False  # nothing will ever come on a fake clock: the loop ends
                self.clock.sleep(moment - self.clock.now())
                return False
            while not (self._flows or self.stopping):
                left = None if moment is None else moment - self.clock.now()
                if left is not None and left <= 0:
                    return False
                self._woken.wait(left)
            return True


def _answer(status: int, body: Mapping[str, Any]) -> tuple[int, bytes]:
    return status, orjson.dumps(body)


class Receiver:
    """The WSGI app: `POST /webhooks/<integration>/<flow>`, `GET /healthz`, the operator's
    page under /ui/ when given, else 404. With a `secret` (a non-loopback bind), every path
    but the webhooks and the page needs it as a bearer token; webhooks are authorised by
    their channel's token, the page by its own token (INTEGRATE_UI_TOKEN)."""

    def __init__(
        self,
        hooks: Sequence[Hook],
        ledgers: Mapping[str, EventLedger],
        inbox: Inbox,
        clock: Clock,
        *,
        secret: str | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
        pages: Callable[..., Any] | None = None,
    ):
        self.pages = pages  # the operator's page (a WSGI app of its own auth), under /ui/
        self.hooks = {h.path: h for h in hooks}
        self.ledgers = ledgers
        self.inbox = inbox
        self.clock = clock
        self.secret = secret
        self.health = health or (lambda: {"status": "ok"})

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        if self.pages is not None and (
            request.path in ("/", "/ui") or request.path.startswith("/ui/")
        ):
            if request.path == "/":
                response = Response(status=303, headers={"Location": "/ui/"})
                return response(environ, start_response)
            return self.pages(environ, start_response)
        try:
            status, body = self.route(request)
        except IntegrateError as exc:  # the state file failed: the caller retries later
            log.error("webhook receiver: %s", exc)
            status, body = _answer(503, {"error": "cannot record the call now; try again"})
        response = Response(body, status=status, content_type="application/json")
        return response(environ, start_response)

    def route(self, request: Any) -> tuple[int, bytes]:
        path = request.path
        if path.startswith("/webhooks/"):
            return self.webhook(request)
        if self.secret is not None and not self._bearer(request):
            return _answer(401, {"error": "this path needs the serve secret as a bearer token"})
        if path == "/healthz":
            if request.method not in ("GET", "HEAD"):
                return _answer(405, {"error": "GET only"})
            return _answer(200, self.health())
        return _answer(404, {"error": "not found"})

    def _bearer(self, request: Any) -> bool:
        assert self.secret is not None
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.secret.encode()
        )

    def webhook(self, request: Any) -> tuple[int, bytes]:
        """One notification call: checked, recorded once, answered at once."""
        hook = self.hooks.get(request.path)
        if hook is None:
            return _answer(404, {"error": "no flow takes webhooks at this path"})
        if request.method != "POST":
            return _answer(405, {"error": "POST only"})
        length = request.content_length
        if length is not None and length > MAX_BODY:
            return _answer(413, {"error": f"a notification is at most {MAX_BODY} bytes"})
        if request.mimetype not in JSON_TYPES and not request.mimetype.endswith("+json"):
            return _answer(
                415, {"error": "a notification is JSON (Content-Type: application/json)"}
            )
        body = request.stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return _answer(413, {"error": f"a notification is at most {MAX_BODY} bytes"})
        try:
            notice = hook.plugin.notice(body, request.content_type or "")
        except IntegrateError as exc:
            return _answer(400, {"error": f"not a notification of {hook.plugin.plugin}: {exc}"})
        ledger = self.ledgers[hook.spec.name]
        kept = ledger.channel(hook.flow)
        if (
            kept is None
            or not hmac.compare_digest(notice.channel_id.encode(), kept.channel.id.encode())
            or not accepts(kept, notice.token, self.clock.now())
        ):
            log.warning("%s: a call with an unknown channel or a wrong token refused", hook.path)
            return _answer(401, {"error": "unknown channel or wrong token"})
        if notice.object not in hook.objects:
            return _answer(400, {"error": f"{hook.flow} does not read {notice.object!r}"})
        new = ledger.record(hook.flow, hook.plugin.plugin, notice)
        if new:
            log.info(
                "%s: %s %s of %d record(s) received",
                hook.path,
                notice.object,
                notice.operation,
                len(notice.ids),
            )
            self.inbox.put(hook.spec.name, hook.flow)
        return _answer(200, {"status": "received" if new else "seen before"})


class Listener:
    """The receiver on `host:port` (0: any free port) in a thread, until `stop()`."""

    def __init__(self, app: Receiver, host: str, port: int):
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            """Access lines at debug level only (paths carry no secret, but they are many)."""

            def log(self, type: str, message: str, *args: Any) -> None:
                log.debug("receiver: " + message, *args)

        try:
            self.server = make_server(host, port, app, threaded=True, request_handler=Quiet)
        except OSError as exc:
            raise IntegrateError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        if isinstance(self.server, socketserver.ThreadingMixIn):
            self.server.block_on_close = False  # never wait for idle kept-alive clients
            self.server.daemon_threads = True
        self.host = host
        self.port = int(self.server.server_port)
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="integrate-receiver",
            daemon=True,
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop accepting; calls being answered finish on their own threads."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


__all__ = ["MAX_BODY", "Inbox", "Listener", "Receiver"]
