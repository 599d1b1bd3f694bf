"""T6: server errors (500 or 503) on 20 % of the calls, seeded: a create answered 5xx may or
may not have been carried out, so it is never resent blindly. The record is looked for by its
match key in a fresh read of the target, linked when found, created again when not; the run
goes on. The target ends equal to the source, without a duplicate."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock, Faults
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import write_jsonl
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_env
from tests.reliability.harness import reasons, run_in_process, scale

ZOHO_SPEC = """\
integrate: 1
name: companies-to-zoho
connections:
  src: {plugin: files, config: {path: ./src}}
%(crm)s
flows:
  accounts:
    from: src.companies
    to: crm.Accounts
    match: [[name, Account_Name]]
    unmatched: create
    fields:
      Account_Name: name
      Phone: phone
      Website: site
""" % {"crm": zoho_connection(data_center="com")}  # noqa: UP031  (the braces are YAML's)

SDP_SPEC = """\
integrate: 1
name: companies-to-sdp
connections:
  src: {plugin: files, config: {path: ./src}}
  sdp:
    plugin: servicedesk_msp
    config: {url: "http://sdp.test", technician_key: "${env:SDP_TECHNICIAN_KEY}"}
flows:
  accounts:
    from: src.companies
    to: sdp.accounts
    match: [[name, name]]
    unmatched: create
    fields: {name: name, phone: phone, city: city}
"""


def companies(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"c{i}",
            "name": f"Company {i:05d}",
            "phone": f"+44 113 {i:06d}",
            "site": f"https://c{i}.example",
            "city": "Leeds" if i % 2 else "York",
        }
        for i in range(n)
    ]


def faults(status: int) -> Faults:
    """20 % of the calls fail with `status`: half refused before anything is done, half
    carried out and then answered with the error (the outcome lost)."""
    return Faults(
        server_error=0.1, lose_answer=0.1, error_status=status, spare=frozenset({"token"})
    )


@pytest.mark.parametrize("status", [500, 503])
def test_T6_zoho_creates_answered_5xx_are_found_or_made_again_never_twice(
    status: int, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = scale(1500, 10_000)
    source = companies(size)
    write_jsonl(workdir / "src/companies.jsonl", source)
    Path("spec.yaml").write_text(ZOHO_SPEC)
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, seed=6, faults=faults(status)) as crm:
        zoho_env(monkeypatch, crm)

        report = run_in_process("spec.yaml", {"crm": crm.transport()}, clock)

        calls = crm.calls()
        assert calls["fault:lost"] > 0  # made, then answered 5xx
        assert calls[f"fault:{status}"] > 0  # refused with a 5xx
        accounts = crm.records("Accounts")
        again = run_in_process("spec.yaml", {"crm": crm.transport()}, clock)
    assert report.status == "succeeded", report.error
    assert report.flows[0].total("created") == size
    names = Counter(a["Account_Name"] for a in accounts)
    assert [n for n, count in names.items() if count > 1] == []  # 0 duplicates
    assert {(c["name"], c["phone"], c["site"]) for c in source} == {
        (a["Account_Name"], a["Phone"], a["Website"]) for a in accounts
    }
    # Inserts carried out though answered 5xx were found and linked, not sent again; those
    # refused were made again; the summary says which.
    assert reasons(report, "found in crm.Accounts by its match key") > 0
    assert reasons(report, "crm.Accounts did not have it: made again") > 0
    # Looking costs one read of the target per round, at most 3 rounds (the records were
    # made in one second of the fake clock: a read pages that second by offset, one more call).
    assert report.calls["crm"]["kinds"]["read:list"] <= 1 + 3 * (math.ceil(size / 200) + 2)
    # A rerun with nothing changed writes nothing.
    assert (again.status, again.calls["crm"]["writes"]) == ("succeeded", 0)


def test_T6_sdp_creates_answered_5xx_are_found_or_made_again_never_twice(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = companies(300)
    write_jsonl(workdir / "src/companies.jsonl", source)
    Path("spec.yaml").write_text(SDP_SPEC)
    clock = FakeClock()
    with ServiceDeskMspEmulator(clock=clock, seed=6, faults=faults(500)) as sdp:
        monkeypatch.setenv("SDP_TECHNICIAN_KEY", sdp.technician_key)

        report = run_in_process("spec.yaml", {"sdp": sdp.transport()}, clock)

        assert sdp.calls()["fault:lost"] > 0
        accounts = sdp.records("accounts")
    assert report.status == "succeeded", report.error
    assert report.flows[0].total("created") == 300
    names = Counter(a["name"] for a in accounts)
    assert [n for n, count in names.items() if count > 1] == []
    assert {(c["name"], c["phone"], c["city"]) for c in source} == {
        (a["name"], a["phone"], a["city"]) for a in accounts if a["name"].startswith("Company")
    }
    assert reasons(report, "found in sdp.accounts by its match key") > 0


def test_T6_a_create_refused_every_round_waits_for_the_next_run_then_lands(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = companies(30)
    write_jsonl(workdir / "src/companies.jsonl", source)
    Path("spec.yaml").write_text(ZOHO_SPEC)
    clock = FakeClock()
    every_insert = Faults(server_error=1.0, spare=frozenset({"token", "list", "fields", "modules"}))
    with ZohoCrmEmulator(clock=clock, seed=6, faults=every_insert) as crm:
        zoho_env(monkeypatch, crm)

        first = run_in_process("spec.yaml", {"crm": crm.transport()}, clock)

        assert crm.records("Accounts") == []
        crm.faults = Faults()
        second = run_in_process("spec.yaml", {"crm": crm.transport()}, clock)
        accounts = crm.records("Accounts")
    assert first.status == "completed_with_errors"
    assert first.flows[0].total("failed") == 30
    assert reasons(first, "got no clear answer 4 times; it is looked for again on the next run")
    assert first.calls["crm"]["kinds"]["write:insert"] == 4  # the first try and 3 rounds
    assert second.status == "succeeded"
    assert second.flows[0].total("created") == 30
    assert sorted(a["Account_Name"] for a in accounts) == [c["name"] for c in source]
