"""Scenario F's figures (bench/pushdown.py), at a small size: the pushed read asks for the
matching accounts only and both ways write the same records (issue 12, CS-1)."""

from __future__ import annotations

from tests.unit.bench_modules import load_bench


def test_scenario_f_reads_only_the_matching_tenth_and_writes_the_same() -> None:
    figures = load_bench("pushdown").scenario_f(400)
    pushed, full = figures["pushed"]["first"], figures["full"]["first"]
    assert figures["matching"] == 40
    assert figures["same_targets"] is True
    assert (pushed["read"], full["read"]) == (40, 400)
    assert pushed["answered"] == 40  # what Zoho sent: the matching accounts only
    assert full["answered"] > 400  # every account, each page's last second twice
    assert pushed["calls"].get("list", 0) == 0
    assert pushed["calls"]["coql"] == 1
    assert full["calls"]["list"] == 3  # 400 rows, 200 a page, by key
    assert pushed["credits"] == 3 + 2  # a COQL query at LIMIT 2000; modules and fields
    report = "\n".join(load_bench("pushdown").f_report(figures))
    assert "Both ways write the same records: yes." in report
