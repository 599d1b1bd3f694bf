"""`TokenBucket`: a vendor's documented rate limit (so many calls a minute), refilled
continuously on the emulator's clock; beside `Faults`, which refuse calls at random."""

from __future__ import annotations


class TokenBucket:
    """A token bucket of `per_minute` calls, refilled continuously on a clock."""

    def __init__(self, per_minute: float, now: float):
        self.capacity = float(per_minute)
        self.tokens = self.capacity
        self.at = now

    def take(self, now: float) -> bool:
        """Take one call's token; False when the bucket is empty."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.capacity / 60)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
