"""Scenario SM's arithmetic (bench/sm_figures.py, bench/sm_world.py, bench/sm_zoho.py's spec
copy, bench/emulated.py's write records): each vendor's minimum for a round's changes, the
least time the calls take when SALESmanago is paced, the targets (each of which can fail),
the round's edits and the check person by person."""

from __future__ import annotations

import copy
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.bench_modules import load_bench

_load = load_bench


@pytest.fixture(scope="module")
def figures() -> ModuleType:
    return _load("sm_figures")


@pytest.fixture(scope="module")
def world() -> ModuleType:
    return _load("sm_world")


def _calls(kinds: dict[str, int], writes: dict[str, int]) -> dict[str, Any]:
    return {"kinds": {**kinds, **writes}, "writes": writes, "max_in_flight": 1}


def _run(
    seconds: float, sm: dict[str, int], crm: dict[str, int], written: tuple[int, int] = (0, 0)
) -> dict[str, Any]:
    """A run as the bench records it; `sm`/`crm`: calls by kind, writes named `w:<kind>`;
    `written`: the records its write calls carried to each side."""

    def side(kinds: dict[str, int]) -> dict[str, Any]:
        reads = {k: n for k, n in kinds.items() if not k.startswith("w:")}
        writes = {k[2:]: n for k, n in kinds.items() if k.startswith("w:")}
        return _calls(reads, writes)

    return {
        "seconds": seconds,
        "run_seconds": seconds - 0.5,
        "calls": {"sm": side(sm), "crm": side(crm)},
        "written": {
            side: [{"kind": "w", "keys": ["k"] * n}]
            for side, n in zip(("sm", "crm"), written, strict=True)
        },
    }


# The round the bench recorded at 10,000 people: 100 edits a side, 20 people on both
FIRST_ROUND_SM = {"paginatedModifiedContacts": 1, "listById": 2, "w:batchupsert": 3}
FIRST_ROUND_CRM = {"list": 2, "w:update": 2}


def _round(changed_seconds: float = 0.5, **overrides: Any) -> dict[str, Any]:
    check = {
        "people": [],
        **{s: {"written": 100, "missing": 0, "echoes": 0, "twice": 0} for s in ("sm", "crm")},
    }
    same_check = {
        "people": [],
        **{s: {"written": 0, "missing": 0, "echoes": 0, "twice": 0} for s in ("sm", "crm")},
    }
    row = {
        "edits": {"sm": 100, "crm": 100, "both": 20},
        "to_crm": {"Leads": 73, "Contacts": 27},
        "to_sm": {"a@x": 33, "b@x": 34, "c@x": 33},
        "read_sm": {"modified": 100, "fetch": 80},
        "read_crm": {"Leads": 70, "Contacts": 30},
        "same_read_sm": {"modified": 100, "fetch": 0},
        "same_read_crm": {"Leads": 73, "Contacts": 27},
        "changed": _run(changed_seconds, FIRST_ROUND_SM, FIRST_ROUND_CRM, (100, 100)),
        "changed_check": check,
        "same": _run(0.5, {"paginatedModifiedContacts": 1, "listById": 1}, {"list": 2}),
        "same_check": same_check,
    }
    row.update(overrides)
    return row


def _results(*rounds: dict[str, Any]) -> dict[str, Any]:
    return {
        "latency": 0.05,
        "people": 10_000,
        "world": {"users": ["a@x", "b@x", "c@x"], "modules": {"Leads": 7161, "Contacts": 2839}},
        "batch": {
            "sm": {"limit": 100, "plugin": 200, "flow": 100},
            "crm": {"limit": 100, "plugin": 100, "flow": 100},
        },
        "limits": {
            "sm": {"concurrency": 2, "calls_per_minute": 1200.0},
            "crm": {"concurrency": 5, "calls_per_minute": None},
        },
        "first": _run(26.0, {"paginatedModifiedContacts": 200, "listById": 100}, {"list": 110}),
        "same": _run(1.0, {"paginatedModifiedContacts": 1}, {"list": 2}),
        "rounds": list(rounds) or [_round()],
    }


def test_writes_go_in_calls_per_owner_and_module_each_rounded_up(figures: ModuleType) -> None:
    # SALESmanago: a batchupsert names one owner; Zoho: one endpoint per module
    assert figures.write_minimum({"a@x": 33, "b@x": 34, "c@x": 33}, 100) == 3
    assert figures.write_minimum({"Leads": 150, "Contacts": 0}, 100) == 2
    assert figures.write_minimum({"Leads": 100}, 100) == 1
    assert figures.write_minimum({}, 100) == 0


def test_reads_are_each_apis_paging_of_what_changed(figures: ModuleType) -> None:
    # SALESmanago: one listing page (up to 1,000 ids), 100 ids a listById, and the contacts an
    # upsert needs that the run did not read
    assert figures.sm_read_minimum(100, 80) == {"paginatedModifiedContacts": 1, "listById": 2}
    assert figures.sm_read_minimum(1500, 0) == {"paginatedModifiedContacts": 2, "listById": 15}
    assert figures.sm_read_minimum(0, 0) == {"paginatedModifiedContacts": 1, "listById": 0}
    # Zoho: a read per module, even of a module where nothing changed, 200 a page
    assert figures.crm_read_minimum({"Leads": 73}, ("Leads", "Contacts")) == {"list": 2}
    assert figures.crm_read_minimum({"Leads": 201, "Contacts": 200}, ("Leads", "Contacts")) == {
        "list": 3
    }


