"""`integrate enqueue` and `integrate workers` against a real PostgreSQL: a run queued once
however often it is asked for, its locks; the errors a user sees from them and from
`integrate worker` before it starts (and never the password)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.workers.world import integration, jobs, password


def test_enqueue_twice_queues_one_run_and_says_already_queued(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    spec = integration(workdir, "acme", records=10)

    first = cli("enqueue", str(spec), "--state", pg_url)
    second = cli("enqueue", str(spec), "--state", pg_url)

    assert first.exit_code == 0, first.output
    assert first.stdout == "queued: acme (job 1)\n"
    assert second.exit_code == 0, second.output
    assert second.stdout == "already queued: acme\n"
    queued = jobs(pg_url)
    assert len(queued) == 1
    job = queued[0]
    assert (job["status"], job["lock"], job["queueing_lock"]) == ("todo", "acme", "acme")
    assert job["queue_name"] == "acme"  # only workers that have acme's spec take it
    assert job["args"] == {"integration": "acme", "trigger": "enqueue", "flows": []}


def test_workers_lists_a_queued_run(cli: Any, workdir: Path, pg_url: str) -> None:
    spec = integration(workdir, "acme", records=10)
    cli("enqueue", str(spec), "--state", pg_url, "--flow", "accounts")

    text = cli("workers", "--state", pg_url)
    as_json = cli("workers", "--state", pg_url, "--json")

    assert text.exit_code == 0, text.output
    assert "none (start one with" in text.stdout
    assert "queued (1):\n  job 1 acme (enqueue flows accounts) queued since " in text.stdout
    assert "running (0):" in text.stdout
    assert "stalled (0):" in text.stdout
    assert password(pg_url) not in text.output
    assert f"workers of {pg_url.replace(password(pg_url), '***')}:" in text.stdout
    data = json.loads(as_json.stdout)
    assert (data["workers"], data["running"], data["stalled"]) == ([], [], [])
    assert [(j["id"], j["integration"], j["flows"]) for j in data["queued"]] == [
        (1, "acme", ["accounts"])
    ]


def test_state_comes_from_the_environment(cli: Any, workdir: Path, pg_url: str) -> None:
    spec = integration(workdir, "acme", records=10)

    result = cli("enqueue", str(spec), env={"INTEGRATE_STATE": pg_url})

    assert result.exit_code == 0, result.output
    assert result.stdout == "queued: acme (job 1)\n"


@pytest.mark.parametrize("command", ["worker", "enqueue", "workers"])
@pytest.mark.parametrize("state", ["state.db", "sqlite:///x.db", None])
def test_state_that_is_not_postgresql_is_refused_in_one_line(
    cli: Any, workdir: Path, command: str, state: str | None
) -> None:
    spec = integration(workdir, "acme", records=1)
    args = [command] + ([str(spec)] if command != "workers" else [])
    args += ["--state", state] if state else []

    result = cli(*args, env={"INTEGRATE_STATE": ""})

    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    if state:
        assert lines[0].startswith(f"--state {state} is not a postgresql:// URL")
    else:
        assert lines[0].startswith("--state is required: a postgresql:// URL")


def test_spec_with_a_problem_is_refused_at_its_line_and_nothing_is_queued(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    good = integration(workdir, "acme", records=1)
    bad = workdir / "bad.yaml"
    bad.write_text(good.read_text().replace("batch_size: 10", "batch_size: ten"))

    result = cli("enqueue", str(good), str(bad), "--state", pg_url)

    assert result.exit_code == 2
    assert f"{bad}:11:17: " in result.stderr
    assert jobs_table_missing(pg_url)  # nothing queued, nothing created


def test_unknown_flow_is_a_usage_error(cli: Any, workdir: Path, pg_url: str) -> None:
    spec = integration(workdir, "acme", records=1)

    result = cli("enqueue", str(spec), "--state", pg_url, "--flow", "contacts")

    assert result.exit_code == 2
    assert "no flow named contacts (flows: accounts)" in result.stderr


def test_database_that_cannot_be_reached_is_named_without_its_password(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    spec = integration(workdir, "acme", records=1)
    # a port nothing listens on: the URL is right but for its port
    port = pg_url.rsplit(":", 1)[1].split("/", 1)[0]
    wrong = pg_url.replace(f":{port}/", ":1/", 1)

    enqueue = cli("enqueue", str(spec), "--state", wrong)
    listing = cli("workers", "--state", wrong)

    for result in (enqueue, listing):
        assert result.exit_code == 1
        shown = wrong.replace(password(pg_url), "***")
        assert result.stderr.startswith(f"cannot connect to {shown}: ")
        assert password(pg_url) not in result.output


def test_schema_is_applied_once_when_many_start_at_the_same_moment(pg_url: str) -> None:
    from integrate.workers.database import database, prepare, ready

    db = database(pg_url)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def starting() -> None:
        start.wait()
        try:
            prepare(db)
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=starting) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert ready(db)
    prepare(db)  # and again, later: nothing to do, nothing fails


def test_worker_refuses_a_spec_with_a_problem_before_it_starts(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    good = integration(workdir, "acme", records=1)
    (workdir / "more").mkdir()
    bad = workdir / "more" / "bad.yaml"
    bad.write_text(good.read_text().replace("batch_size: 10", "batch_size: ten"))

    result = cli("worker", str(good), str(workdir / "more"), "--state", pg_url)

    assert result.exit_code == 2
    assert f"{bad}:11:17: " in result.stderr
    assert jobs_table_missing(pg_url)  # it never got as far as the database


def test_worker_refuses_two_specs_of_one_integration(cli: Any, workdir: Path, pg_url: str) -> None:
    spec = integration(workdir, "acme", records=1)
    copy = workdir / "copy.yaml"
    copy.write_text(spec.read_text())

    result = cli("worker", str(spec), str(copy), "--state", pg_url)

    assert result.exit_code == 2
    assert f"{copy}: integration 'acme' is also {spec}: each integration has one spec" in (
        result.stderr
    )


def test_worker_refuses_a_path_that_is_no_spec(cli: Any, workdir: Path, pg_url: str) -> None:
    (workdir / "empty").mkdir()

    missing = cli("worker", "nowhere.yaml", "--state", pg_url)
    empty = cli("worker", "empty", "--state", pg_url)

    assert (missing.exit_code, empty.exit_code) == (2, 2)
    assert "nowhere.yaml: no such spec file or folder" in missing.stderr
    assert "empty: no *.yaml spec in this folder" in empty.stderr


def jobs_table_missing(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,)
