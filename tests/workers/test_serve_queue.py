"""`integrate serve --queue`: webhooks received by any serve instance become runs on the
workers, each notification applied once across them (the event ledger in PostgreSQL). Real
processes on loopback: Zoho CRM's emulator served (it POSTs its callbacks itself), two serve
instances sharing one database, one worker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_variables
from tests.workers.world import Workers, password, runs, wait_until

SPEC = """\
integrate: 1
name: hooks
connections:
%(crm)s
  notes: {plugin: files, config: {path: ./notes}}
flows:
  accounts:
    from: crm.Accounts
    to: notes.notes
    backfill: false
    triggers: [webhook, poll]
    events:
      - event: created
        do: create
        fields: {subject: "record.Account_Name"}
"""


def _events(url: str) -> list[tuple[str, Any, Any]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT ids, applied_at, run_id FROM webhook_events ORDER BY seq"
        ).fetchall()
    return [(orjson.loads(ids)[0], applied, run) for ids, applied, run in rows]


class _Serve:
    """`integrate serve --queue` in a process of its own; its stderr in a file."""

    def __init__(self, root: Path, name: str, *options: str) -> None:
        self.log_path = root / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "integrate", "serve", "spec.yaml", "--queue", *options],
                cwd=root,
                env=dict(os.environ),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def url(self) -> str:
        found = wait_until(
            lambda: re.search(r"receiving webhooks on (http://127\.0\.0\.1:\d+)", self.log()),
            "serve's receiver",
        )
        return str(found.group(1))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def world(workdir: Path, pg_url: str, workers: Workers, monkeypatch: pytest.MonkeyPatch) -> Any:
    crm = ZohoCrmEmulator()
    emulator_url = crm.serve()
    for key, value in {
        "INTEGRATE_STATE": pg_url,
        "ZOHO_ACCOUNTS_URL": emulator_url,
        **zoho_variables(crm.connection_config()),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("INTEGRATE_BLOCK_PLUGINS", raising=False)
    (workdir / "spec.yaml").write_text(
        SPEC % {"crm": zoho_connection(accounts_url="${env:ZOHO_ACCOUNTS_URL}")}
    )
    serves: list[_Serve] = []
    try:
        yield crm, serves
    finally:
        for serve in serves:
            serve.kill()
        crm.close()


def _notes(root: Path) -> list[str]:
    return [n["subject"] for n in read_jsonl(root / "notes/notes.jsonl")]


def test_a_webhook_received_by_either_serve_is_applied_once_by_a_worker(
    world: Any, workdir: Path, pg_url: str, workers: Workers
) -> None:
    crm, serves = world
    first = _Serve(workdir, "serve-a", "--port", "0")
    serves.append(first)
    public = first.url()
    # the second instance, behind the same public address (a load balancer's)
    second = _Serve(workdir, "serve-b", "--port", "0", "--public-url", public)
    serves.append(second)
    second_url = second.url()
    worker = workers.start([workdir / "spec.yaml"], "w1")
    # each serve queues a catch-up on start; the queueing lock keeps one waiting
    wait_until(
        lambda: [r["status"] for r in runs(pg_url, "hooks")][-1:] == ["succeeded"], "catch-up"
    )

    crm.seed("Accounts", [{"Account_Name": "Acme"}])  # Zoho POSTs the callback by itself
    wait_until(lambda: _notes(workdir) == ["Acme"], "the webhook's run on the worker")
    wait_until(lambda: all(e[1] is not None for e in _events(pg_url)), "the event applied")
    [body] = crm.notifications()  # the one call Zoho made: Acme's
    made = len(runs(pg_url, "hooks"))
    # the same call reaches the other instance (a retry routed elsewhere): seen before
    channel_path = httpx.URL(next(iter(crm.org.watch.channels.values())).notify_url).path
    answer = httpx.post(
        second_url + channel_path,
        content=orjson.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )

    assert answer.status_code == 200
    assert len(_events(pg_url)) == 1  # recorded once, whichever instance got it
    [event] = _events(pg_url)
    webhook_runs = [r for r in runs(pg_url, "hooks") if r["trigger"] == "webhook"]
    assert [r["number"] for r in webhook_runs] == [event[2]]  # applied by the worker's run
    assert webhook_runs[0]["worker"] == "w1"
    assert len(runs(pg_url, "hooks")) == made  # the duplicate queued nothing
    assert _notes(workdir) == ["Acme"]
    assert "queued: hooks" in first.log()
    assert password(pg_url) not in first.log() + second.log() + worker.log()


def test_queue_needs_a_postgres_state(cli: Any, workdir: Path) -> None:
    (workdir / "spec.yaml").write_text(
        SPEC % {"crm": zoho_connection(accounts_url="http://127.0.0.1:9")}
    )

    result = cli("serve", "spec.yaml", "--queue", "--state", "state.db")

    assert result.exit_code == 2
    assert "not a postgresql:// URL" in result.stderr


def test_queue_touches_the_database_only_once_the_specs_are_good(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    import psycopg

    (workdir / "spec.yaml").write_text(
        SPEC % {"crm": zoho_connection(accounts_url="http://127.0.0.1:9")} + "bogus: 1\n"
    )

    result = cli("serve", "spec.yaml", "--queue", "--state", pg_url)

    assert result.exit_code == 2
    assert "unknown key 'bogus'" in result.stderr
    with psycopg.connect(pg_url) as conn:  # the queue's tables were not made
        assert conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,)
