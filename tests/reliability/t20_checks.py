"""What T20 (test_t20_workers.py) does to a worker and checks once every job is done: the run
to kill (`hunt`), the queue and what `integrate enqueue` said, the run history, the killed
run's resumption, and every target against an uninterrupted run's."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.reliability import fleet
from tests.reliability.fleet import Integration, Round, Watch
from tests.workers.world import WorkerProcess


@dataclass(frozen=True)
class Kill:
    worker: WorkerProcess
    integration: Integration
    number: int  # its run killed
    job: int
    holder: tuple[str, int | None]  # the job's status and worker when it was killed
    written: int  # records in its target when it was killed
    at: dt.datetime  # the database's clock just after the kill
    monotonic: float


def hunt(
    root: Path, url: str, workers: dict[str, WorkerProcess], long: dict[str, Integration]
) -> Kill | None:
    """If a long integration's run is going on one of the workers, past a tenth of its records
    and short of half: SIGKILL that worker (by its pid), and say what was killed."""
    for name, number, worker in fleet.running(url):
        item = long.get(name)
        if item is None or worker not in workers:
            continue
        written = fleet.written(root, name)
        if not item.records // 10 < written < item.records // 2:
            continue
        taken = fleet.query(
            url,
            "SELECT id, worker_id FROM procrastinate_jobs"
            " WHERE args->>'integration' = %s AND status = 'doing'",
            (name,),
        )
        if len(taken) != 1:  # it has just ended
            continue
        [(job, holder)] = taken
        workers[worker].kill()
        at = fleet.clock(url)
        return Kill(
            workers[worker], item, number, job, ("doing", holder), written, at, time.monotonic()
        )
    return None


def job_holder(url: str, job: int) -> tuple[str, int | None]:
    """A job's status and the worker that holds it (Procrastinate's number for it): a job
    queued again and taken by another worker at once is `doing` again, under another."""
    [(status, worker)] = fleet.query(
        url, "SELECT status::text, worker_id FROM procrastinate_jobs WHERE id = %s", (job,)
    )
    return str(status), worker


def check_queue(url: str, items: list[Integration], rounds: list[Round], watch: Watch) -> int:
    """At most one run waiting per integration; returns how many `already queued` lines."""
    names = [item.name for item in items]
    said = [round_.said() for round_ in rounds]
    assert [sorted(lines) for lines in said] == [sorted(names)] * len(rounds)  # each once a round
    # round 1 found an empty queue; round 2, before the workers started, found each run waiting
    assert [said[0][n] for n in names if not said[0][n].startswith("queued: ")] == []
    assert [said[1][n] for n in names if said[1][n] != f"already queued: {n}"] == []
    jobs: dict[str, set[int]] = defaultdict(set)
    for lock, job in fleet.query(
        url,
        "SELECT args->>'integration', id FROM procrastinate_jobs WHERE task_name = 'integrate.run'",
    ):
        jobs[lock].add(job)
    for name in names:  # an integration's jobs are its `queued` lines, and only those
        its = [by_name[name] for by_name in said]
        made = {int(line.split("(job ")[1].rstrip(")")) for line in its if "(job " in line}
        assert made == jobs[name], (name, its)
    every = fleet.spans(url)
    for name, listed in every.items():  # by the event log: never two waiting, two taken
        for status in ("todo", "doing"):
            alike = [span for span in listed if span.status == status]
            for one, other in itertools.pairwise(alike):
                assert one.until is not None, f"{name}: jobs {one.job} and {other.job} {status}"
                assert one.until < other.since, f"{name}: jobs {one.job}, {other.job} {status}"
    refused = 0
    for round_, by_name in zip(rounds, said, strict=True):
        for name, line in by_name.items():
            if line.startswith("already queued: "):
                refused += 1
                assert any(
                    span.status == "todo" and span.meets(round_.began, round_.ended)
                    for span in every[name]
                ), (
                    f"a round said {line!r} between events {round_.began} and {round_.ended},"
                    f" but no run of it was waiting then: {every[name]}"
                )
    assert watch.seen == [], watch.seen[:10]
    assert watch.samples > 20
    return refused


def check_history(
    url: str, items: list[Integration], killed: Kill, workers: set[str]
) -> list[dict[str, Any]]:
    """Never two runs of one integration at once; all succeeded but the killed one, each on
    one of `workers`. Returns the run history."""
    runs = fleet.history(url)
    assert len(runs) == fleet.started_jobs(url)  # one run per job taken: none refused or lost
    of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        of[run["integration"]].append(run)
    assert sorted(of) == sorted(item.name for item in items)  # every integration ran
    for name, its in of.items():
        its.sort(key=lambda r: r["started"])
        assert [r["number"] for r in its] == list(range(1, len(its) + 1)), name
        for before, after in itertools.pairwise(its):
            # a run killed has no end of its own: it ended with its process, checked below
            end = before["finished"] or after["started"]
            assert end <= after["started"], f"{name}: runs {before} and {after} overlap"
    [lost] = [r for r in of[killed.integration.name] if r["number"] == killed.number]
    assert (lost["status"], lost["worker"], lost["finished"]) == (
        "interrupted",
        killed.worker.name,
        None,
    )
    assert "its process ended before the run did" in lost["message"]
    assert Counter(r["status"] for r in runs if r is not lost) == {"succeeded": len(runs) - 1}
    assert {r["worker"] for r in runs} <= workers
    assert not [r for r in runs if r["worker"] == killed.worker.name and r["started"] > killed.at]
    return runs


def check_resumed(
    url: str, killed: Kill, next_run: dict[str, Any], requeued: float, stalled_after: float
) -> str:
    """The killed run's job settled by the stalled-job recovery (`requeued` seconds after the
    kill) within the stalled timeout + 60 s (RELIABILITY T20), and its integration carried on
    by another worker from the committed state; says how its job was settled."""
    bound = stalled_after + 60
    # not before the killed worker's last heartbeat had aged past the timeout, nor long after
    assert stalled_after * 2 / 3 - 0.1 <= requeued <= bound, requeued
    assert next_run["worker"] != killed.worker.name
    assert next_run["started"] > killed.at  # the killed run had ended with its process
    waited = (next_run["started"] - killed.at).total_seconds()
    assert waited <= bound, f"the killed run's integration ran again {waited:.1f}s after the kill"
    settled = fleet.query(
        url,
        "SELECT type::text FROM procrastinate_events WHERE job_id = %s"
        " AND type IN ('deferred_for_retry', 'aborted') ORDER BY id",
        (killed.job,),
    )
    # queued again, or (a run of it queued behind) ended for that one to carry on
    assert settled in ([("deferred_for_retry",)], [("aborted",)]), settled
    totals = next_run["stats"]["flows"][0]["totals"]
    assert totals["created"] <= killed.integration.records - killed.written, totals
    what = "queued again" if settled[0][0] == "deferred_for_retry" else "aborted for the one behind"
    return f"job {killed.job} {what} {requeued:.1f}s after the kill"


def check_converged(root: Path, items: list[Integration]) -> None:
    """Each target holds what one uninterrupted run of its spec writes, no record twice."""
    expected: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for item in items:
        if item.shape not in expected:
            expected[item.shape] = fleet.reference(root / "reference" / item.kind, item)
    diverged = []
    for item in items:
        got = fleet.target(root, item.name)
        key = "name" if item.kind == "zoho" else "title"
        twice = [k for k, n in Counter(r[key] for r in got).items() if n > 1]
        assert twice == [], f"{item.name}: {len(twice)} records twice"
        if sorted(got, key=lambda r: r["id"]) != sorted(
            expected[item.shape], key=lambda r: r["id"]
        ):
            diverged.append(item.name)
    assert diverged == []
    assert [len(expected[item.shape]) for item in items] == [item.records for item in items]
