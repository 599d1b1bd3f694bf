"""Zoho CRM → Ideolve under a real `integrate serve` process (ID-7 with ID-1, ID-2): the shipped
spec, its Zoho `accounts_url` and Ideolve `base_url` read from
`${env:...}`, both emulators served on loopback ports in this process (the Zoho one POSTing its
own callbacks on the real clock), serve as a subprocess. A new Account's note and an edit's
comment arrive by webhook; SIGKILL mid-run, Zoho changes while serve is down and a restart
leave every note and comment in Ideolve exactly once; SIGTERM mid-run exits 0 with nothing
half-applied. Each wait is bounded; every process is stopped by its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate import Faults
from integrate_ideolve.emulator import IdeolveEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import repo_root
from tests.e2e.serve_process import DEADLINE, ServeProcesses
from tests.plugins.zoho_crm.emulator_kit import zoho_variables

SPEC = repo_root() / "specs/zoho_crm-ideolve.yaml"
USER = "sales.bot@example.com"  # the spec's acting Ideolve user


def operators_copy() -> str:
    """The shipped spec as it is: it reads Zoho's accounts server and Ideolve's base URL from
    the environment (ZOHO_ACCOUNTS_URL, IDEOLVE_URL), which point it at the emulators."""
    text = SPEC.read_text()
    for reads in ("${env:ZOHO_ACCOUNTS_URL", "${env:IDEOLVE_URL"):
        assert reads in text, f"{SPEC.name} does not read {reads[6:]}"
    return text


class Served(ServeProcesses):
    """Both emulators served on loopback, the operator's spec, serve processes in `root`."""

    poll = 0.005

    def __init__(self, root: Path):
        self.root = root
        self.crm = ZohoCrmEmulator(data_center="in")
        self.ideolve = IdeolveEmulator(user=USER)
        crm_url = self.crm.serve()
        self.ideolve.serve()
        ideolve = self.ideolve.connection_config()
        self.env = {
            **os.environ,
            "INTEGRATE_HOME": str(root / ".integrate"),
            **zoho_variables(self.crm.connection_config()),
            "ZOHO_ACCOUNTS_URL": crm_url,
            "IDEOLVE_CLIENT_ID": ideolve["client_id"],
            "IDEOLVE_API_KEY": ideolve["api_key"],
            "IDEOLVE_URL": ideolve["base_url"],
        }
        (root / "spec.yaml").write_text(operators_copy())

    def close(self) -> None:
        self.crm.close()
        self.ideolve.close()

    # ---- Zoho, as its users see it ------------------------------------------------------

    def add(self, **values: Any) -> str:
        [made] = self.crm.seed("Accounts", [values])
        return str(made["id"])

    def edit(self, id: str, **values: Any) -> None:
        self.crm.change("Accounts", id, values)

    def slow_zoho(self, latency: float) -> None:
        """Every Zoho call answered `latency` seconds late from now on (0: at once)."""
        self.crm.faults = Faults(latency=latency)

    # ---- Ideolve, as its users see it ---------------------------------------------------

    def subjects(self) -> list[str]:
        """Every note's subject, one entry a note (a duplicate shows twice)."""
        return sorted(n["subject"] for n in self.ideolve.records("notes"))

    def comments(self, subject: str) -> list[str]:
        """The comments of the notes with that subject, in order."""
        notes = [n for n in self.ideolve.records("notes") if n["subject"] == subject]
        return [c["commenthtmltext"] for n in notes for c in n.get("comments", [])]

    # ---- serve's state (and `db`, `runs`) -----------------------------------------------

    def pending(self) -> int:
        """Zoho's callbacks received but not yet applied."""
        return len(self.db("SELECT seq FROM webhook_events WHERE applied_at IS NULL"))

    def received(self) -> int:
        return len(self.db("SELECT seq FROM webhook_events"))

    def settled(self) -> bool:
        """The last run committed and no callback is waiting to be applied."""
        runs = self.runs()
        return bool(runs) and runs[-1][1] == "succeeded" and self.pending() == 0


@pytest.fixture
def world(workdir: Path) -> Iterator[Served]:
    served = Served(workdir)
    try:
        yield served
    finally:
        served.close()


