"""Scenario X, runs on workers (issue 15): integration runs per minute with 1, 2 and 4
`integrate worker` processes on the same work, 100 files → files integrations (a few hundred
records each, in one or several batches) queued once each by one `integrate enqueue`, timed
until every run has ended; the state and the queue in one PostgreSQL database (a throw-away
cluster on loopback, tests/pgcluster.py). The worker counts take turns round by round, and
each ratio to 1 worker is taken within its round.

Beside the figures, what each run costs and who pays it: the workers' CPU time and
PostgreSQL's (its processes, from /proc) over the timed span, the machine's busy share, the
gap a worker leaves between two runs (taking the next job, loading its spec, opening the
state), and the same runs made one after the other in this process, timed (wall, own CPU,
PostgreSQL's CPU) and profiled by phase (spec loading, PostgreSQL calls, the rest). See
bench/README.md.
"""

from __future__ import annotations

import cProfile
import itertools
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import pgcluster  # noqa: E402
from tests.reliability import fleet  # noqa: E402
from tests.workers.world import WorkerProcess  # noqa: E402

COUNTS = (1, 2, 4)  # workers
STALLED_AFTER = "30"  # the workers' default
DEADLINE = 600.0  # seconds any wait may take
TICK = os.sysconf("SC_CLK_TCK")


# ---- CPU time from /proc ---------------------------------------------------------------------


