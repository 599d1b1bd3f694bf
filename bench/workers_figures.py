"""Scenario X's report (bench/workers.py measures): the runs per minute with 1, 2 and 4
workers and their ratios, who pays for a run, and what bounds the figures."""

from __future__ import annotations

import statistics
from typing import Any


def x_report(x: dict[str, Any], median_range: Any) -> list[str]:
    counts = [trial["workers"] for trial in x["rounds"][0]]
    rows = []
    for i, count in enumerate(counts):
        trials = [r[i] for r in x["rounds"]]
        ratios = [r[i]["per_minute"] / r[0]["per_minute"] for r in x["rounds"]]
        rows.append(
            f"| {count} | {median_range([t['per_minute'] for t in trials], '{:.0f}')} | "
            f"{median_range(ratios, '{:.2f}')} | {median_range([t['wall'] for t in trials], '{:.1f}')} | "
            f"{median_range([t['per_minute_busy'] for t in trials], '{:.0f}')} | "
            f"{median_range([t['run_seconds'] * 1000 for t in trials], '{:.0f}')} | "
            f"{median_range([t['gap'] * 1000 for t in trials], '{:.0f}')} | "
            f"{median_range([t['start_up'] for t in trials], '{:.1f}')} |"
        )
    cpu_rows = []
    for i, count in enumerate(counts):
        trials = [r[i] for r in x["rounds"]]
        n = trials[0]["runs"]
        cpu_rows.append(
            f"| {count} | {median_range([t['workers_cpu'] / n * 1000 for t in trials], '{:.0f}')} | "
            f"{median_range([t['postgres_cpu'] / n * 1000 for t in trials], '{:.0f}')} | "
            f"{median_range([t['machine_busy'] * 100 for t in trials], '{:.0f}')} |"
        )
    one, ph, conn = x["in_process"], x["phases"], x["connecting"]
    cores = x["cores"]

    def median_of(i: int, key: str) -> float:
        return statistics.median(r[i][key] for r in x["rounds"])

    n = x["rounds"][0][0]["runs"]
    worker_ms = median_of(0, "workers_cpu") / n * 1000
    pg_ms = median_of(0, "postgres_cpu") / n * 1000
    ceiling = cores * 60_000 / (worker_ms + pg_ms)
    best = max(range(len(counts)), key=lambda i: median_of(i, "per_minute"))
    last = len(counts) - 1
    ratio = {
        c: statistics.median(r[i]["per_minute"] / r[0]["per_minute"] for r in x["rounds"])
        for i, c in enumerate(counts)
    }
    ms = {k: v * 1000 for k, v in conn.items()}
    statements = f"{ph['execute'] / one['runs']:.0f} statements"
    if ph["executemany"]:
        statements += f" and {ph['executemany'] / one['runs']:.0f} batches of them"
    return [
        "## X: runs on workers (issue 15)",
        "",
        f"{x['integrations']} files → files integrations (150, 300 or 450 records, in batches "
        "of 1,000, 100 or 50), queued once each by one `integrate enqueue`, run by 1, 2 and 4 "
        "`integrate worker` processes (concurrency 1 each, the default 30 s stalled timeout) "
        "that were started and up before it; the state and the queue in one PostgreSQL 15 "
        "database of a throw-away cluster on loopback (fsync off). The counts take turns "
        f"round by round ({len(x['rounds'])} rounds); each ratio is taken within its round. "
        "Runs per minute: the runs ÷ the time from the `enqueue` command's start to the last "
        "run's end; busy: from the first run's start instead.",
        "",
        "| workers | runs per minute | ratio to 1 worker | wall (s) | runs per minute, busy | "
        "a run (ms) | gap between a worker's runs (ms) | start-up (s) |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Who pays for a run, over the timed span (CPU per run; PostgreSQL's is its processes', "
        f"those ended included; the machine's busy share of its {cores} cores counts every "
        "process on it, other work on a shared machine too):",
        "",
        "| workers | workers' CPU per run (ms) | PostgreSQL's CPU per run (ms) | machine busy (%) |",
        "|---|---|---|---|",
        *cpu_rows,
        "",
        f"The same {one['runs']} runs one after the other in one process (the spec loaded, then "
        f"run on the PostgreSQL state): {one['wall'] * 1000:.0f} ms a run, {one['cpu'] * 1000:.0f}"
        f" ms of its own CPU and {one['postgres_cpu'] * 1000:.0f} ms of PostgreSQL's. Profiled "
        f"(cProfile slows Python code, not the waits): spec loading {ph['spec_loading']:.0%}, "
        f"PostgreSQL calls (psycopg, the waits for the server included; {statements} a run) "
        f"{ph['postgresql_calls']:.0%}, the rest of the run (engine, "
        f"files, JSON, state logic) {ph['rest']:.0%}. Connecting, measured on its own: a "
        f"connection opened and closed costs {ms['connect_postgres_cpu']:.1f} ms of "
        f"PostgreSQL's CPU and {ms['connect_cpu']:.1f} ms of the client's (a backend started, "
        f"the password checked by SCRAM); a run's state opened and closed (its connections, "
        f"the schema's version, the integration's advisory lock) "
        f"{ms['state_postgres_cpu']:.1f} ms and {ms['state_cpu']:.1f} ms.",
        "",
        f"**What bounds it: CPU, {pg_ms / (worker_ms + pg_ms):.0%} of it PostgreSQL's.** With "
        "one worker a run costs "
        f"{worker_ms:.0f} ms of the worker's CPU and {pg_ms:.0f} ms of PostgreSQL's, so "
        f"{cores} cores allow at most about {ceiling:.0f} runs a minute however many workers "
        f"share them; the most measured is {median_of(best, 'per_minute'):.0f} "
        f"({counts[best]} workers, the machine {median_of(best, 'machine_busy'):.0%} busy), "
        f"and with {counts[-1]} workers a run costs more, "
        f"{median_of(last, 'workers_cpu') / n * 1000:.0f} ms and "
        f"{median_of(last, 'postgres_cpu') / n * 1000:.0f} ms (they contend for the cores). "
        f"One worker keeps the machine {median_of(0, 'machine_busy'):.0%} busy: the worker and "
        "its PostgreSQL backend wait for each other's answers, one statement at a time, so a "
        f"core idles; a second worker fills it ({ratio[counts[1]]:.2f} times the runs); past "
        f"the cores, more workers only take turns on them ({ratio[counts[-1]]:.2f} times with "
        f"{counts[-1]}), and a run takes longer as they do. Of PostgreSQL's share, opening the "
        f"state is {ms['state_postgres_cpu'] / pg_ms:.0%}: each run opens it afresh (a new "
        "connection, so a new backend that must also read the catalog of each table it "
        "touches, and a second connection when something commits beside its batches); a "
        "worker that kept its state connections between runs would save that much at least. "
        "The rest is the run's own statements (its links, cursor and history). Each job "
        "also loads its spec again (so that an edited spec counts at its next run) and is "
        "taken from the queue: the gap between two runs of a worker (ending one, taking the "
        "next job, loading its spec, opening the state) is in the table. The queue's polling "
        "interval and NOTIFY play no part while jobs wait: a worker asks for its next job as "
        "soon as one ends; they only wake idle workers. Start-up (importing the plugins, "
        "loading every spec of the worker's folder) is paid once per worker. On more cores, "
        "or with PostgreSQL on a machine of its own, the same workers go further.",
        "",
    ]
