"""Scenario E's verdicts (bench/events.py): a comment later than 2 s after its Zoho edit must
read "does not hold", and the report names the share that bounds the delay."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.bench_modules import ROOT, load_bench


@pytest.fixture(scope="module")
def events() -> ModuleType:
    sys.path.insert(0, str(Path(ROOT / "bench")))  # events.py imports latency.py as bench does
    try:
        return load_bench("events")
    finally:
        sys.path.remove(str(Path(ROOT / "bench")))


def median_range(values: list[float], fmt: str = "{:.3f}") -> str:
    return fmt.format(statistics.median(values))


def edit(delay: float, delivery: float, to_run: float, run: float) -> dict[str, Any]:
    return {"delay": delay, "delivery": delivery, "to_run": to_run, "run": run,
            "crm_calls": {"list": 3, "related": 1}}  # fmt: skip


def verdict(events: ModuleType, *edits: dict[str, Any]) -> str:
    e = {"accounts": 5, "edits": len(edits), "gap": 1.0, "rounds": [{"edits": list(edits)}]}
    return next(line for line in events.e_report(e, median_range) if line.startswith("Target"))


def test_comments_within_two_seconds_hold(events: ModuleType) -> None:
    text = verdict(events, edit(0.2, 0.02, 0.04, 0.14), edit(1.9, 0.02, 0.04, 1.84))

    assert "**holds** (slowest 1.900 s)" in text
    assert text.endswith("the run's reads and the comment write.")


def test_one_late_comment_does_not_hold_and_the_bound_is_named(events: ModuleType) -> None:
    text = verdict(events, edit(0.2, 0.02, 0.04, 0.14), edit(2.5, 2.3, 0.05, 0.15),
                   edit(2.4, 2.2, 0.05, 0.15))  # fmt: skip

    assert "**does not hold** (slowest 2.500 s)" in text
    assert text.endswith("(the largest median share): callback delivery.")
