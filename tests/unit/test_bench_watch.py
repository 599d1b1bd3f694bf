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


def cs_size(clients: int, delays: list[float], looks: int, calls: dict[str, int]) -> dict[str, Any]:
    rounds = [{"delays": delays, "idle_seconds": 3.0, "idle_looks": looks, "idle_calls": calls}]
    return {"clients": clients, "per_client": 5, "rounds": rounds}


def cs_report(watch: ModuleType, *sizes: dict[str, Any]) -> list[str]:
    return watch.w_report({**figures([0.3], 4, {"list": 4}), "cs": list(sizes)}, median_range)


def cs_verdicts(watch: ModuleType, clients: int, *sizes: dict[str, Any]) -> str:
    prefix = f"- {clients} clients of 5 contacts"
    return next(line for line in cs_report(watch, *sizes) if line.startswith(prefix))


def test_clientsuccess_rows_give_each_size_its_delay_and_calls_per_look(watch: ModuleType) -> None:
    small = cs_size(2, [0.7, 1.3], 3, {"list": 9, "auth": 3})
    large = cs_size(10, [1.9, 2.3], 3, {"list": 33, "auth": 3})

    rows = [line for line in cs_report(watch, small, large) if line.startswith("| clientsuccess")]

    assert rows == [
        "| clientsuccess (contacts, no modification date; 2 clients of 5 contacts) | 1.000 | "
        "1.300 | 4.00 |",
        "| clientsuccess (contacts, no modification date; 10 clients of 5 contacts) | 2.100 | "
        "2.300 | 12.00 |",
    ]


def test_a_clientsuccess_look_listing_each_client_once_holds_but_is_more_than_one_call(
    watch: ModuleType,
) -> None:
    text = cs_verdicts(watch, 2, cs_size(2, [0.7, 1.3], 3, {"list": 9, "auth": 3}))

    assert "(≤ 2 s here): **holds**" in text
    assert "(3 `list`), nothing written: **holds**" in text
    assert "per watched object: **does not hold** (4 calls a look, 1 of them a login)" in text


def test_a_late_clientsuccess_change_or_a_look_listing_a_client_twice_does_not_hold(
    watch: ModuleType,
) -> None:
    late = cs_verdicts(watch, 10, cs_size(10, [1.9, 2.3], 3, {"list": 33, "auth": 3}))
    twice = cs_verdicts(watch, 2, cs_size(2, [0.7], 3, {"list": 10, "auth": 3}))
    written = cs_verdicts(watch, 2, cs_size(2, [0.7], 3, {"list": 9, "update": 1}))

    assert "(≤ 2 s here): **does not hold**" in late
    assert "nothing written: **does not hold**" in twice
    assert "nothing written: **does not hold**" in written


def test_a_report_recorded_before_the_clientsuccess_round_keeps_its_row_open(
    watch: ModuleType,
) -> None:
    lines = watch.w_report(figures([0.3], 4, {"list": 4}), median_range)

    assert "| clientsuccess (contacts, no modification date) | to be recorded | | |" in lines
