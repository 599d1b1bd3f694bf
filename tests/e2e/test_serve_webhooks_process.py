"""`integrate serve` in its own process, real time, on loopback: Zoho CRM's emulator served on
a port, serve's receiver on another. SIGTERM during a run exits 0 with nothing half-applied;
SIGKILL, then a restart, misses nothing and applies nothing twice (ID-7). The served
emulator POSTs its callbacks to the URL the channel was subscribed with, as Zoho does. And
what serve refuses before it starts: a non-loopback bind without --allow-remote and the
secret, a spec with nothing to serve."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from integrate import Faults
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.e2e.serve_process import DEADLINE, ServeProcesses
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_variables

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
    backfill: %(backfill)s
    page_size: 10
    batch_size: 10
    triggers: [webhook, poll]
    events:
      - event: created
        do: create
        fields: {subject: "record.Account_Name"}
"""


class Served(ServeProcesses):
    """The served Zoho emulator, the spec and serve processes started in the test's folder."""

    def __init__(self, root: Path, *, backfill: bool, latency: float = 0.0):
        self.root = root
        self.crm = ZohoCrmEmulator(faults=Faults(latency=latency))
        url = self.crm.serve()
        self.env = {
            **os.environ,
            "INTEGRATE_HOME": str(root / ".integrate"),
            "ZOHO_ACCOUNTS_URL": url,
            **zoho_variables(self.crm.connection_config()),
        }
        crm = zoho_connection(accounts_url="${env:ZOHO_ACCOUNTS_URL}")
        (root / "spec.yaml").write_text(
            SPEC % {"crm": crm, "backfill": "true" if backfill else "false"}
        )
        self.http = httpx.Client(timeout=5)

    def notes(self) -> list[str]:
        path = self.root / "notes/notes.jsonl"
        return [n["subject"] for n in read_jsonl(path)] if path.exists() else []

    def events(self) -> list[tuple[str, bool]]:
        rows = self.db("SELECT ids, applied_at FROM webhook_events ORDER BY seq")
        return [(orjson.loads(ids)[0], applied is not None) for ids, applied in rows]

    def notify_url(self) -> str:
        channels = list(self.crm.org.watch.channels.values())
        return channels[0].notify_url if channels else ""

    def post(self, url: str, body: dict[str, Any]) -> int:
        """POST one callback body to `url` as Zoho does; its status (0: no connection)."""
        try:
            answer = self.http.post(
                url, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError:
            return 0
        return answer.status_code


def test_sigterm_during_a_run_exits_cleanly_and_the_next_start_finishes_it(
    workdir: Path, stopping: list[subprocess.Popen[str]]
) -> None:
    w = Served(workdir, backfill=True, latency=0.2)
    w.crm.seed("Accounts", [{"Account_Name": f"Account {i:02d}"} for i in range(30)])
    serve = w.start()
    stopping.append(serve)
    # the catch-up run on start creates a note per account, 10 a page, 0.2 s a call
    w.wait("the catch-up run under way", lambda: len(w.notes()) >= 10, serve)

    serve.send_signal(signal.SIGTERM)
    _, err = serve.communicate(timeout=DEADLINE)

    assert serve.returncode == 0, err
    assert "stopped" in err
    stopped_at = w.notes()
    assert 10 <= len(stopped_at) < 30  # it stopped at a page's end, mid-run
    assert len(stopped_at) % 10 == 0  # whole pages: nothing half-applied
    assert len(set(stopped_at)) == len(stopped_at)
    assert w.runs() == [("poll", "interrupted")]

    again = w.start()
    stopping.append(again)
    w.wait("the next catch-up", lambda: len(w.runs()) == 2 and w.runs()[1][1] != "running", again)
    again.send_signal(signal.SIGTERM)
    again.communicate(timeout=DEADLINE)

    assert again.returncode == 0
    assert sorted(w.notes()) == [f"Account {i:02d}" for i in range(30)]  # each once
    assert w.runs() == [("poll", "interrupted"), ("poll", "succeeded")]


def test_ID_7_sigkill_then_restart_misses_nothing_and_applies_nothing_twice(
    workdir: Path, stopping: list[subprocess.Popen[str]]
) -> None:
    w = Served(workdir, backfill=False)
    w.crm.seed("Accounts", [{"Account_Name": "Old Co"}])
    serve = w.start()
    stopping.append(serve)
    w.wait("the catch-up run", lambda: w.runs() == [("poll", "succeeded")], serve)
    first_url = w.notify_url()
    assert first_url.startswith("http://127.0.0.1:")

    # Zoho (the served emulator) POSTs its callbacks to the channel's URL by itself
    w.crm.seed("Accounts", [{"Account_Name": "Acme"}])
    w.wait("the webhook run", lambda: w.notes() == ["Acme"], serve)
    w.wait("Acme's event applied", lambda: w.events() == [(acme(w), True)], serve)
    w.crm.seed("Accounts", [{"Account_Name": "Bolt"}])  # received, then serve is killed
    w.wait("Bolt's call received", lambda: len(w.events()) == 2, serve)
    serve.kill()
    serve.wait()
    w.crm.seed("Accounts", [{"Account_Name": "Cole"}])  # while serve is down: not received
    bodies = w.crm.notifications()
    bolt = next(b for b in bodies if b["ids"] == [w.events()[1][0]])

    again = w.start()
    stopping.append(again)
    w.wait("the channel renewed to the new port", lambda: w.notify_url() != first_url, again)
    w.wait("the catch-up", lambda: sorted(w.notes()) == ["Acme", "Bolt", "Cole"], again)
    w.wait("its run committed", lambda: w.runs()[-1][1] == "succeeded", again)
    w.wait("every event applied", lambda: all(a for _, a in w.events()), again)
    # Zoho delivers Bolt's call again (its answer may have been lost with the process): it
    # is seen before, and runs nothing (its old token is still good within the grace)
    runs = len(w.runs())
    assert w.post(w.notify_url(), bolt) == 200
    time.sleep(0.3)
    assert len(w.runs()) == runs
    again.send_signal(signal.SIGTERM)
    again.communicate(timeout=DEADLINE)

    assert again.returncode == 0
    assert sorted(w.notes()) == ["Acme", "Bolt", "Cole"]  # each once
    assert all(applied for _, applied in w.events())
    assert len({i for i, _ in w.events()}) == len(w.events())  # each call recorded once


def acme(w: Served) -> str:
    [found] = [a for a in w.crm.records("Accounts") if a["Account_Name"] == "Acme"]
    return str(found["id"])


# ---- refused at start --------------------------------------------------------------------


def test_a_non_loopback_bind_is_refused_without_allow_remote_and_the_secret(
    cli: Any, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = zoho_connection(accounts_url="${env:ZOHO_ACCOUNTS_URL}")
    (workdir / "spec.yaml").write_text(SPEC % {"crm": crm, "backfill": "false"})
    monkeypatch.delenv("INTEGRATE_SERVE_SECRET", raising=False)

    bare = cli("serve", "spec.yaml", "--host", "0.0.0.0")
    no_secret = cli("serve", "spec.yaml", "--host", "0.0.0.0", "--allow-remote")
    short = cli(
        "serve",
        "spec.yaml",
        "--host",
        "0.0.0.0",
        "--allow-remote",
        env={"INTEGRATE_SERVE_SECRET": "too-short"},
    )

    assert bare.exit_code == 2
    assert "--host 0.0.0.0 is not a loopback address" in bare.stderr
    assert "--allow-remote" in bare.stderr
    assert no_secret.exit_code == 2
    assert "INTEGRATE_SERVE_SECRET, at least 32 characters" in no_secret.stderr
    assert short.exit_code == 2
    assert "too-short" not in short.output
    assert not (workdir / ".integrate/state.db").exists()  # refused before anything began


def test_a_webhook_flow_whose_source_sends_no_notifications_only_polls(
    cli: Any, workdir: Path
) -> None:
    (workdir / "spec.yaml").write_text(
        "integrate: 1\n"
        "name: files-events\n"
        "connections:\n"
        "  src: {plugin: files, config: {path: ./src}}\n"
        "  notes: {plugin: files, config: {path: ./notes}}\n"
        "flows:\n"
        "  archive:\n"
        "    from: src.accounts\n"
        "    to: notes.notes\n"
        "    triggers: [webhook]\n"
        "    events:\n"
        "      - {event: created, do: create, fields: {subject: record.name}}\n"
    )

    served = cli("serve", "spec.yaml", "--port", "0")

    assert served.exit_code == 2
    assert "no schedule to serve" in served.stderr
    assert "event flow whose source plugin sends notifications" in served.stderr