def test_the_minimum_time_takes_salesmanagos_pacing_when_it_binds(figures: ModuleType) -> None:
    limits = _results()["limits"]
    run = _run(1.0, FIRST_ROUND_SM, {"list": 2, "users": 1, "w:update": 2})

    least = figures.minimum(run, limits, 0.05)

    # SALESmanago: (3 reads + ⌈3 / 2⌉) x 0.05 = 0.25 s, but 6 calls at 20 a second take
    # 5 x 0.05 + 0.05 = 0.30 s; Zoho: (3 reads + ⌈2 / 5⌉) x 0.05 = 0.20 s
    assert least["seconds"] == pytest.approx(0.30 + 0.20)
    assert "(6 - 1) calls" in least["formula"]
    assert "update ⌈2 / 5⌉" in least["formula"]
    assert least["formula"].endswith("in all 0.50 s")
    # At 0.2 s a call the latency binds: (3 + 2) x 0.2 = 1.0 s against 5 x 0.05 + 0.2
    assert figures.minimum(run, limits, 0.2)["seconds"] == pytest.approx(1.0 + 0.8)


def test_a_round_at_every_minimum_holds(figures: ModuleType) -> None:
    results = _results()

    checks = figures.round_checks(results["rounds"][0], results["batch"])

    assert all(ok for _, ok in checks), checks
    assert figures.sm_holds(results)
    report = "\n".join(figures.sm_report(results, lambda v, f: f.format(v[0])))
    assert "**does not hold**" not in report
    assert "⌈33 / 100⌉ + ⌈34 / 100⌉ + ⌈33 / 100⌉ = 3 (the issue's ⌈100 / 100⌉ = 1)" in report


def _broken(what: str) -> dict[str, Any]:
    row = _round()
    if what == "echo":
        row["changed_check"]["sm"]["echoes"] = 1
    elif what == "wrong field":
        row["changed_check"]["people"] = ["crm: 1 fields differ: ..."]
    elif what == "missing":
        row["changed_check"]["crm"]["missing"] = 3
    elif what == "write call more":
        row["changed"]["calls"]["crm"]["writes"]["update"] = 3
        row["changed"]["calls"]["crm"]["kinds"]["update"] = 3
    elif what == "read more":
        row["changed"]["calls"]["crm"]["kinds"]["users"] = 1
    elif what == "no-change write":
        row["same"]["calls"]["sm"]["writes"]["batchupsert"] = 1
        row["same"]["calls"]["sm"]["kinds"]["batchupsert"] = 1
    elif what == "slow":
        row["changed"]["seconds"] = 0.45 * 1.3
    return row


@pytest.mark.parametrize(
    "what",
    ["echo", "wrong field", "missing", "write call more", "read more", "no-change write", "slow"],
)
def test_each_target_can_fail(figures: ModuleType, what: str) -> None:
    results = _results(_round(), _broken(what), _broken(what))

    assert not figures.sm_holds(results)
    report = "\n".join(figures.sm_report(results, lambda v, f: f.format(v[-1])))
    assert "**does not hold**" in report
    assert "Why not:" in report


def test_a_read_beyond_the_minimum_is_named_with_its_reason(figures: ModuleType) -> None:
    results = _results(_broken("read more"))

    report = "\n".join(figures.sm_report(results, lambda v, f: f.format(v[0])))

    assert "Zoho CRM read calls 3 (list 2, users 1); the minimum 2 (list 2)" in report
    assert "users 1 where 0 would do (Zoho's users, which the owner pair's" in report


def test_the_wall_target_is_the_median_ratio(figures: ModuleType) -> None:
    # minimum: SALESmanago's 6 paced calls 0.30 s + Zoho's (2 reads + ⌈2 / 5⌉) x 0.05 s
    # = 0.45 s; 0.56 / 0.45 = 1.24 holds, 0.57 / 0.45 = 1.27 does not
    fast = [_round(0.56), _round(0.56), _round(0.9)]
    slow = [_round(0.57), _round(0.57), _round(0.5)]

    assert figures.sm_holds(_results(*fast))
    assert not figures.sm_holds(_results(*slow))


def test_a_round_edits_one_percent_a_side_a_fifth_on_both_in_other_fields(
    world: ModuleType,
) -> None:
    people = [
        {
            "email": f"p{i:05d}@example.com",
            "name": f"Ann Lee{i}",
            "city": "Łódź",
            "opted_out": False,
        }
        for i in range(10_000)
    ]

    edits = world.plan_edits(people, 0)
    again = world.plan_edits(people, 1)

    sm = [e for e in edits if e["side"] == "sm"]
    crm = [e for e in edits if e["side"] == "crm"]
    assert len(sm) == len(crm) == 100
    both = {e["email"] for e in sm} & {e["email"] for e in crm}
    assert len(both) == 20
    fields = {(e["email"], e["field"]) for e in edits}
    assert len(fields) == len(edits)  # never the same field of a person on both sides
    assert not {e["email"] for e in again} & {e["email"] for e in edits}  # other people
    assert {e["field"] for e in edits} == set(world.EDITED)


