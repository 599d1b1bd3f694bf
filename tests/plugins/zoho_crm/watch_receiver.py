"""A notify_url receiver on loopback for the watch tests: a tiny HTTP server in a thread that
keeps every POST it gets (path, headers, body, when by the test's clock) and answers with
the statuses it is told, in turn (the last one from then on)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Got:
    path: str
    content_type: str
    raw: bytes
    at: float

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


class Receiver:
    def __init__(
        self,
        now: Callable[[], float] = time.monotonic,
        statuses: Sequence[int] = (200,),
        hang: float = 0.0,
    ):
        self.now = now
        self.statuses = list(statuses)
        self.hang = hang  # seconds the first POST is held before it is answered
        self.got: list[Got] = []
        self.attempts: list[float] = []  # every POST, answered 2xx or not
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.arrived:
                    receiver.attempts.append(receiver.now())
                    first = len(receiver.attempts) == 1
                    status = receiver.statuses[
                        min(len(receiver.attempts), len(receiver.statuses)) - 1
                    ]
                if first and receiver.hang:
                    time.sleep(receiver.hang)
                    status = 200  # too late: the sender has given up
                with receiver.arrived:
                    if 200 <= status < 300:
                        got = Got(
                            self.path, self.headers.get("Content-Type", ""), raw, receiver.now()
                        )
                        receiver.got.append(got)
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def wait(self, count: int, timeout: float = 3.0) -> list[Got]:
        """The callbacks received once there are `count` (real time, bounded)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.got) >= count, timeout)
            return list(self.got)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=2)

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
