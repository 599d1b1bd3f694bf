"""T20 (RELIABILITY.md) at full size, by hand: N `integrate worker` processes on one
PostgreSQL database, M files → files integrations each queued 3 times, one worker SIGKILLed
mid-run. Checks: never two runs of one integration at once (the run history's intervals),
never two runs waiting for one (sampled), the killed run queued again within the stalled
timeout + 60 s, every integration converged; and reports runs per minute.

    .venv/bin/python bench/workers_t20.py --state postgresql://user:pw@127.0.0.1:5432/db
        [--integrations 200] [--workers 4] [--records 300] [--stalled-after 10] [--no-kill]

The database should be empty (a fresh one): the script reads every job and run in it."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.workers.world import integration, target_titles  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", default=os.environ.get("INTEGRATE_STATE"))
    parser.add_argument("--integrations", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--stalled-after", type=float, default=10.0)
    parser.add_argument("--no-kill", action="store_true")
    args = parser.parse_args()
    if not args.state:
        parser.error("--state postgresql://... (or INTEGRATE_STATE) is needed")
    url: str = args.state
    root = Path(tempfile.mkdtemp(prefix="bench-t20-"))
    names = [f"t20-{i:03d}" for i in range(args.integrations)]
    for name in names:
        integration(root, name, records=args.records)
    env = {**os.environ, "INTEGRATE_STATE": url, "INTEGRATE_HOME": str(root / ".integrate")}
    workers = [_start(root, env, f"w{n}", args.stalled_after) for n in range(args.workers)]
    try:
        _wait(lambda: _count(url, "SELECT count(*) FROM integrate_workers") == args.workers, 60)
        started = time.time()
        said = [_enqueue(root, env) for _ in range(3)]
        killed = _watch(url, workers, args, started)
        ended = time.time()
    finally:
        for process, _log in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _log in workers:
            process.wait(timeout=60)
    report = _check(url, root, names, args.records, said, killed, started, ended)
    report["stalled_after"] = args.stalled_after
    print(json.dumps(report, indent=2, default=str))


def _start(root: Path, env: dict[str, str], name: str, stalled: float) -> tuple[Any, Path]:
    log = root / f"{name}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            *("integrate", "worker", str(root), "--name", name, "--stalled-after", str(stalled)),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    return process, log


def _enqueue(root: Path, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "integrate", "enqueue", str(root)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('integrate_workers')").fetchone() == (None,):
            return 0  # no worker has made the tables yet
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _wait(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout:g}s")
        time.sleep(0.2)


def _watch(url: str, workers: list[Any], args: Any, started: float) -> dict[str, Any]:
    """Until every job is done: sample the waiting runs per integration; kill one worker
    mid-run once a fifth of the integrations have run."""
    killed: dict[str, Any] = {}
    most_waiting = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            most_waiting = max(
                most_waiting,
                _one(
                    conn,
                    "SELECT max(n) FROM (SELECT count(*) AS n FROM procrastinate_jobs"
                    " WHERE status = 'todo' GROUP BY queueing_lock) AS waiting",
                ),
            )
            left = _one(
                conn, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
            )
            if not left:
                break
            done = _one(conn, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'")
            if not args.no_kill and not killed and done >= args.integrations // 5:
                row = conn.execute(
                    "SELECT j.id, n.pid, n.name FROM procrastinate_jobs j JOIN integrate_workers n"
                    " ON n.worker_id = j.worker_id WHERE j.status = 'doing' LIMIT 1"
                ).fetchone()
                if row is not None:
                    os.kill(row[1], signal.SIGKILL)
                    killed = {"job": row[0], "worker": row[2], "at": time.time()}
            if time.time() - started > 1800:
                raise SystemExit("not done after 30 minutes")
            time.sleep(0.1)
    killed["most_waiting_per_integration"] = most_waiting
    return killed


def _one(conn: Any, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _check(
    url: str,
    root: Path,
    names: list[str],
    records: int,
    said: list[list[str]],
    killed: dict[str, Any],
    started: float,
    ended: float,
) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        history = conn.execute(
            "SELECT integration, number, status, started_at, finished_at FROM runs"
            " WHERE dry_run = 0 ORDER BY integration, number"
        ).fetchall()
        requeued = None
        if killed.get("job"):
            row = conn.execute(
                "SELECT extract(epoch FROM min(at)) FROM procrastinate_events"
                " WHERE job_id = %s AND type IN ('deferred_for_retry', 'aborted')",
                (killed["job"],),
            ).fetchone()
            requeued = float(row[0]) - killed["at"] if row and row[0] is not None else None
        statuses = dict(
            conn.execute(
                "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"
            ).fetchall()
        )
    overlaps = []
    by_name: dict[str, list[Any]] = {}
    for row in history:
        by_name.setdefault(row[0], []).append(row)
    kill_iso = (
        dt.datetime.fromtimestamp(killed["at"], dt.UTC).isoformat() if killed.get("at") else ""
    )
    for rows in by_name.values():
        for before, after in itertools.pairwise(rows):
            end = before[4] or kill_iso  # the killed run never finished
            if not end or end > after[3]:
                overlaps.append((before, after))
    expected = [f"Company {i:05d}" for i in range(records)]
    unconverged = [n for n in names if sorted(target_titles(root, n)) != expected]
    queued = sum(1 for lines in said for line in lines if line.startswith("queued:"))
    return {
        "integrations": len(names),
        "records_each": records,
        "enqueue_lines": {"queued": queued, "already queued": sum(map(len, said)) - queued},
        "jobs": statuses,
        "runs": len(history),
        "runs_by_status": {
            s: sum(1 for r in history if r[2] == s) for s in {r[2] for r in history}
        },
        "seconds": round(ended - started, 1),
        "runs_per_minute": round(len(history) / (ended - started) * 60, 1),
        "overlapping_runs": overlaps,
        "most_waiting_per_integration": killed.get("most_waiting_per_integration"),
        "killed": {k: v for k, v in killed.items() if k != "most_waiting_per_integration"},
        "killed_run_queued_again_after_s": None if requeued is None else round(requeued, 1),
        "unconverged": unconverged,
        "folder": str(root),
    }


if __name__ == "__main__":
    main()
