"""The pieces of the workers that need no database: schedules read in the spec's time zone
by Procrastinate's own periodic deferrer, queue names PostgreSQL accepts, URLs shown without
their password, and the embedded default never loading Procrastinate or psycopg."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from procrastinate import App
from procrastinate.periodic import PeriodicDeferrer
from procrastinate.testing import InMemoryConnector

from integrate.errors import UsageError
from integrate.secrets import REDACTOR
from integrate.workers.database import database
from integrate.workers.jobs import TASK, queue_of
from integrate.workers.schedules import register
from tests.unit.test_build import build

SPEC = """\
integrate: 1
name: tokyo
timezone: Asia/Tokyo
schedule: "0 9 * * *"
connections:
  a: {plugin: files, config: {path: a}}
  b: {plugin: files, config: {path: b}}
flows:
  people:
    from: a.people
    to: b.people
    match: [[email, email]]
  orders:
    from: a.orders
    to: b.orders
    match: [[id, id]]
    schedule: "30 * * * *"
"""


def _utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def test_a_schedule_is_deferred_at_its_moment_in_the_spec_time_zone(tmp_path: Path) -> None:
    spec = build(tmp_path / "spec.yaml", SPEC, None)
    connector = InMemoryConnector()
    app = App(connector=connector)
    task = app.task(name=TASK, pass_context=True)(lambda context, **kwargs: None)

    lines = register(app, task, [spec])
    deferrer = PeriodicDeferrer(registry=app.periodic_registry, max_delay=24 * 3600)
    # 02:10 UTC is 11:10 in Tokyo: 9:00 Tokyo was 00:00 UTC (not 09:00 UTC the day before)
    due = list(deferrer.get_previous_tasks(at=_utc("2026-11-23T02:10:00")))
    asyncio.run(deferrer.defer_jobs(due))

    assert lines == [
        "tokyo: people on '0 9 * * *' (Asia/Tokyo)",
        "tokyo: orders on '30 * * * *' (Asia/Tokyo)",
    ]
    assert sorted((p.periodic_id, moment) for p, moment in due) == [
        ("tokyo@0 9 * * *", int(_utc("2026-11-23T00:00:00"))),
        ("tokyo@30 * * * *", int(_utc("2026-11-23T01:30:00"))),
    ]
    # both fell due: the first is queued, the second finds it waiting (at most one waits)
    [job] = connector.jobs.values()
    assert job["args"] == {
        "integration": "tokyo",
        "trigger": "schedule",
        "flows": ["people"],
        "timestamp": int(_utc("2026-11-23T00:00:00")),
    }
    assert (job["queue_name"], job["lock"], job["queueing_lock"]) == ("tokyo",) * 3
    # the next moment of the spec's schedule: 9:00 in Tokyo, tomorrow
    nine = [p for p in app.periodic_registry.periodic_tasks.values() if p.cron == "0 9 * * *"]
    after = nine[0].croniter.get_next(ret_type=float, start_time=_utc("2026-11-23T02:10:00"))
    assert after == _utc("2026-11-24T00:00:00")


def test_queue_names_fit_postgresql_notify_channels() -> None:
    long_a = "a" * 50 + "-one"
    long_b = "a" * 50 + "-two"

    assert queue_of("acme-crm") == "acme-crm"
    for name in (long_a, long_b, "x" * 64):
        # Procrastinate's channel is "procrastinate_queue_v1#" + queue: under 64 bytes
        assert len(("procrastinate_queue_v1#" + queue_of(name)).encode()) < 64
    assert queue_of(long_a) != queue_of(long_b)
    assert queue_of(long_a) == queue_of(long_a)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cr3t-pw@db:5432/integrate", "postgresql://app:***@db:5432/integrate"),
        ("postgres://app@db/integrate", "postgres://app@db/integrate"),
        (
            "postgresql:///integrate?host=/run/pg&password=s3cr3t-qs",
            "postgresql:///integrate?host=%2Frun%2Fpg&password=***",
        ),
    ],
)
def test_a_database_url_is_shown_without_its_password(url: str, shown: str) -> None:
    db = database(url)

    assert str(db) == shown
    # from now on the password is masked wherever it would be printed or logged
    assert "s3cr3t" not in REDACTOR.redact(f"connection failed for {url}")


def test_a_url_that_is_not_postgresql_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"mysql://u:\*\*\*@h/d is not a postgresql:// URL"):
        database("mysql://u:p4ssw0rd@h/d")


def test_the_embedded_default_never_loads_procrastinate_or_psycopg(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from integrate.cli import main\n"
        "r = CliRunner().invoke(main, ['validate', sys.argv[1]])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('procrastinate', 'psycopg')))\n"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)

    found: Any = subprocess.run(
        [sys.executable, "-c", code, str(spec)], capture_output=True, text=True, check=True
    )

    assert found.stdout.strip() == "[]"
