"""`integrate worker` processes on a real PostgreSQL (issue 15, T20 scaled down): queued runs
are run and recorded, one run per integration at a time across workers, a worker killed
mid-run has its run resumed by another, SIGTERM stops at a safe point, schedules queue runs."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.workers.world import (
    Workers,
    integration,
    jobs,
    password,
    runs,
    target_bytes,
    target_titles,
    wait_until,
)

pytestmark = pytest.mark.slow


def _done(url: str) -> bool:
    found = jobs(url)
    return bool(found) and all(j["status"] not in ("todo", "doing") for j in found)


def _converged(root: Path, name: str, records: int) -> None:
    """The target holds each source record once: what an uninterrupted run writes."""
    titles = target_titles(root, name)
    assert len(titles) == records
    assert sorted(titles) == [f"Company {i:05d}" for i in range(records)]


def test_worker_runs_a_queued_run_logs_it_and_stops_on_sigterm(
    cli: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    spec = integration(workdir, "acme", records=50)
    assert cli("enqueue", str(spec), "--state", pg_url).exit_code == 0

    worker = workers.start([spec], "w1")
    wait_until(lambda: _done(pg_url), "the job to be done")
    code = worker.stop()

    assert code == 0
    _converged(workdir, "acme", 50)
    [run] = runs(pg_url, "acme")
    assert (run["number"], run["status"], run["trigger"]) == (1, "succeeded", "enqueue")
    assert run["worker"] == "w1"  # the run's history says which worker ran it
    assert [j["status"] for j in jobs(pg_url)] == ["succeeded"]
    log = worker.log()
    assert f"worker w1 on {pg_url.replace(password(pg_url), '***')}: 1 integration(s)" in log
    assert "job 1: acme: starting (enqueue, all flows, spec " in log
    assert "job 1: acme: run 1 succeeded in " in log
    assert "read 50, created 50, updated 0, failed 0" in log
    assert log.rstrip().endswith("stopped")
    assert password(pg_url) not in log


def test_two_workers_never_run_one_integration_at_once(
    cli: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    spec = integration(workdir, "acme", records=3000)
    first = workers.start([spec], "w1")
    second = workers.start([workdir], "w2")  # a folder: every *.yaml in it
    said = [cli("enqueue", str(spec), "--state", pg_url).stdout]
    wait_until(lambda: any(j["status"] == "doing" for j in jobs(pg_url)), "the first run")
    for round_ in range(8):  # asked again and again while the first run goes on
        with (workdir / "acme/src/accounts.jsonl").open("a") as source:
            for i in range(3000 + round_ * 10, 3010 + round_ * 10):
                source.write(f'{{"id": "s{i}", "name": "Company {i:05d}", "changed": {i}}}\n')
        said.append(cli("enqueue", str(spec), "--state", pg_url).stdout)
        time.sleep(0.1)
    wait_until(lambda: _done(pg_url), "every job to be done", timeout=40)
    assert first.stop() == 0
    assert second.stop() == 0

    made = [line for line in said if line.startswith("queued: acme")]
    assert 2 <= len(made) < len(said)  # one waited behind the run; the others were refused
    history = runs(pg_url, "acme")
    # every job queued became a run: none was taken while another run held the integration
    assert len(history) == len(made) == len(jobs(pg_url))
    assert all(r["status"] == "succeeded" for r in history), history
    for before, after in itertools.pairwise(history):
        assert before["finished_at"] <= after["started_at"], (before, after)
    assert "not run" not in first.log() + second.log()
    _converged(workdir, "acme", 3080)


def test_worker_killed_mid_run_is_resumed_by_another_and_converges(
    cli: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    spec = integration(workdir, "acme", records=3000)
    one = workers.start([spec], "w1")
    two = workers.start([spec], "w2")
    wait_until(lambda: len(_alive(cli, pg_url)) == 2, "both workers to be up")
    assert cli("enqueue", str(spec), "--state", pg_url).exit_code == 0

    [job] = wait_until(lambda: [j for j in jobs(pg_url) if j["pid"]], "a worker to take it")
    wait_until(lambda: target_bytes(workdir, "acme") > 2000, "the run to write")
    running, other = (one, two) if job["pid"] == one.pid else (two, one)
    running.kill()
    killed_at = time.monotonic()

    wait_until(lambda: "acme: stalled" in other.log(), "the stalled job to be queued again")
    requeued_after = time.monotonic() - killed_at
    wait_until(lambda: _done(pg_url), "the run to end on the other worker", timeout=30)
    assert other.stop() == 0

    assert requeued_after < 2 + 60  # T20: within the stalled timeout + 60 s
    [again] = jobs(pg_url)
    assert (again["id"], again["status"], again["attempts"]) == (job["id"], "succeeded", 2)
    first, second = runs(pg_url, "acme")
    assert (first["status"], first["worker"]) == ("interrupted", running.name)
    assert "its process ended before the run did" in first["message"]
    assert (second["status"], second["worker"]) == ("succeeded", other.name)
    assert f"job {job['id']}: acme: stalled (its worker sent no heartbeat); queued again" in (
        other.log()
    )
    assert f"job {job['id']}: acme: run 2 succeeded" in other.log()
    _converged(workdir, "acme", 3000)


def test_a_killed_run_with_one_queued_behind_it_resumes_before_jobs_queued_earlier(
    cli: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    """The stalled job is aborted for the run queued behind it (the queueing lock allows
    one), and that run is taken next: not after every job queued before it."""
    acme = integration(workdir, "acme", records=3000)
    # each long enough (batches of 10) that the stall is settled while the first one runs
    others = [integration(workdir, f"other{i}", records=8000) for i in range(3)]
    one = workers.start([acme], "w1")
    assert cli("enqueue", str(acme), "--state", pg_url).exit_code == 0
    wait_until(lambda: target_bytes(workdir, "acme") > 2000, "acme's run to write")
    for spec in others:
        assert cli("enqueue", str(spec), "--state", pg_url).exit_code == 0
    behind = cli("enqueue", str(acme), "--state", pg_url)
    assert behind.stdout.startswith("queued: acme")  # after the others
    one.kill()
    two = workers.start([acme, *others], "w2")

    wait_until(lambda: "acme: stalled" in two.log(), "the stalled job to be settled")
    wait_until(
        lambda: all(_done_runs(pg_url, s.stem) for s in [acme, *others]),
        "every run to end",
        timeout=60,
    )
    assert two.stop() == 0

    assert "aborted: job" in two.log()
    resumed = runs(pg_url, "acme")[1]
    last_other = max(runs(pg_url, s.stem)[0]["started_at"] for s in others)
    assert resumed["started_at"] < last_other  # taken before the last job queued earlier
    assert resumed["status"] == "succeeded"
    _converged(workdir, "acme", 3000)


def _done_runs(url: str, name: str) -> bool:
    history = runs(url, name)
    return bool(history) and history[-1]["status"] == "succeeded"


def test_sigterm_mid_run_stops_after_the_batch_and_queues_the_run_again(
    cli: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    spec = integration(workdir, "acme", records=3000)
    worker = workers.start([spec], "w1")
    assert cli("enqueue", str(spec), "--state", pg_url).exit_code == 0
    wait_until(lambda: target_bytes(workdir, "acme") > 2000, "the run to write")

    assert worker.stop() == 0

    [stopped] = runs(pg_url, "acme")
    assert stopped["status"] == "interrupted"
    assert "interrupted by SIGTERM" in stopped["message"]
    first, again = jobs(pg_url)
    assert first["status"] == "succeeded"  # the job is done; its run goes on in the next
    assert again["status"] == "todo"
    assert again["args"]["trigger"] == "retry"
    assert "job 2" in worker.log().split("SIGTERM: stopping")[1]  # "queued: acme (job 2)"

    after = workers.start([spec], "w2")
    wait_until(lambda: _done(pg_url), "the run queued again to end")
    assert after.stop() == 0
    assert [r["status"] for r in runs(pg_url, "acme")] == ["interrupted", "succeeded"]
    assert runs(pg_url, "acme")[1]["trigger"] == "retry"
    _converged(workdir, "acme", 3000)


def test_a_second_signal_exits_at_once_and_leaves_the_run_to_the_others(
    cli: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    spec = integration(workdir, "acme", records=3000)
    worker = workers.start([spec], "w1")
    assert cli("enqueue", str(spec), "--state", pg_url).exit_code == 0
    wait_until(lambda: target_bytes(workdir, "acme") > 2000, "the run to write")

    # back to back (two different signals: the kernel keeps both), before the batch ends
    worker.signal(signal.SIGTERM)
    worker.signal(signal.SIGINT)
    code = worker.process.wait(timeout=20)

    assert code == 128 + signal.SIGINT
    assert "second SIGINT: stopping at once" in worker.log()
    [job] = jobs(pg_url)
    assert job["status"] == "doing"  # as if killed: its heartbeat stops, others queue it again


def test_a_schedule_becomes_a_periodic_task_that_queues_runs(
    workdir: Path, pg_url: str, workers: Workers
) -> None:
    # every second (a 6th field: seconds); nothing else queues acme
    spec = integration(workdir, "acme", records=5, schedule="* * * * * */1")
    one = workers.start([spec], "w1")
    two = workers.start([spec], "w2")

    wait_until(lambda: len(runs(pg_url, "acme")) >= 3, "three scheduled runs", timeout=25)
    assert one.stop() == 0
    assert two.stop() == 0

    history = runs(pg_url, "acme")
    assert {r["trigger"] for r in history} == {"schedule"}
    assert "schedule: acme: accounts on '* * * * * */1' (UTC)" in one.log()
    found = jobs(pg_url)
    # a worker stopped mid-run hands its run on (trigger "retry", no moment): at most one each
    handed = [j for j in found if j["args"]["trigger"] == "retry"]
    scheduled = [j for j in found if j["args"]["trigger"] == "schedule"]
    assert len(handed) <= 2
    assert len(scheduled) + len(handed) == len(found)
    assert len(scheduled) >= 3
    assert all(j["args"]["flows"] == ["accounts"] for j in found)
    # both workers defer each moment; the database keeps one job per moment
    moments = [j["args"]["timestamp"] for j in scheduled]
    assert len(moments) == len(set(moments))


def test_workers_shows_running_queued_and_stalled(
    cli: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    spec = integration(workdir, "acme", records=3000)
    worker = workers.start([spec], "w1")
    cli("enqueue", str(spec), "--state", pg_url)
    wait_until(lambda: target_bytes(workdir, "acme") > 2000, "the run to write")
    cli("enqueue", str(spec), "--state", pg_url)

    going = cli("workers", "--state", pg_url)
    worker.kill()  # no other worker: its run stays stalled
    wait_until(
        lambda: "stalled (1)" in cli("workers", "--state", pg_url).stdout,
        "the job to show stalled",
    )
    stalled = cli("workers", "--state", pg_url, "--json").stdout

    assert going.exit_code == 0
    assert "  worker 1 w1: alive, heartbeat " in going.stdout
    assert f"pid {worker.pid}" in going.stdout
    assert "running (1):\n  job 1 acme (enqueue) on worker 1 (w1) since " in going.stdout
    assert "queued (1):\n  job 2 acme (enqueue) queued since " in going.stdout
    # with the state's history: the run that job is making
    assert going.stdout.count("; last run 1 running on w1\n") == 2
    data = json.loads(stalled)
    [lost] = data["workers"]
    assert (lost["name"], lost["alive"], lost["stalled_after"]) == ("w1", False, 2.0)
    assert data["running"] == []
    assert [(j["id"], j["worker"]) for j in data["stalled"]] == [(1, "w1")]
    # the state still has the run `running`: its process died; the next run marks it
    last = data["stalled"][0]["last_run"]
    assert (last["number"], last["status"], last["worker"]) == (1, "running", "w1")
    assert [j["id"] for j in data["queued"]] == [2]
    since = dt.datetime.fromisoformat(data["stalled"][0]["since"])
    assert since.tzinfo is not None


def _alive(cli: Any, url: str) -> list[dict[str, Any]]:
    result = cli("workers", "--state", url, "--json")
    return [w for w in json.loads(result.stdout)["workers"] if w["alive"] and w["name"]]
