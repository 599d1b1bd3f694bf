"""SIGTERM and SIGINT stop a run cleanly: at the next safe point (the batch in flight is
written and committed first), recorded `interrupted` with its counts, exit 143 / 130. A second
signal stops it at once, still recorded. A run whose process died (SIGKILL) is marked
`interrupted` by the next run that takes the lock.

`integrate run` runs in a subprocess (signals go to it by pid) from a files source into the
ServiceDesk Plus emulator served on loopback with 20 ms of latency a call: one create is one
call, so a batch of 5 takes 0.1 s and the run is mid-way when the test signals it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate import Faults
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from tests.conftest import write_jsonl

ACCOUNTS = 40
SPEC = """\
integrate: 1
name: signals
connections:
  src: {plugin: files, config: {path: ./src}}
  sdp:
    plugin: servicedesk_msp
    config: {url: "${env:SDP_URL}", technician_key: "${env:SDP_TECHNICIAN_KEY}"}
flows:
  customers:
    from: src.customers
    to: sdp.accounts
    batch_size: 5
    match: [[name, name]]
    fields: {name: name, city: city}
"""


class World:
    """The served SDP emulator, the spec and its source, in the test's folder."""

    def __init__(self, root: Path):
        self.root = root
        self.sdp = ServiceDeskMspEmulator(seed=3, faults=Faults(latency=0.02))
        self.env = {"SDP_URL": self.sdp.serve(), "SDP_TECHNICIAN_KEY": self.sdp.technician_key}
        (root / "spec.yaml").write_text(SPEC)
        write_jsonl(
            root / "src/customers.jsonl",
            [
                {"id": f"c{i}", "name": f"Customer {i:02d}", "city": "Leeds"}
                for i in range(ACCOUNTS)
            ],
        )

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "integrate", "run", "spec.yaml", "--state", "state.db"],
            cwd=self.root,
            env={**os.environ, **self.env, "INTEGRATE_HOME": str(self.root / ".integrate")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def created(self) -> int:
        return len(self.sdp.records("accounts"))

    def mid_run(self, process: subprocess.Popen[str], at_least: int = 5) -> None:
        """Wait (bounded) until the run has created `at_least` accounts and is still going."""
        deadline = time.monotonic() + 30
        while self.created() < at_least and process.poll() is None:
            assert time.monotonic() < deadline, "the run created nothing in 30 s"
            time.sleep(0.005)
        assert process.poll() is None, "the run ended before the test could signal it"

    def links(self) -> int:
        db = sqlite3.connect(self.root / "state.db")
        try:
            return int(db.execute("SELECT COUNT(*) FROM links").fetchone()[0])
        finally:
            db.close()

    def runs(self, cli: Any) -> list[dict[str, Any]]:
        shown = cli("state", "show", "spec.yaml", "--state", "state.db", "--json")
        assert shown.exit_code == 0, shown.output
        runs: list[dict[str, Any]] = json.loads(shown.stdout)["runs"]
        return runs

    def finish(self, cli: Any) -> None:
        """A run to the end, fast: every account once."""
        self.sdp.faults.latency = 0
        result = cli("run", "spec.yaml", "--state", "state.db", env=self.env)
        assert result.exit_code == 0, result.output
        names = [a["name"] for a in self.sdp.records("accounts")]
        assert sorted(names) == [f"Customer {i:02d}" for i in range(ACCOUNTS)]


@pytest.fixture
def world(workdir: Path) -> Iterator[World]:
    made = World(workdir)
    yield made
    made.sdp.close()


@pytest.mark.parametrize(
    ("signum", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")]
)
def test_a_signal_stops_the_run_after_the_batch_in_flight_and_records_it_interrupted(
    world: World, cli: Any, signum: int, code: int, name: str
) -> None:
    process = world.start()
    world.mid_run(process)

    process.send_signal(signum)
    _out, err = process.communicate(timeout=30)

    assert process.returncode == code, err
    assert f"the run was interrupted by {name}: stopped after the last committed batch" in err
    assert "Traceback" not in err
    created = world.created()
    assert 0 < created < ACCOUNTS
    assert world.links() == created  # every write the system took is recorded
    assert created % 5 == 0  # whole batches: it stopped between them
    [run] = world.runs(cli)
    assert run["status"] == "interrupted"
    assert run["finished_at"]
    [flow] = run["stats"]["flows"]
    assert flow["totals"]["created"] == created
    world.finish(cli)


def test_a_second_signal_stops_at_once_and_the_run_is_still_recorded(
    world: World, cli: Any
) -> None:
    process = world.start()
    world.mid_run(process)

    # two signals, two numbers: even if both arrive before Python handles the first, the
    # handlers run one after the other (a repeated SIGTERM could merge into one)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)

    assert process.returncode == 143, err
    assert "the run was stopped at once by a second SIGTERM" in err
    assert "Traceback" not in err
    [run] = world.runs(cli)
    assert run["status"] == "interrupted"
    assert world.created() < ACCOUNTS
    world.finish(cli)  # what the lost batch wrote is matched by name, not created twice


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted_by_the_next_run(
    world: World, cli: Any
) -> None:
    process = world.start()
    world.mid_run(process)

    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    [left] = world.runs(cli)
    assert left["status"] == "running"
    world.finish(cli)

    second, first = world.runs(cli)
    assert first["status"] == "interrupted"
    assert "its process ended before the run did" in first["message"]
    assert second["status"] == "succeeded"
    shown = cli("state", "show", "spec.yaml", "--state", "state.db")
    assert f"#{first['run_id']} " in shown.stdout
    assert "interrupted" in shown.stdout
