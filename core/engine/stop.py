"""Stopping a run cleanly on SIGINT or SIGTERM: the first signal asks the run to stop at its
next safe point (after the batch in flight is committed, between pages, between flows); a
second stops it at once. Either way the run is recorded as `interrupted`, with its counts,
and the command exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from integrate.errors import IntegrateError

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Interrupted(IntegrateError):
    """A run stopped because a signal asked it to (exit code 128 + the signal's number)."""

    def __init__(self, signum: int, *, at_once: bool = False):
        self.signum = signum
        self.at_once = at_once
        self.exit_code = 128 + signum
        name = signal_name(signum)
        if at_once:
            text = (
                f"stopped at once by a second {name}: the batch in flight may have reached the "
                "system without being recorded; the next run reads it again and finds what was "
                "written by its match keys"
            )
        else:
            text = (
                f"interrupted by {name}: stopped after the last committed batch; run again to "
                "carry on from there"
            )
        super().__init__(text)


class StopNow(BaseException):
    """Raised by a second signal wherever the run is: not an Exception, so that no handler
    meant for errors swallows it. The runner turns it into Interrupted(at_once=True)."""

    def __init__(self, signum: int):
        super().__init__(signal_name(signum))
        self.signum = signum


class StopRequest:
    """Whether a stop was asked for; the run looks at it at each safe point."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.at_once = False

    def request(self, signum: int) -> None:
        self.signum = signum

    def check(self) -> None:
        """At a safe point: stop here if a stop was asked for."""
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextmanager
def stopping_on_signals(stop: StopRequest) -> Iterator[StopRequest]:
    """SIGINT and SIGTERM ask `stop` to stop the run; a second one raises StopNow at once;
    later ones are ignored while the run is recorded. The previous handlers come back after
    the block. Outside the main thread (where signals cannot be handled) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.signum is None:
            stop.request(signum)
        elif not stop.at_once:
            stop.at_once = True
            raise StopNow(signum)

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
