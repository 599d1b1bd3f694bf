"""T20 (RELIABILITY.md), scaled down: 4 `integrate worker` processes on one PostgreSQL
database, 8 integrations each queued 3 times, the worker running the biggest one SIGKILLed
mid-run. Never two runs of one integration at once (the run history's start and end times),
never two runs waiting for one, the killed run queued again within the stalled timeout + 60 s,
every integration converged. Full size (200 integrations), by hand: bench/workers_t20.py."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.workers.world import (
    Workers,
    integration,
    runs,
    started_workers,
    target_bytes,
    target_titles,
)

pytestmark = pytest.mark.slow

STALLED_AFTER = 2.0  # the tests' workers' --stalled-after
SMALL, BIG = 300, 3000


@pytest.fixture
def workers(workdir: Path, pg_url: str) -> Iterator[Workers]:
    yield from started_workers(workdir, pg_url)


def test_t20_four_workers_one_killed_every_integration_converges_one_run_at_a_time(
    cli: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    names = [f"t20-{i}" for i in range(8)]
    for name in names:
        integration(workdir, name, records=BIG if name == "t20-0" else SMALL)
    started = [workers.start([workdir], f"w{n}") for n in range(4)]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        _until(lambda: _workers_up(conn) == 4, 20)
        said = [cli("enqueue", str(workdir), "--state", pg_url).stdout for _ in range(3)]
        most_waiting, killed, killed_at = 0, None, 0.0
        deadline = time.monotonic() + 60
        while _one(
            conn, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        ):
            most_waiting = max(most_waiting, _one(conn, _MOST_WAITING))
            if killed is None and target_bytes(workdir, "t20-0") > 2000:
                job, pid = conn.execute(_RUNNING_BIG).fetchone() or (None, None)
                if pid is not None:
                    victim = next(w for w in started if w.pid == pid)
                    victim.kill()
                    killed, killed_at = job, time.time()
            assert time.monotonic() < deadline, "the jobs were not done in 60 s"
            time.sleep(0.05)
        requeued = _one(
            conn,
            "SELECT extract(epoch FROM min(at)) FROM procrastinate_events"
            f" WHERE job_id = {int(killed or 0)} AND type IN ('deferred_for_retry', 'aborted')",
        )
    for worker in started:
        if worker.process.poll() is None:
            assert worker.stop() == 0

    assert killed is not None, "t20-0's run ended before its worker could be killed"
    # queued again, or (a run of it was already waiting) settled for the waiting one to go on
    assert 0 < requeued - killed_at <= STALLED_AFTER + 60
    assert most_waiting <= 1
    lines = "".join(said).splitlines()
    assert len(lines) == 3 * len(names)
    assert {line.split(": ")[1].split(" ")[0] for line in lines} == set(names)
    for name in names:
        history = runs(pg_url, name)
        assert history, name
        for before, after in itertools.pairwise(history):
            # the killed run never finished: the next may only start after the kill
            end = before["finished_at"] or _iso(killed_at)
            assert end <= after["started_at"], (name, before, after)
        records = BIG if name == "t20-0" else SMALL
        assert sorted(target_titles(workdir, name)) == [f"Company {i:05d}" for i in range(records)]
    big = runs(pg_url, "t20-0")
    assert big[0]["status"] == "interrupted"
    assert big[-1]["status"] == "succeeded"


_MOST_WAITING = (
    "SELECT max(n) FROM (SELECT count(*) AS n FROM procrastinate_jobs"
    " WHERE status = 'todo' GROUP BY queueing_lock) AS waiting"
)
_RUNNING_BIG = (
    "SELECT j.id, n.pid FROM procrastinate_jobs j JOIN integrate_workers n"
    " ON n.worker_id = j.worker_id WHERE j.status = 'doing' AND j.lock = 't20-0'"
)


def _workers_up(conn: Any) -> float:
    if conn.execute("SELECT to_regclass('integrate_workers')").fetchone() == (None,):
        return 0  # the first worker has not made the tables yet
    return _one(conn, "SELECT count(*) FROM integrate_workers")


def _one(conn: Any, sql: str) -> float:
    row = conn.execute(sql).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


def _until(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout:g}s"
        time.sleep(0.05)


def _iso(moment: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="microseconds")
