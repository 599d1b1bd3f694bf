"""`integrate workers`: the workers (alive or stalled, by their heartbeats) and the runs
running, queued and stalled, read from Procrastinate's tables as the database sees them now."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from integrate.errors import StateError
from integrate.statedb import first_line
from integrate.workers.database import Database, connect, has_tables
from integrate.workers.jobs import TASK

# A worker that never said its stalled timeout (it has not registered its name yet)
# is judged by Procrastinate's default.
DEFAULT_STALLED_AFTER = 30.0

# The state's run history (same database): the latest run of each integration listed.
_LAST_RUNS = """
SELECT DISTINCT ON (integration) integration, number, status, started_at, finished_at, worker
  FROM runs WHERE integration = ANY(%(names)s) AND dry_run = 0
 ORDER BY integration, number DESC
"""
_WORKERS = """
SELECT w.id, n.name, n.host, n.pid, n.integrations, n.stalled_after, n.started_at,
       w.last_heartbeat, extract(epoch FROM now() - w.last_heartbeat)
  FROM procrastinate_workers w LEFT JOIN integrate_workers n ON n.worker_id = w.id
 ORDER BY w.id
"""
_JOBS = """
SELECT j.id, j.status, j.args, j.worker_id, j.attempts, j.scheduled_at,
       (SELECT max(at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'started'),
       (SELECT max(at) FROM procrastinate_events e WHERE e.job_id = j.id
         AND e.type IN ('deferred', 'deferred_for_retry'))
  FROM procrastinate_jobs j
 WHERE j.task_name = %(task)s AND j.status IN ('todo', 'doing')
 ORDER BY j.id
"""


@dataclass(frozen=True)
class WorkerInfo:
    """One worker Procrastinate knows of."""

    id: int
    name: str  # "" until the worker has written it
    host: str
    pid: int | None
    integrations: int | None
    stalled_after: float
    started_at: dt.datetime | None
    last_heartbeat: dt.datetime
    heartbeat_age: float  # seconds
    alive: bool


@dataclass(frozen=True)
class JobInfo:
    """One run waiting or going: `running` (its worker alive), `stalled` (its worker sent no
    heartbeat for its stalled timeout: other workers queue it again), or `queued`."""

    id: int
    state: str
    integration: str
    trigger: str
    flows: list[str]
    attempts: int
    since: dt.datetime | None  # started (running, stalled) or queued (queued)
    worker_id: int | None = None
    worker: str = ""
    not_before: dt.datetime | None = None  # a queued run's earliest start, when set
    # the integration's latest run in the state's history (number, status, started_at,
    # finished_at, worker), when the state has one
    last_run: dict[str, Any] | None = None


@dataclass(frozen=True)
class Overview:
    workers: list[WorkerInfo] = field(default_factory=list)
    jobs: list[JobInfo] = field(default_factory=list)

    def of_state(self, state: str) -> list[JobInfo]:
        return [j for j in self.jobs if j.state == state]

    def as_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, dt.datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return {
            "workers": [plain(asdict(w)) for w in self.workers],
            **{
                state: [plain(asdict(j)) for j in self.of_state(state)]
                for state in ("running", "queued", "stalled")
            },
        }


def overview(db: Database) -> Overview:
    """Workers and runs as the database sees them now (an empty overview for a database no
    worker has used yet)."""
    with connect(db, autocommit=True) as conn:
        try:
            if not has_tables(conn):
                return Overview()
            workers = [_worker(row) for row in conn.execute(_WORKERS).fetchall()]
            rows = conn.execute(_JOBS, {"task": TASK}).fetchall()
            names = sorted({str((row[2] or {}).get("integration", "")) for row in rows})
            last: dict[str, dict[str, Any]] = {}
            (history,) = conn.execute("SELECT to_regclass('runs')").fetchone() or (None,)
            if history is not None and names:
                for name, *run in conn.execute(_LAST_RUNS, {"names": names}).fetchall():
                    keys = ("number", "status", "started_at", "finished_at", "worker")
                    last[name] = dict(zip(keys, run, strict=True))
        except psycopg.Error as exc:
            raise StateError(f"cannot read the workers' tables in {db}: {first_line(exc)}") from exc
    by_id = {w.id: w for w in workers}
    return Overview(workers, [_job(row, by_id, last) for row in rows])


def _worker(row: tuple[Any, ...]) -> WorkerInfo:
    wid, name, host, pid, count, stalled_after, started, heartbeat, age = row
    limit = float(stalled_after) if stalled_after is not None else DEFAULT_STALLED_AFTER
    return WorkerInfo(
        id=wid,
        name=name or "",
        host=host or "",
        pid=pid,
        integrations=count,
        stalled_after=limit,
        started_at=started,
        last_heartbeat=heartbeat,
        heartbeat_age=round(float(age), 3),
        alive=float(age) <= limit,
    )


def _job(
    row: tuple[Any, ...], workers: dict[int, WorkerInfo], last: dict[str, dict[str, Any]]
) -> JobInfo:
    jid, status, args, worker_id, attempts, scheduled, started, queued = row
    args = args or {}
    integration = str(args.get("integration", ""))
    common = {
        "id": jid,
        "integration": integration,
        "last_run": last.get(integration),
        "trigger": str(args.get("trigger", "")),
        "flows": list(args.get("flows") or []),
        "attempts": attempts,
    }
    if status == "todo":
        return JobInfo(state="queued", since=queued, not_before=scheduled, **common)
    worker = workers.get(worker_id) if worker_id is not None else None
    state = "running" if worker is not None and worker.alive else "stalled"
    name = worker.name if worker is not None else ""
    return JobInfo(state=state, since=started, worker_id=worker_id, worker=name, **common)
