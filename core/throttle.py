"""A connection's shared slow-down when the system says "too many requests".

A 429 (or a Retry-After on any answer) pauses the whole connection, not just the call that
got it: every thread of the same HttpClient waits until the pause is over. While the system
keeps refusing, one call at a time probes whether the limit has lifted, and the pauses grow
(exponential backoff with jitter, capped) until an answer that is not a 429 ends the storm.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrate.http import Clock

# While another call probes, a waiting call looks again at least this often (real seconds).
_PROBE_WAIT = 0.5


class Throttle:
    """The pause and the run of 429s in a row of one connection."""

    def __init__(
        self,
        clock: Clock,
        *,
        backoff: float,
        backoff_max: float,
        retry_after_max: float,
        jitter: float,
        rng: random.Random,
    ):
        self.clock = clock
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.jitter = jitter
        self._rng = rng
        self._cond = threading.Condition()
        self._until = 0.0  # on self.clock: nobody sends before this
        self._streak = 0  # 429s in a row on this connection
        self._probing = False  # one call is finding out whether the limit has lifted

    @property
    def limited(self) -> bool:
        return self._streak > 0

    def admit(self) -> tuple[float, bool]:
        """Wait until this connection may send. Returns the seconds waited (on the clock)
        and whether this call is the one probe allowed while rate limited; a probe must end
        with `answered` or `abandoned`."""
        waited = 0.0
        while True:
            with self._cond:
                wait = self._until - self.clock.now()
                if wait <= 0:
                    if self._streak == 0:
                        return waited, False
                    if not self._probing:
                        self._probing = True
                        return waited, True
                    self._cond.wait(_PROBE_WAIT)
                    continue
            self.clock.sleep(wait)
            waited += wait

    def answered(self, probe: bool, rate_limited: bool, asked: float | None) -> float:
        """Note an answer; returns the pause a rate-limited one starts (0 otherwise)."""
        with self._cond:
            if probe:
                self._probing = False
            pause = 0.0
            if rate_limited:
                self._streak += 1
                pause = self.pause_for(asked)
            elif asked is not None and asked > 0:
                pause = min(asked, self.retry_after_max)
            else:
                self._streak = 0
            if pause > 0:
                self._until = max(self._until, self.clock.now() + pause)
            self._cond.notify_all()
            return pause

    def abandoned(self, probe: bool) -> None:
        """A probe that got no answer (a network error): let another call try."""
        if probe:
            with self._cond:
                self._probing = False
                self._cond.notify_all()

    def pause_for(self, asked: float | None) -> float:
        """Exactly what the server asked for (capped), else backoff doubling with each 429
        in a row, capped, with ± jitter."""
        if asked is not None and asked > 0:
            return min(asked, self.retry_after_max)
        pause = self.backoff * 2 ** (max(1, self._streak) - 1)
        pause *= 1 + self._rng.uniform(-self.jitter, self.jitter)
        return float(min(pause, self.backoff_max))
