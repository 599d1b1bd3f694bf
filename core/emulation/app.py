"""`HttpEmulator`: the base of HTTP emulators. A WSGI app with the awkward parts every vendor
has (rate limits, server errors, latency, truncated bodies), call counts by kind, a request
log for assertions, a gauge of the calls in flight, an in-process transport, a real loopback
server, and save/restore of the parts an emulator names.

A plugin's emulator subclasses `HttpEmulator` and implements `route(request)`, answering with
`self.json(...)` / `self.empty(...)` / a `Reply`, or raising a `Refusal`; the base decides
first whether a fault answers instead (429 with Retry-After, 5xx, a cut body) and counts the
call under the kind the subclass names with `request.kind`.
"""

from __future__ import annotations

import random
import threading
import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import orjson

from integrate.connector import Unsupported
from integrate.emulation.faults import Faults
from integrate.emulation.replies import Refusal, Reply
from integrate.emulation.saving import Saveable, read_saved, write_saved
from integrate.emulation.serving import (
    StartResponse,
    Written,
    raw_path,
    raw_path_transport,
    reason,
    serve_wsgi,
)
from integrate.emulator import Emulator
from integrate.errors import StateError
from integrate.http import Clock, SystemClock

if TYPE_CHECKING:
    import httpx
    from werkzeug.wrappers import Request


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

    # The format of the save file (`<plugin>.json`); raise it when the parts' state changes.
    saved_version: ClassVar[int] = 1

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
        self.served_url: str | None = None  # the base URL `serve()` answers at, once served
        self._storm_start: float | None = None  # when throttle_for began
        self._refused_in_row = 0  # for rate_limit_each
        self._cut_first = 0  # bodies cut for truncate_first
        # Body bytes of chunked answers the server has written so far (`Faults.chunked`):
        # how far a client read before it hung up.
        self.streamed = 0
        # Calls in flight: from entering the app until the server holds the last piece of the
        # answer to send (see `Written`); and the most seen at once since the last reset.
        self.in_flight = 0
        self.max_in_flight = 0
        self._gauge = threading.Lock()  # its own lock: waiting for `lock` is being in flight

    # ---- for subclasses ---------------------------------------------------------------

    @abstractmethod
    def route(self, request: Request) -> Answer | Reply:
        """Answer one request (or raise a `Refusal`). Name its kind with
        `self.kind(request, "list")` so that it is counted (list, insert, token ...)."""

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

    @classmethod
    def reply(cls, reply: Reply) -> Answer:
        """A handler's `Reply` as an answer: raw bytes, no body, or JSON."""
        if reply.raw is not None:
            return cls.raw(reply.status, reply.raw, reply.content_type, reply.headers)
        if reply.body is None:
            return cls.empty(reply.status, reply.headers)
        return cls.json(reply.status, reply.body, reply.headers)

    def rate_limited(self, request: Request) -> Answer:
        """The vendor's 429 (subclasses give their own body)."""
        return self.json(429, {"message": "too many requests"})

    def server_error(self, request: Request) -> Answer:
        return self.json(500, {"message": "internal error"})

    # ---- keeping the data between runs ----------------------------------------------------

    def saved_settings(self) -> Mapping[str, Any]:
        """The constructor options that make this emulator again (its seed and the settings
        that change its behaviour; the data is in the parts): `restore` passes them back."""
        return {}

    def saved_parts(self) -> Mapping[str, Saveable]:
        """The parts whose state `save` keeps, by name (a record store, an authorisation
        server ...). None (the default): the emulator cannot keep its data."""
        return {}

    def save(self, folder: Path) -> None:
        """Keep the settings and every saved part's state in `folder/<plugin>.json`."""
        with self.lock:
            parts = self.saved_parts()
            if not parts:
                raise Unsupported(f"the {self.plugin} emulator cannot keep its data between runs")
            write_saved(self._file(folder), self.saved_version, self.saved_settings(), parts)

    @classmethod
    def restore(
        cls, folder: Path, config: Mapping[str, Any], *, clock: Clock | None = None
    ) -> Self:
        """The emulator `save` left in `folder`: made again from its settings, then each
        part given back its state."""
        if cls.saved_parts is HttpEmulator.saved_parts:
            raise Unsupported(f"the {cls.plugin} emulator cannot keep its data between runs")
        path = cls._file(folder)
        saved = read_saved(path, cls.saved_version)
        emulator = cls(clock=clock, **saved.settings)
        with emulator.lock:
            for name, part in emulator.saved_parts().items():
                if name not in saved.parts:
                    raise StateError(f"{path} lacks {name}: start the sandbox over with --fresh")
                part.restore(saved.parts[name])
        return emulator

    @classmethod
    def _file(cls, folder: Path) -> Path:
        return folder / f"{cls.plugin}.json"

    # ---- the WSGI app -------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self._enter()
        try:
            pieces, chunked = self._answer(environ, start_response)
        except BaseException:
            self._leave()
            raise
        return Written(pieces, self._leave, self._streamed if chunked else None)

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

    def _routed(self, request: Request) -> Answer:
        """The subclass's answer, a `Reply` encoded and a `Refusal` answered in its words."""
        try:
            answer = self.route(request)
        except Refusal as refused:
            return self.json(refused.status, refused.body(), refused.headers)
        return answer if isinstance(answer, Answer) else self.reply(answer)

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
                answer = self._routed(request)
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
                    raw_path(environ),
                )
            )
        if self.faults.latency:
            self.clock.sleep(self.faults.latency)
        if hang:
            time.sleep(hang)  # real time, outside the lock: other calls go on meanwhile
        status = f"{answer.status} {reason(answer.status)}"
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
        return raw_path_transport(self)

    def calls(self) -> Mapping[str, int]:
        return dict(self.counts)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on a real loopback port in a background thread; returns the base URL (also
        kept as `served_url`)."""
        self._server = serve_wsgi(self, host, port, f"{self.plugin}-emulator")
        self.served_url = f"http://{host}:{self._server.server_port}"
        return self.served_url

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
