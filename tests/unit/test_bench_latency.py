"""Scenario L's arithmetic (bench/latency.py) and run.py's partial recording: the minimum is
the issue's formula, the in-flight target fails both below and above the limit, and a
scenario recorded on its own leaves every other section of RESULTS.md as it was."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.unit.bench_modules import load_bench

_load = load_bench


@pytest.fixture(scope="module")
def latency() -> ModuleType:
    return _load("latency")


def _run(
    seconds: float, crm_reads: int, sdp: dict[str, int], sdp_most: int, crm_most: int = 1
) -> dict[str, Any]:
    writes = {k: n for k, n in sdp.items() if not k.startswith("list:")}
    return {
        "accounts": 1000,
        "contacts": 3000,
        "seconds": seconds,
        "calls": {
            "crm": {"kinds": {"list": crm_reads}, "writes": {}, "max_in_flight": crm_most},
            "sdp": {"kinds": sdp, "writes": writes, "max_in_flight": sdp_most},
        },
    }


ISSUE = {"list:accounts": 41, "update:accounts": 1000, "create:requesters": 3000}


def test_the_minimum_is_reads_in_turn_plus_each_write_kind_at_the_connections_concurrency(
    latency: ModuleType,
) -> None:
    # The issue's figures: (24 + 41 reads) times 0.05 + ⌈4,000 / 5⌉ times 0.05 = 43.25 s
    least = latency.minimum(_run(221, 24, ISSUE, 1), {"crm": 5, "sdp": 5}, 0.05)

    assert least["seconds"] == pytest.approx(65 * 0.05 + 800 * 0.05)
    assert least["calls"] == 4065
    assert "crm 24 + sdp 41 reads" in least["formula"]
    assert "⌈3,000 / 5⌉" in least["formula"]
    assert least["formula"].endswith("= 43.25 s")
    # Each kind rounds up on its own: ⌈1,001 / 2⌉ + ⌈3,001 / 2⌉ = 501 + 1,501
    odd = {"update:accounts": 1001, "create:requesters": 3001}
    assert latency.minimum(_run(0, 0, odd, 1), {"crm": 5, "sdp": 2}, 1.0)["seconds"] == 2002


@pytest.mark.parametrize(
    ("seconds", "sdp_most", "holds"),
    [
        (50.0, 5, True),  # 1.16 times the minimum, writes at the limit
        (221.0, 1, False),  # the issue's run: one call at a time
        (50.0, 6, False),  # fast, but above the connection's concurrency
        (50.0, 4, False),  # never reached the limit
        (60.0, 5, False),  # 1.39 times the minimum
    ],
)
def test_the_target_needs_the_ratio_and_exactly_the_limit_in_flight(
    latency: ModuleType, seconds: float, sdp_most: int, holds: bool
) -> None:
    scenario = {
        "latency": 0.05,
        "concurrency": {"crm": 5, "sdp": 5},
        "runs": [_run(seconds, 24, ISSUE, sdp_most)],
    }

    assert latency.l_holds(scenario) is holds
    report = "\n".join(latency.l_report(scenario, lambda v, f: f.format(v[0])))
    assert ("**does not hold**" in report) is not holds


def test_a_connection_that_only_reads_may_stay_below_its_limit_but_never_above(
    latency: ModuleType,
) -> None:
    def scenario(crm_most: int) -> dict[str, Any]:
        runs = [_run(50.0, 24, ISSUE, 5, crm_most=crm_most)]
        return {"latency": 0.05, "concurrency": {"crm": 5, "sdp": 5}, "runs": runs}

    assert latency.l_holds(scenario(1))
    assert not latency.l_holds(scenario(6))


def test_a_scenario_recorded_on_its_own_leaves_the_other_sections_as_they_were() -> None:
    run = _load("run")
    old = "# Results\n\nold header\n\n## A: economy\n\nold A words\n\n## T: speed\n\nold T\n"
    new = "# Results\n\nnew header\n\n## A: economy\n\nnew A words\n\n## L: latency\n\nnew L\n"

    spliced = run.splice(old, new, {"L"})

    assert spliced == (
        "# Results\n\nnew header\n\n## A: economy\n\nold A words\n\n"
        "## T: speed\n\nold T\n\n## L: latency\n\nnew L\n\n"
    )
    assert "new A words" in run.splice(old, new, {"A", "L"})
