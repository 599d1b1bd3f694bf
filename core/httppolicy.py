"""How hard one connection's HTTP layer tries (RetryPolicy: plugins choose defaults, a spec's
`limits` tune them) and what it spent (CallStats: the run summary's "API calls")."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from integrate.httpbody import DEFAULT_MAX_RESPONSE_BYTES


@dataclass
class RetryPolicy:
    """How hard the client tries. Plugins choose defaults; specs may tune them."""

    max_attempts: int = 6  # the first try included
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    backoff_max: float = 60.0
    retry_after_max: float = 300.0  # a longer Retry-After is capped here
    jitter: float = 0.2  # ± this fraction of each backoff
    timeout: float = 30.0  # the deadline of one attempt: connect, headers and whole body
    connect_timeout: float = 10.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES  # decoded bytes of one answer
    rate_limit_patience: float = 600.0  # seconds one call may wait out rate limits


@dataclass
class CallStats:
    """Calls made through one connection during a run."""

    reads: int = 0
    writes: int = 0
    auth: int = 0
    retries: int = 0
    failures: int = 0
    waited: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reads": self.reads,
            "writes": self.writes,
            "auth": self.auth,
            "retries": self.retries,
            "failures": self.failures,
            "seconds_waited": round(self.waited, 3),
            "kinds": dict(sorted(self.kinds.items())),
        }
