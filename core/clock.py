"""Time as the HTTP layer and the emulators see it: the wall clock, or a fake one that tests
share between an emulator and its client so that waits cost nothing."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Time as the HTTP layer sees it; tests and emulators share a fake one."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time (token expiries are kept across runs, so not a monotonic clock)."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that never really waits: sleeping moves it forward. For tests and emulators."""

    def __init__(self, start: float = 1_000_000.0):
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            if seconds > 0:
                self._now += seconds
            self.slept.append(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def utc_iso(epoch: float) -> str:
    """A moment of the clock (seconds since the epoch) as UTC ISO 8601, to the second."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")