def test_the_check_finds_a_person_missing_one_too_many_and_a_field_that_differs(
    world: ModuleType,
) -> None:
    base = {
        f"p{i}@x": dict.fromkeys(world.COMMON) | {"email": f"p{i}@x", "opted_out": False}
        for i in range(3)
    }
    edits = [{"side": "sm", "email": "p1@x", "field": "phone", "value": "+48 1"}]
    want = world.expected(base, edits)
    found = copy.deepcopy(want)

    assert world.differences("crm", found, want) == []
    del found["p0@x"]
    found["p9@x"] = dict(want["p1@x"])
    found["p1@x"]["phone"] = None
    wrong = world.differences("crm", found, want)

    assert wrong == [
        "crm: 1 people missing (p0@x)",
        "crm: 1 people too many (p9@x)",
        "crm: 1 fields differ: p1@x phone None (want '+48 1')",
    ]


SPEC = """\
connections:
  sm:
    config:
      server: app3
      base_url: ${{env:SALESMANAGO_URL:-https://app3.salesmanago.com}}
{skew}      owner: ${{env:SALESMANAGO_OWNER}}
  crm:
    config:
      data_center: eu
      accounts_url: ${{env:ZOHO_ACCOUNTS_URL:-https://accounts.zoho.eu}}
flows:
  contacts:
    fields:
      - {{sm: email, crm: Email}}
{pairs}      - sm: state                            # SM-3
        crm: $object
"""
PAIRS = """\
      - sm: company                          # Leads carry Company
        crm: Company
        to_sm: "Company || Account_Name.name"
      - sm: birthday
        crm: Date_of_Birth
"""


def test_the_bench_copy_points_the_spec_at_the_emulators_and_keeps_every_pair() -> None:
    zoho = _load("sm_zoho")

    text = zoho.bench_spec(SPEC.format(skew="", pairs=PAIRS))

    assert text == SPEC.format(skew="", pairs=PAIRS).replace(
        "      server: app3\n", "      server: app3\n      clock_skew: 0\n"
    )


def test_the_bench_copy_refuses_a_spec_that_would_call_the_real_systems() -> None:
    zoho = _load("sm_zoho")
    fixed = SPEC.format(skew="", pairs=PAIRS).replace(
        "${env:ZOHO_ACCOUNTS_URL:-https://accounts.zoho.eu}", "https://accounts.zoho.eu"
    )

    with pytest.raises(SystemExit, match="ZOHO_ACCOUNTS_URL"):
        zoho.bench_spec(fixed)


def test_the_bench_copy_keeps_the_specs_own_clock_skew() -> None:
    zoho = _load("sm_zoho")

    text = zoho.bench_spec(SPEC.format(skew="      clock_skew: 5\n", pairs=PAIRS))

    assert text.count("clock_skew") == 1
    assert "clock_skew: 5" in text


def test_the_bench_copy_of_the_real_spec_loads_and_differs_only_in_the_named_lines(
    tmp_path: Path,
) -> None:
    from integrate.build import load_spec
    from integrate.plugins import make_plugins

    zoho = _load("sm_zoho")
    real = zoho.SPEC.read_text().splitlines()

    text = zoho.bench_spec(zoho.SPEC.read_text())

    copy_lines = text.splitlines()
    assert {line.strip() for line in copy_lines if line not in real} <= {"clock_skew: 0"}
    assert [line for line in real if line not in copy_lines] == []
    (tmp_path / "spec.yaml").write_text(text)
    spec = load_spec(tmp_path / "spec.yaml", make_plugins(), strict_env=False)
    assert list(spec.flows) == ["contacts"]


def test_the_records_a_write_carries_are_read_from_its_body() -> None:
    emulated = _load("emulated")

    zoho = b'{"data": [{"id": "41", "Phone": "1"}, {"Email": "new@x"}], "trigger": []}'
    sm = b'{"owner": "a@x", "upsertDetails": [{"contact": {"email": "A@x"}}, {"contact": {}}]}'
    assert emulated.keys(zoho) == ["41", "new@x"]
    assert emulated.keys(sm) == ["A@x"]
    assert emulated.keys(b'{"contact": {"email": "b@x"}}') == ["b@x"]
    assert emulated.keys(b"not json") == []
    # Every SALESmanago call is a POST: its reads are not writes
    assert emulated.is_write("salesmanago", "POST", "batchupsert")
    assert not emulated.is_write("salesmanago", "POST", "listById")
    assert emulated.is_write("zoho_crm", "PUT", "update")
    assert not emulated.is_write("zoho_crm", "POST", "token")