def started(w: Served, stopping: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    """serve started and its catch-up run on start committed."""
    serve = w.start()
    stopping.append(serve)
    runs = len(w.runs())
    w.wait("the catch-up run", lambda: len(w.runs()) > runs and w.settled(), serve)
    return serve


def stop(serve: subprocess.Popen[str]) -> str:
    """SIGTERM; serve's stderr once it has exited 0."""
    serve.send_signal(signal.SIGTERM)
    _, err = serve.communicate(timeout=DEADLINE)
    assert serve.returncode == 0, err
    return err


def test_ID_7_ID_1_ID_2_an_account_and_its_edit_reach_ideolve_by_webhook(
    world: Served, stopping: list[subprocess.Popen[str]]
) -> None:
    w = world
    w.add(Account_Name="Old Co")  # before the integration (backfill: false): no note
    serve = started(w, stopping)
    assert w.runs() == [("poll", "succeeded")]

    acme = w.add(Account_Name="Acme Corp", Phone="1")  # Zoho POSTs its callback by itself
    w.wait("Acme's note", lambda: w.subjects() == ["Account: Acme Corp"], serve)
    w.wait("its run committed", w.settled, serve)
    w.edit(acme, Phone="2")
    w.wait("the edit's comment", lambda: w.comments("Account: Acme Corp") != [], serve)
    w.wait("its run committed", w.settled, serve)
    time.sleep(0.3)  # a second comment, were one coming, would come now
    stop(serve)

    assert w.subjects() == ["Account: Acme Corp"]
    assert w.comments("Account: Acme Corp") == ["<p>Phone: 1 &rarr; 2</p>"]
    assert [t for t, _ in w.runs()] == ["poll", "webhook", "webhook"]  # the run history
    assert {s for _, s in w.runs()} == {"succeeded"}


def test_ID_7_sigkill_mid_run_then_restart_applies_every_note_and_comment_once(
    world: Served, stopping: list[subprocess.Popen[str]]
) -> None:
    w = world
    serve = started(w, stopping)
    acme = w.add(Account_Name="Acme", Phone="1")
    dune = w.add(Account_Name="Dune", Phone="1")
    w.wait("two notes", lambda: len(w.subjects()) == 2, serve)
    w.wait("their runs committed", w.settled, serve)

    # a run that lasts: every Zoho call 0.5 s late; killed while it reads, before it writes
    w.slow_zoho(0.5)
    received = w.received()
    writes = w.ideolve.calls().get("create", 0) + w.ideolve.calls().get("comment", 0)
    w.edit(acme, Phone="2")
    w.add(Account_Name="Bolt")
    w.wait("both calls received", lambda: w.received() >= received + 2, serve)
    w.wait(
        "the webhook run reading Zoho",
        lambda: w.runs()[-1] == ("webhook", "running") and w.crm.in_flight > 0,
        serve,
    )
    serve.kill()
    serve.wait()
    assert w.ideolve.calls().get("create", 0) + w.ideolve.calls().get("comment", 0) == writes
    assert w.pending() >= 2  # received, answered 200, not applied

    w.slow_zoho(0)
    w.edit(dune, Phone="2")  # while serve is down: Zoho's calls to it fail
    w.add(Account_Name="Cole")

    again = started(w, stopping)  # the catch-up run reads what changed since the cursor
    time.sleep(0.3)
    stop(again)

    assert w.subjects() == ["Account: Acme", "Account: Bolt", "Account: Cole", "Account: Dune"]
    assert w.comments("Account: Acme") == ["<p>Phone: 1 &rarr; 2</p>"]
    assert w.comments("Account: Dune") == ["<p>Phone: 1 &rarr; 2</p>"]
    assert w.comments("Account: Bolt") == w.comments("Account: Cole") == []
    assert w.pending() == 0
    assert ("webhook", "interrupted") in w.runs()  # the killed run, marked by the restart


def test_sigterm_mid_run_exits_0_with_nothing_half_applied(
    world: Served, stopping: list[subprocess.Popen[str]]
) -> None:
    w = world
    serve = started(w, stopping)
    # Ideolve answers each call 0.3 s late: the webhook run's writes take a while
    w.ideolve.faults = Faults(latency=0.3)
    names = [f"Firm {i}" for i in range(6)]
    for name in names:
        w.add(Account_Name=name)
    w.wait("the run writing notes", lambda: len(w.subjects()) >= 1, serve)
    err = stop(serve)
    assert "stopped" in err
    at_stop = w.subjects()
    assert len(set(at_stop)) == len(at_stop)  # none twice
    assert w.runs()[-1] == ("webhook", "interrupted")  # stopped mid-run, at a safe point
    creates = w.ideolve.calls()["create"]

    w.ideolve.faults = Faults()
    again = started(w, stopping)  # the rest, and none of the stopped run's notes again
    stop(again)

    assert w.subjects() == sorted(f"Account: {name}" for name in names)  # each once
    # every note written before the stop had its link committed: none is created again
    assert w.ideolve.calls()["create"] - creates == len(names) - len(at_stop)
