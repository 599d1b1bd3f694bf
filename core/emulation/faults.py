"""`Faults`: what an emulator does wrong on purpose (429s, 5xx, cut bodies, latency, lost
answers), as settings a test, `integrate emulate --set` or a spec's `sandbox.options` give."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
