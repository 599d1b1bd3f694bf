"""Stopping a run: the signal handlers (first signal asks, second stops at once, the old
handlers come back) and the safe points of a run asked to stop (whole batches, recorded)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from integrate.build import load_spec
from integrate.engine import RunOptions, run_spec
from integrate.engine.runner import RunInterrupted
from integrate.engine.stop import StopNow, StopRequest, stopping_on_signals
from integrate.plugins import make_plugins
from integrate.state import StateStore
from tests.conftest import people_sync, read_jsonl


def test_the_first_signal_asks_the_second_stops_at_once_and_old_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    stop = StopRequest()

    with stopping_on_signals(stop):
        os.kill(os.getpid(), signal.SIGTERM)
        asked = stop.signum
        with pytest.raises(StopNow) as raised:
            os.kill(os.getpid(), signal.SIGINT)

    assert asked == signal.SIGTERM
    assert raised.value.signum == signal.SIGINT
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_run_asked_to_stop_ends_after_a_committed_batch(workdir: Path) -> None:
    people = [{"id": str(i), "email": f"p{i}@x.com"} for i in range(95)]
    path = people_sync(workdir, people, name="stop", more="    batch_size: 10\n")
    plugins = make_plugins()
    spec = load_spec(path, plugins)
    stop = StopRequest()
    seen: list[Any] = []

    def observe(change: Any) -> None:
        seen.append(change)
        if len(seen) == 23:  # in the middle of the third batch
            stop.request(signal.SIGTERM)

    options = RunOptions(state_path=workdir / "state.db", observer=observe, stop=stop)
    with pytest.raises(RunInterrupted) as raised:
        run_spec(spec, plugins, options)

    assert raised.value.exit_code == 143
    assert raised.value.report.status == "interrupted"
    written = read_jsonl(workdir / "dst/people.jsonl")
    assert len(written) == 30  # the batch in flight was written and committed, no more
    store = StateStore(workdir / "state.db", "stop")
    try:
        [run] = store.runs()
        assert store.count_links() == {"people": 30}
    finally:
        store.close()
    assert run["status"] == "interrupted"
    assert run["stats"]["flows"][0]["totals"]["created"] == 30
    assert "interrupted by SIGTERM" in json.dumps(run["message"])