def cpu_of(pid: int) -> float:
    """A process's CPU time (user + system) so far, in seconds; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_cpu(postmaster: int) -> dict[int, float]:
    """CPU seconds by pid of the postmaster (its own, and that of the processes it started
    and has reaped: each run's connection has a backend that ends with it) and of each
    process it started that is still there (backends, writers)."""
    try:
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError as exc:
        raise SystemExit(f"scenario X: the postmaster {postmaster} is gone") from exc
    found = {postmaster: sum(int(f) for f in fields[11:15]) / TICK}  # utime .. cstime
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            found[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / TICK
    return found


def grown(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two `postgres_cpu` looks (processes born since count whole;
    those reaped since count in the postmaster's)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def machine() -> tuple[int, int]:
    """(busy, total) jiffies of all cores so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def wait(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while not (found := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"scenario X: {what}: not within {DEADLINE:g} s")
        time.sleep(0.05)
    return found


# ---- one timed trial -------------------------------------------------------------------------


def trial(cluster: pgcluster.Cluster, count: int, integrations: int, name: str) -> dict[str, Any]:
    """`count` workers, started and up; `integrations` queued at once; timed until all ran."""
    url = pgcluster.fresh_database(cluster.url, name)
    workers: list[WorkerProcess] = []
    try:
        with tempfile.TemporaryDirectory(prefix="integrate-bench-x-") as folder:
            root = Path(folder)
            items = fleet.integrations(integrations, prefix="x")
            for item in items:
                fleet.lay_out(root, item)
            started = time.monotonic()
            workers = [
                WorkerProcess(
                    root, url, [root / "specs"], f"x{n}", "--stalled-after", STALLED_AFTER
                )
                for n in range(1, count + 1)
            ]
            wait(lambda: len(fleet.alive(url)) == count, "the workers to start")
            up = time.monotonic() - started
            cpu0 = [cpu_of(w.pid) for w in workers]
            pg0, busy0 = postgres_cpu(cluster.pid), machine()
            began = fleet.clock(url)
            fleet.enqueue(root, url)
            wait(lambda: fleet.unfinished_jobs(url) == 0, "every run")
            ended = fleet.clock(url)
            cpu1 = [cpu_of(w.pid) for w in workers]
            pg1, busy1 = postgres_cpu(cluster.pid), machine()
            codes = [w.stop(timeout=60) for w in workers]
            if codes != [0] * count:
                raise SystemExit(f"scenario X: workers exited {codes}")
            runs = fleet.history(url)
            check(root, items, runs)
    finally:
        for worker in workers:
            worker.kill()
        pgcluster.drop_database(cluster.url, name)
    first = min(r["started"] for r in runs)
    last = max(r["finished"] for r in runs)
    wall = (last - began).total_seconds()
    busy = (last - first).total_seconds()
    return {
        "workers": count,
        "runs": len(runs),
        "start_up": up,
        "wall": wall,
        "busy": busy,
        "per_minute": len(runs) / wall * 60,
        "per_minute_busy": len(runs) / busy * 60,
        "span": (ended - began).total_seconds(),
        "workers_cpu": sum(b - a for a, b in zip(cpu0, cpu1, strict=True)),
        "postgres_cpu": grown(pg0, pg1),
        "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        "run_seconds": statistics.median(
            (r["finished"] - r["started"]).total_seconds() for r in runs
        ),
        "gap": gaps(runs),
    }


def check(root: Path, items: list[fleet.Integration], runs: list[dict[str, Any]]) -> None:
    """Every integration ran once, succeeded, and wrote each of its records."""
    if sorted(r["integration"] for r in runs) != sorted(i.name for i in items):
        raise SystemExit("scenario X: not one run per integration")
    if {r["status"] for r in runs} != {"succeeded"}:
        raise SystemExit(f"scenario X: runs ended {sorted({r['status'] for r in runs})}")
    short = [i.name for i in items if fleet.written(root, i.name) != i.records]
    if short:
        raise SystemExit(f"scenario X: targets not complete: {short[:5]}")


def gaps(runs: list[dict[str, Any]]) -> float:
    """The median time a worker leaves between the end of a run and the start of its next."""
    by_worker: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_worker.setdefault(run["worker"], []).append(run)
    found = []
    for its in by_worker.values():
        its.sort(key=lambda r: r["started"])
        found += [
            (after["started"] - before["finished"]).total_seconds()
            for before, after in itertools.pairwise(its)
        ]
    return statistics.median(found) if found else 0.0


# ---- the same runs in this process -----------------------------------------------------------


def in_process(cluster: pgcluster.Cluster, integrations: int, profile: bool) -> dict[str, Any]:
    """`integrations` runs made one after the other here, as a worker makes them (the spec
    loaded, then run on the PostgreSQL state): wall, own CPU and PostgreSQL's CPU per run;
    with `profile`, the shares of spec loading and PostgreSQL calls in a cProfile of them."""
    from integrate.build import load_spec
    from integrate.engine import RunOptions, run_spec
    from integrate.plugins import make_plugins

    name = f"bench_x_inproc_{int(profile)}"
    url = pgcluster.fresh_database(cluster.url, name)
    try:
        with tempfile.TemporaryDirectory(prefix="integrate-bench-x-") as folder:
            root = Path(folder)
            specs = [fleet.lay_out(root, i) for i in fleet.integrations(integrations, prefix="x")]
            plugins = make_plugins()
            profiler = cProfile.Profile() if profile else None
            pg0, cpu0, wall0 = postgres_cpu(cluster.pid), time.process_time(), time.perf_counter()
            for spec in specs:
                options = RunOptions(
                    trigger="enqueue", state_url=url, failures_path=root / "failed.jsonl"
                )
                if profiler is not None:
                    profiler.enable()
                run_spec(load_spec(spec, plugins, strict_env=True), plugins, options)
                if profiler is not None:
                    profiler.disable()
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            pg = grown(pg0, postgres_cpu(cluster.pid))
    finally:
        pgcluster.drop_database(cluster.url, name)
    found = {
        "runs": integrations,
        "wall": wall / integrations,
        "cpu": cpu / integrations,
        "postgres_cpu": pg / integrations,
    }
    if profiler is not None:
        found["phases"] = phases(pstats.Stats(profiler))
    return found


def phases(stats: pstats.Stats) -> dict[str, float]:
    """Shares of the profiled time: loading specs, PostgreSQL calls (psycopg, waiting for the
    server included), the rest of the runs (engine, files, JSON, state logic)."""
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(own for _cc, _nc, own, _cum, _callers in table.values())

    def cumulative(test: Callable[[str, str], bool], outside: str = "") -> float:
        spent = 0.0
        for (path, _line, func), (_cc, _nc, _own, cum, callers) in table.items():
            if not test(path, func):
                continue
            if not outside:
                spent += cum
                continue
            # only the calls from outside the package (its calls to itself are inside them)
            for (caller, _l, _f), (_c, _n, _t, ct) in callers.items():
                if outside not in caller:
                    spent += ct
        return spent

    spec = cumulative(lambda path, func: func == "load_spec" and "build" in path)
    pg = cumulative(lambda path, _f: "/psycopg/" in path, outside="/psycopg/")
    calls = {
        func: nc
        for (path, _line, func), (_cc, nc, _own, _cum, _callers) in table.items()
        if path.endswith("statedb.py") and func in ("execute", "executemany")
    }
    return {
        "seconds": total,
        "execute": calls.get("execute", 0),
        "executemany": calls.get("executemany", 0),
        "spec_loading": spec / total,
        "postgresql_calls": pg / total,
        "rest": max(0.0, 1 - (spec + pg) / total),
    }


def connection_cost(cluster: pgcluster.Cluster, times: int = 50) -> dict[str, float]:
    """What connecting costs, each done `times` times here: a bare connection opened and
    closed, and a run's state opened and closed (its connections, the schema's version, the
    integration's advisory lock): wall, this process's CPU and PostgreSQL's, in seconds."""
    import psycopg

    from integrate.state import StateStore

    name = "bench_x_connect"
    url = pgcluster.fresh_database(cluster.url, name)

    def state() -> None:
        StateStore(url, "bench-x").close()

    found: dict[str, float] = {}
    try:
        state()  # the tables made once, as the first run makes them
        for what, action in (("connect", lambda: psycopg.connect(url).close()), ("state", state)):
            pg0, cpu0, wall0 = postgres_cpu(cluster.pid), time.process_time(), time.perf_counter()
            for _ in range(times):
                action()
            found[f"{what}_wall"] = (time.perf_counter() - wall0) / times
            found[f"{what}_cpu"] = (time.process_time() - cpu0) / times
            found[f"{what}_postgres_cpu"] = grown(pg0, postgres_cpu(cluster.pid)) / times
    finally:
        pgcluster.drop_database(cluster.url, name)
    return found


# ---- the scenario ----------------------------------------------------------------------------


def scenario_x(runs: int, integrations: int = 100) -> dict[str, Any]:
    # a cluster of its own, whatever INTEGRATE_TEST_PG says: its processes' CPU is measured
    cluster = pgcluster.start()
    try:
        rounds = []
        for n in range(runs):
            order = COUNTS[n % len(COUNTS) :] + COUNTS[: n % len(COUNTS)]
            done = {c: trial(cluster, c, integrations, f"bench_x_{n}_{c}") for c in order}
            rounds.append([done[c] for c in COUNTS])
            print(
                "scenario X round",
                n + 1,
                {c: round(done[c]["per_minute"]) for c in COUNTS},
                file=sys.stderr,
            )
        sequential = in_process(cluster, integrations, profile=False)
        profiled = in_process(cluster, integrations, profile=True)
        connecting = connection_cost(cluster)
    finally:
        pgcluster.stop(cluster)
    return {
        "integrations": integrations,
        "cores": os.cpu_count(),
        "rounds": rounds,
        "in_process": sequential,
        "phases": profiled["phases"],
        "connecting": connecting,
    }
