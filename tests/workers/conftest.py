"""The worker tests' processes: `integrate worker`s started in the test's folder on its fresh
PostgreSQL database (tests/conftest.py's `pg_url`), each killed by its pid at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workers.world import Workers


@pytest.fixture
def workers(workdir: Path, pg_url: str) -> Iterator[Workers]:
    """Worker processes started in the test's folder on its database (killed at the end)."""
    workers = Workers(workdir, pg_url)
    try:
        yield workers
    finally:
        workers.close()
