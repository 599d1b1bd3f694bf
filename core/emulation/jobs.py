"""`Jobs`: a vendor's asynchronous jobs (exports, bulk writes) and the files they make, for an
emulator whose API answers such a call with a job id to poll and, once done, a URL to fetch."""

from __future__ import annotations

import random
from typing import Any


class Jobs:
    """Jobs by id and their files by token. `start` gives a job's id, which its client polls
    with; `finish` gives it a result (what the vendor's status call shows); `keep` keeps a
    file's content under a token of its own, which the vendor's download URL names. Ids and
    tokens are 128-bit hex, the same for the same seed. An emulator may finish a job at once,
    so that its first poll finds it done."""

    def __init__(self, seed: int | str = 0):
        self._rng = random.Random(seed)
        self._results: dict[str, Any] = {}
        self._files: dict[str, Any] = {}

    def _token(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def start(self) -> str:
        """A new job's id; the job runs until `finish`."""
        job = self._token()
        self._results[job] = None
        return job

    def finish(self, job: str, result: Any) -> None:
        """The job is done, with `result`."""
        self._results[job] = result

    def __contains__(self, job: object) -> bool:
        """Whether `job` was started (finished or not)."""
        return job in self._results

    def result(self, job: str) -> Any:
        """A finished job's result; None for a job still running or never started."""
        return self._results.get(job)

    def keep(self, content: Any) -> str:
        """Keep a file's content; the token that names it."""
        token = self._token()
        self._files[token] = content
        return token

    def file(self, token: str) -> Any:
        """The content kept under `token`, or None."""
        return self._files.get(token)
