"""The base of HTTP emulators: a WSGI app with the awkward parts every vendor has (rate
limits, server errors, latency, truncated bodies), call counts by kind, a request log for
assertions, a gauge of the calls in flight, an in-process transport and a real loopback server.

A plugin's emulator subclasses `HttpEmulator` and implements `route(request)`, answering
with `self.json(...)` / `self.empty(...)`; the base decides first whether a fault answers
instead (429 with Retry-After, 5xx, a cut body) and counts the call under the kind the
subclass names with `request.kind`.
"""

from __future__ import annotations

import random
import socketserver
import threading
import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import orjson

from integrate.emulator import Emulator
from integrate.http import Clock, SystemClock

if TYPE_CHECKING:
    import httpx
    from werkzeug.wrappers import Request

StartResponse = Callable[..., Any]


@dataclass
class Faults:
    """What the emulator does wrong, on purpose. Fractions are of calls, seeded."""

    rate_limit: float = 0.0  # answer 429
    retry_after: float | None = 1.0  # seconds in the 429's Retry-After (None: no header)
    server_error: float = 0.0  # answer `error_status` before doing anything
    truncate: float = 0.0  # cut the JSON body short (valid framing, broken JSON)
    latency: float = 0.0  # seconds added to every call (on the emulator's clock)
    # A throttle storm: every call answers 429 (with `retry_after` as above) for this many
    # seconds on the emulator's clock, from the first call the faults touch (0: none).
    throttle_for: float = 0.0
    # Answer 429 this many times in a row before serving each call (0: never).
    rate_limit_each: int = 0
    # Cut the bodies of the first this many calls (valid framing, broken JSON), then none.
    truncate_first: int = 0
    # Send bodies in pieces of this many bytes without Content-Length (chunked transfer):
    # a client learns a body's size only by counting it. 0: whole bodies, sized.
    chunked: int = 0
    # Call kinds the faults never touch (e.g. the token endpoint).
    spare: frozenset[str] = frozenset()
    error_status: int = 500  # the status of server_error and lose_answer (500, 502, 503 ...)
    # Answers lost after the call was carried out (the system did it; the client cannot tell):
    # this fraction of the calls of `lose_kinds` (empty: every kind) is answered `error_status`,
    # or, with `hang_after_commit`, gets its real answer only after that many real seconds (a
    # served emulator: a client whose timeout is shorter sees a read timeout after the commit).
    lose_answer: float = 0.0
    hang_after_commit: float = 0.0
    lose_kinds: frozenset[str] = frozenset()

    @classmethod
    def of(cls, value: Faults | Mapping[str, Any] | None) -> Faults:
        """Faults from themselves, from a mapping of their fields (`integrate emulate --set`,
        a spec's `sandbox.options`), or none."""
        if value is None:
            return cls()
        if isinstance(value, Faults):
            return value
        fields = dict(value)
        for name in ("spare", "lose_kinds"):
            if fields.get(name):
                fields[name] = frozenset(fields[name])
        return cls(**fields)


