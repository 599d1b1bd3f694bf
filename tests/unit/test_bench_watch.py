"""Scenario W's verdicts (bench/watch.py): a late change or an idle look that costs more
than one list call must read "does not hold"."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.bench_modules import ROOT, load_bench


@pytest.fixture(scope="module")
def watch() -> ModuleType:
    sys.path.insert(0, str(Path(ROOT / "bench")))  # watch.py imports latency.py as bench does
    try:
        return load_bench("watch")
    finally:
        sys.path.remove(str(Path(ROOT / "bench")))


def median_range(values: list[float], fmt: str = "{:.3f}") -> str:
    return fmt.format(statistics.median(values))


def figures(delays: list[float], looks: int, calls: dict[str, int]) -> dict[str, Any]:
    rounds = [{"delays": delays, "idle_seconds": 4.5, "idle_looks": looks, "idle_calls": calls}]
    return {"interval": 1.0, "latency": 0.0, "people": 50, "rounds": rounds}


def verdicts(watch: ModuleType, w: dict[str, Any]) -> str:
    return next(line for line in watch.w_report(w, median_range) if line.startswith("Targets"))


def test_on_time_changes_and_one_list_a_look_hold(watch: ModuleType) -> None:
    text = verdicts(watch, figures([0.3, 1.2], 4, {"list": 4}))

    assert text.count("**holds**") == 2


def test_a_late_change_and_an_idle_look_costing_two_calls_do_not_hold(watch: ModuleType) -> None:
    late = verdicts(watch, figures([0.3, 2.5], 4, {"list": 4}))
    costly = verdicts(watch, figures([0.3], 4, {"list": 4, "metadata": 4}))

    assert "(≤ 2 s here): **does not hold**" in late
    assert "since the cursor): **does not hold**" in costly
