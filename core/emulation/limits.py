"""`TokenBucket`: a vendor's documented rate limit (so many calls a minute, or a second),
refilled continuously on the emulator's clock; beside `Faults`, which refuse calls at random."""

from __future__ import annotations


class TokenBucket:
    """A token bucket of `per_minute` calls, refilled continuously on a clock. A limit stated
    per another period is `TokenBucket.every(calls, seconds, now)`: 20 a second holds at most
    20 calls at once, not the 1,200 of a minute."""

    def __init__(self, per_minute: float, now: float):
        self.capacity = float(per_minute)
        self.period = 60.0  # seconds in which a full bucket is refilled
        self.tokens = self.capacity
        self.at = now

    @classmethod
    def every(cls, calls: float, seconds: float, now: float) -> TokenBucket:
        """A bucket of `calls` tokens, refilled at `calls` per `seconds`."""
        bucket = cls(calls, now)
        bucket.period = float(seconds)
        return bucket

    def take(self, now: float) -> bool:
        """Take one call's token; False when the bucket is empty."""
        refill = (now - self.at) * self.capacity / self.period
        self.tokens = min(self.capacity, self.tokens + refill)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
