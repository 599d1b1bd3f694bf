"""A one-way flow's filter pushed down into Zoho's COQL (issue 12, CS-1): only the matching
accounts are read, the target gets exactly what a full read gives it, a record that stops
matching is left alone, and a filter that cannot be pushed reads everything as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate.build import load_spec
from integrate.engine import RunOptions, RunReport, run_spec
from integrate.plugins import make_plugins
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import START, zoho_env

PUSHED = "Account_Status == 'Customer' || Sync_with_ClientSuccess == `true`"
# the same filter, but for a branch no query language can say: read in full
NOT_PUSHED = PUSHED + " || contains(`[]`, Account_Name)"
SPEC = """\
integrate: 1
name: crm-clients
connections:
  crm:
    plugin: zoho_crm
    config:
      data_center: com
      client_id: ${env:ZOHO_CLIENT_ID}
      client_secret: ${env:ZOHO_CLIENT_SECRET}
      refresh_token: ${env:ZOHO_REFRESH_TOKEN}
  out: {plugin: files, config: {path: ./out}}
flows:
  clients:
    from: crm.Accounts
    to: out.clients
    filter: "%s"
    match: [[id, crm_id]]
    fields:
      crm_id: id
      name: Account_Name
      phone: Phone
"""
ACCOUNTS = 500  # 10% match, 25 a second


def seeded(clock: FakeClock) -> ZohoCrmEmulator:
    emulator = ZohoCrmEmulator(clock=clock)
    rows = []
    for i in range(ACCOUNTS):
        status = "Customer" if i % 20 == 0 else "Prospect" if i % 3 else None
        rows.append(
            {
                "Account_Name": f"Account {i:04d}",
                "Phone": f"+44 20 7946 {i:04d}",
                "Account_Status": status,
                "Sync_with_ClientSuccess": i % 20 == 10,
            }
        )
    for start in range(0, ACCOUNTS, 25):
        emulator.seed("Accounts", rows[start : start + 25])
        clock.advance(1)
    return emulator


def run(emulator: ZohoCrmEmulator, clock: FakeClock, text: str) -> RunReport:
    Path("spec.yaml").write_text(SPEC % text.replace('"', '\\"'))
    plugins = make_plugins()
    spec = load_spec("spec.yaml", plugins)
    clock.advance(2)
    return run_spec(
        spec, plugins, RunOptions(transports={"crm": emulator.transport()}, clock=clock)
    )


def matching(emulator: ZohoCrmEmulator) -> set[str]:
    return {
        r["Account_Name"]
        for r in emulator.records("Accounts")
        if r["Account_Status"] == "Customer" or r["Sync_with_ClientSuccess"] is True
    }


def totals(report: RunReport) -> dict[str, Any]:
    out: dict[str, Any] = report.flows[0].as_dict()
    return out


def written(path: str = "out/clients.jsonl") -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in read_jsonl(Path(path))}


@pytest.fixture
def zoho(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ZohoCrmEmulator, FakeClock]:
    clock = FakeClock(START)
    emulator = seeded(clock)
    zoho_env(monkeypatch, emulator)
    return emulator, clock


def test_a_pushed_filter_reads_only_the_matching_accounts_and_writes_what_a_full_read_does(
    zoho: tuple[ZohoCrmEmulator, FakeClock], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CS-1
    emulator, clock = zoho
    wanted = matching(emulator)
    assert len(wanted) == ACCOUNTS // 10

    report = run(emulator, clock, PUSHED)

    calls = emulator.calls()
    assert calls.get("coql") == 1  # 50 rows: one query
    assert calls.get("list", 0) == 0
    assert emulator.records_answered() == {"coql": len(wanted)}
    assert totals(report)["read"] == {"source": len(wanted)}
    assert totals(report)["totals"]["created"] == len(wanted)
    pushed = written()
    assert set(pushed) == wanted

    # the same data read in full, the filter applied by the engine alone
    clock_b = FakeClock(START)
    other = seeded(clock_b)
    zoho_env(monkeypatch, other)
    Path("out/clients.jsonl").rename("pushed.jsonl")
    Path(".integrate").rename(".integrate-pushed")
    report = run(other, clock_b, NOT_PUSHED)
    assert other.calls().get("coql", 0) == 0
    assert other.calls()["list"] >= ACCOUNTS // 200
    assert other.records_answered()["list"] >= ACCOUNTS
    assert totals(report)["read"] == {"source": ACCOUNTS}
    assert written() == pushed


def test_a_record_that_stops_matching_is_left_alone(
    zoho: tuple[ZohoCrmEmulator, FakeClock],
) -> None:
    emulator, clock = zoho
    run(emulator, clock, PUSHED)
    before = written()
    by_name = {r["Account_Name"]: r for r in emulator.records("Accounts")}
    leaving, edited, joining = "Account 0000", "Account 0020", "Account 0001"
    emulator.change("Accounts", by_name[leaving]["id"], {"Account_Status": "Former Customer"})
    emulator.change("Accounts", by_name[edited]["id"], {"Phone": "+44 1 2345"})
    emulator.change("Accounts", by_name[joining]["id"], {"Sync_with_ClientSuccess": True})
    calls = dict(emulator.calls())

    report = run(emulator, clock, PUSHED)

    after = written()
    assert after[leaving] == before[leaving]  # not deleted, not changed
    assert after[edited]["phone"] == "+44 1 2345"
    assert joining in after
    assert joining not in before
    assert set(after) == set(before) | {joining}
    # only what matches now and changed since is read
    assert totals(report)["read"] == {"source": 2}
    assert totals(report)["totals"]["created"] == 1
    assert totals(report)["totals"]["updated"] == 1
    assert emulator.calls()["coql"] - calls.get("coql", 0) == 1
    assert emulator.calls().get("list", 0) == calls.get("list", 0)


def test_a_filter_that_stops_being_pushed_loses_and_repeats_nothing(
    zoho: tuple[ZohoCrmEmulator, FakeClock],
) -> None:
    emulator, clock = zoho
    run(emulator, clock, PUSHED)
    by_name = {r["Account_Name"]: r for r in emulator.records("Accounts")}
    wanted = matching(emulator)
    last = max(
        (r for r in emulator.records("Accounts") if r["Account_Name"] in wanted),
        key=lambda r: (r["Modified_Time"], int(r["id"])),
    )
    emulator.change("Accounts", by_name["Account 0040"]["id"], {"Phone": "+44 9"})

    report = run(emulator, clock, NOT_PUSHED)

    # read by Get Records from the COQL read's cursor: the records modified since its last
    # second, less the matching ones of that second it had read already
    records = emulator.records("Accounts")
    at_or_after = [r for r in records if r["Modified_Time"] >= last["Modified_Time"]]
    already = [
        r
        for r in at_or_after
        if r["Modified_Time"] == last["Modified_Time"] and r["Account_Name"] in wanted
    ]
    assert totals(report)["read"] == {"source": len(at_or_after) - len(already)}
    assert totals(report)["totals"]["updated"] == 1
    assert totals(report)["totals"]["created"] == 0
    assert written()["Account 0040"]["phone"] == "+44 9"

    # and back: pushed again from the plain read's cursor
    emulator.change("Accounts", by_name["Account 0060"]["id"], {"Phone": "+44 8"})
    report = run(emulator, clock, PUSHED)
    assert totals(report)["read"] == {"source": 1}
    assert totals(report)["totals"]["updated"] == 1
    assert written()["Account 0060"]["phone"] == "+44 8"


BETWEEN = """\
integrate: 1
name: crm-clients-between
connections:
  crm:
    plugin: zoho_crm
    config:
      data_center: com
      client_id: ${env:ZOHO_CLIENT_ID}
      client_secret: ${env:ZOHO_CLIENT_SECRET}
      refresh_token: ${env:ZOHO_REFRESH_TOKEN}
  cs: {plugin: files, config: {path: ./cs}}
flows:
  clients:
    between: [cs.clients, crm.Accounts]
    direction: to_cs
    filter:
      crm: "%s"
    match:
      - [crm_id, id]
    unmatched: create
    fields:
      - {cs: crm_id, crm: id}
      - {cs: name, crm: Account_Name}
"""


def test_a_flow_written_one_way_by_direction_pushes_its_filter_as_the_clientsuccess_spec_does(
    zoho: tuple[ZohoCrmEmulator, FakeClock],
) -> None:
    # CS-1 with CS-4's `direction: to_cs`, as specs/clientsuccess-zoho_crm.yaml writes it
    emulator, clock = zoho
    Path("spec.yaml").write_text(BETWEEN % PUSHED.replace('"', '\\"'))
    plugins = make_plugins()
    spec = load_spec("spec.yaml", plugins)
    report = run_spec(
        spec, plugins, RunOptions(transports={"crm": emulator.transport()}, clock=clock)
    )
    assert emulator.calls().get("coql") == 1
    assert emulator.calls().get("list", 0) == 0
    assert report.flows[0].as_dict()["read"]["crm"] == ACCOUNTS // 10
    assert {r["name"] for r in read_jsonl(Path("cs/clients.jsonl"))} == matching(emulator)