@dataclass
class Logged:
    """One call the emulator received. `path` is percent-decoded, as the vendor's router
    sees it; `raw_path` is the path exactly as the client sent it (query left out), so a
    test can tell an escaped `/` (`%2F`) inside one segment from a real one."""

    at: float
    method: str
    host: str
    path: str
    kind: str
    status: int
    raw_path: str = ""


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class HttpEmulator(Emulator):
    """A vendor's HTTP API, in process. Subclasses implement `route`."""

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        faults: Faults | Mapping[str, Any] | None = None,
    ):
        self.clock: Clock = clock or SystemClock()
        self.faults = Faults.of(faults)
        self._rng = random.Random(seed)
        self._fault_rng = random.Random(seed + 1)
        self.counts: Counter[str] = Counter()
        self.log: list[Logged] = []
        self.lock = threading.RLock()
        self._server: Any = None
        self._storm_start: float | None = None  # when throttle_for began
        self._refused_in_row = 0  # for rate_limit_each
        self._cut_first = 0  # bodies cut for truncate_first
        # Body bytes of chunked answers the server has written so far (`Faults.chunked`):
        # how far a client read before it hung up.
        self.streamed = 0
        # Calls in flight: from entering the app until the server holds the last piece of the
        # answer to send (see `_Written`); and the most seen at once since the last reset.
        self.in_flight = 0
        self.max_in_flight = 0
        self._gauge = threading.Lock()  # its own lock: waiting for `lock` is being in flight

    # ---- for subclasses ---------------------------------------------------------------

    @abstractmethod
    def route(self, request: Request) -> Answer:
        """Answer one request. Name its kind with `self.kind(request, "list")` so that it is
        counted (list, insert, token ...)."""

    def kind_of(self, request: Request) -> str:
        """The kind of a call before it is answered (faults are decided on it: a call the
        system refuses with 429 or 500 never takes effect). Override it; the default names
        every call "other"."""
        return "other"

    @staticmethod
    def kind(request: Request, name: str) -> None:
        request.environ["integrate.kind"] = name

    @staticmethod
    def json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Answer:
        data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
        return Answer(
            status, data, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        )

    @staticmethod
    def empty(status: int, headers: Mapping[str, str] | None = None) -> Answer:
        return Answer(status, b"", dict(headers or {}))

    @staticmethod
    def raw(
        status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> Answer:
        return Answer(status, body, {"Content-Type": content_type, **(headers or {})})

    def rate_limited(self, request: Request) -> Answer:
        """The vendor's 429 (subclasses give their own body)."""
        return self.json(429, {"message": "too many requests"})

    def server_error(self, request: Request) -> Answer:
        return self.json(500, {"message": "internal error"})

    # ---- the WSGI app -------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self._enter()
        try:
            pieces, chunked = self._answer(environ, start_response)
        except BaseException:
            self._leave()
            raise
        return _Written(pieces, self._leave, self._streamed if chunked else None)

    def reset_max_in_flight(self) -> None:
        """Start `max_in_flight` again from the calls in flight now (e.g. between runs)."""
        with self._gauge:
            self.max_in_flight = self.in_flight

    def _enter(self) -> None:
        with self._gauge:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._gauge:
            self.in_flight -= 1

    def _answer(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> tuple[list[bytes], bool]:
        """One call: faults or the subclass's answer, counted and logged; the latency and a
        held-back answer are waited out outside the lock, so concurrent calls overlap. Returns
        the body's pieces and whether they go chunked."""
        from werkzeug.wrappers import Request

        request = Request(environ)
        hang = 0.0
        with self.lock:
            kind = self.kind_of(request)
            refused = self._refusal(request, kind)
            if refused is not None:
                answer = refused
            else:
                answer = self.route(request)
                kind = str(environ.get("integrate.kind", kind))
                answer = self._cut(kind, answer)
                if self._loses(kind):
                    if self.faults.hang_after_commit > 0:
                        hang = self.faults.hang_after_commit
                        self.counts["fault:hang"] += 1
                    else:
                        answer = self.server_error(request)
                        answer.status = self.faults.error_status
                        self.counts["fault:lost"] += 1
            self.counts[kind] += 1
            self.log.append(
                Logged(
                    self.clock.now(),
                    request.method,
                    request.host,
                    request.path,
                    kind,
                    answer.status,
                    _raw_path(environ),
                )
            )
        if self.faults.latency:
            self.clock.sleep(self.faults.latency)
        if hang:
            time.sleep(hang)  # real time, outside the lock: other calls go on meanwhile
        status = f"{answer.status} {_reason(answer.status)}"
        piece = self.faults.chunked
        if piece > 0 and answer.body and kind not in self.faults.spare:
            start_response(status, list(answer.headers.items()))
            view = memoryview(answer.body)
            return [bytes(view[at : at + piece]) for at in range(0, len(answer.body), piece)], True
        headers = [*answer.headers.items(), ("Content-Length", str(len(answer.body)))]
        start_response(status, headers)
        return [answer.body], False

    def _streamed(self, size: int) -> None:
        """A piece of a chunked body the server has written (a client that hangs up stops the
        rest)."""
        with self.lock:
            self.streamed += size

    def _refusal(self, request: Request, kind: str) -> Answer | None:
        """A 429 or a 500 decided before the call is carried out: the system did nothing."""
        faults = self.faults
        if kind in faults.spare:
            return None
        if faults.throttle_for:
            now = self.clock.now()
            if self._storm_start is None:
                self._storm_start = now
            if now < self._storm_start + faults.throttle_for:
                return self._limited(request)
        if faults.rate_limit_each:
            if self._refused_in_row < faults.rate_limit_each:
                self._refused_in_row += 1
                return self._limited(request)
            self._refused_in_row = 0
        roll = self._fault_rng.random()
        if roll < faults.rate_limit:
            return self._limited(request)
        if roll < faults.rate_limit + faults.server_error:
            self.counts[f"fault:{faults.error_status}"] += 1
            answer = self.server_error(request)
            answer.status = faults.error_status
            return answer
        return None

    def _loses(self, kind: str) -> bool:
        """Whether this call, carried out already, loses its answer (seeded)."""
        faults = self.faults
        if not faults.lose_answer or kind in faults.spare:
            return False
        if faults.lose_kinds and kind not in faults.lose_kinds:
            return False
        return self._fault_rng.random() < faults.lose_answer

    def _limited(self, request: Request) -> Answer:
        limited = self.rate_limited(request)
        if self.faults.retry_after is not None:
            limited.headers["Retry-After"] = str(int(self.faults.retry_after))
        self.counts["fault:429"] += 1
        return limited

    def _cut(self, kind: str, answer: Answer) -> Answer:
        """A body cut in half after the call was carried out (valid framing, broken JSON)."""
        faults = self.faults
        if kind in faults.spare or not answer.body:
            return answer
        first = self._cut_first < faults.truncate_first
        if first:
            self._cut_first += 1
        if first or (faults.truncate and self._fault_rng.random() < faults.truncate):
            self.counts["fault:truncated"] += 1
            return Answer(
                answer.status, answer.body[: max(1, len(answer.body) // 2)], answer.headers
            )
        return answer

    # ---- Emulator -----------------------------------------------------------------------

    def transport(self) -> httpx.BaseTransport:
        """The in-process transport: httpx's WSGI transport, plus the raw request path in
        `REQUEST_URI` as a real server gives it (httpx's puts only the decoded path)."""
        return _raw_path_transport(self)

    def calls(self) -> Mapping[str, int]:
        return dict(self.counts)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a real loopback port in a background thread; returns the base URL."""
        import logging

        from werkzeug.serving import WSGIRequestHandler, make_server

        class KeepAlive(WSGIRequestHandler):
            """HTTP/1.1 with persistent connections, as the vendors' servers speak it."""

            protocol_version = "HTTP/1.1"
            timeout = 60  # an idle kept-alive connection is dropped after a minute

        # One access-log line per call would drown the command's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = make_server(host, port, self, threaded=True, request_handler=KeepAlive)
        # Stopping must not wait for clients that keep idle connections open.
        if isinstance(server, socketserver.ThreadingMixIn):
            server.block_on_close = False
        self._server = server
        threading.Thread(
            target=server.serve_forever, name=f"{self.plugin}-emulator", daemon=True
        ).start()
        return f"http://{host}:{server.server_port}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None


class _Written:
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


def _raw_path(environ: Mapping[str, Any]) -> str:
    """The request's path as sent, before percent-decoding: from `REQUEST_URI` (werkzeug's
    server and the in-process transport set it), else re-encoded from `PATH_INFO`."""
    uri = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if uri:
        path = str(uri).split("?", 1)[0]
        return urlsplit(path).path if "://" in path else path
    return quote(str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")))


def _raw_path_transport(app: HttpEmulator) -> httpx.BaseTransport:
    import httpx

    class RawPathTransport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            uri = request.url.raw_path.decode("ascii")

            def with_uri(environ: dict[str, Any], start_response: StartResponse) -> Any:
                environ["REQUEST_URI"] = uri
                return app(environ, start_response)

            return httpx.WSGITransport(app=with_uri).handle_request(request)

    return RawPathTransport()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"
