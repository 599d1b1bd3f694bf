"""Zoho CRM → ServiceDesk Plus MSP as it is operated over time: deletes, switching flows off
and on, a new Zoho organisation, failures and their retry, a reset, the schedule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integrate.spectest import seed
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.e2e.sdp import SPEC, Sdp, edited_copy, fresh_sandbox, totals

REQUESTERS_ON = "    enabled: true                            # SDP-15\n    after: accounts"
REQUESTERS_OFF = "    enabled: false                           # SDP-15\n    after: accounts"
ACCOUNTS_ON = "    enabled: true                            # SDP-15: each flow"
ACCOUNTS_OFF = "    enabled: false                           # SDP-15: each flow"


@pytest.fixture
def sdp(cli: Any, workdir: Path) -> Sdp:
    return fresh_sandbox(cli)


def everything_synced(sdp: Sdp) -> None:
    """First run, every queued account created, second run: the CRM is all in SDP."""
    sdp.run()
    for row in sdp.pending():
        assert sdp.resolve(row["flow"], row["source_id"], "--create").exit_code == 0
    sdp.run()
    assert sdp.pending() == []


def contact_id(systems: dict[str, Any], email: str) -> str:
    [record] = [r for r in systems["crm"].records("Contacts") if r.get("Email") == email]
    return str(record["id"])


def test_sdp_9_deletes_are_not_propagated_either_way(sdp: Sdp) -> None:
    # SDP-9
    everything_synced(sdp)
    with sdp.systems() as systems:
        systems["crm"].delete("Contacts", contact_id(systems, "kim@globex.example"))
        [bob] = [
            r for r in systems["sdp"].records("requesters") if r["email_id"] == "bob@acme.example"
        ]
        systems["sdp"].delete("requesters", bob["id"])
    crm_contacts = sdp.records("crm", "Contacts")

    _result, report = sdp.run()

    assert "kim@globex.example @ Globex Corporation" in sdp.requesters()
    assert "bob@acme.example @ Acme Ltd" not in sdp.requesters()  # not recreated
    assert sdp.records("crm", "Contacts") == crm_contacts  # nothing deleted in the CRM
    assert report["calls"]["sdp"]["writes"] == 0


def test_sdp_10_switched_off_and_on_a_flow_resumes_differentially(
    sdp: Sdp, cli: Any, workdir: Path
) -> None:
    # SDP-10
    off = Sdp(cli, edited_copy(workdir / "off", (REQUESTERS_ON, REQUESTERS_OFF)))
    everything_synced(sdp)
    before = sdp.requesters()

    with sdp.systems() as systems:
        systems["crm"].change(
            "Contacts", contact_id(systems, "kim@globex.example"), {"Title": "CEO"}
        )
    _result, while_off = off.run()
    with sdp.systems() as systems:
        acme = [a for a in systems["crm"].records("Accounts") if a["Account_Name"] == "Acme Ltd"]
        systems["crm"].seed(
            "Contacts",
            [
                {
                    "Last_Name": "New",
                    "Email": "new@acme.example",
                    "Account_Name": {"id": acme[0]["id"]},
                }
            ],
        )
    assert [f["flow"] for f in while_off["flows"] if f["disabled"]] == ["requesters"]
    assert sdp.requesters() == before  # nothing happened while it was off

    _result, back_on = sdp.run()

    totals_on = totals(back_on, "requesters")
    assert totals_on["read"] == 2  # only what changed since it was switched off
    assert (totals_on["created"], totals_on["updated"]) == (1, 1)
    after = sdp.requesters()
    assert after["kim@globex.example @ Globex Corporation"]["job_title"] == "CEO"
    assert set(after) == {*before, "new@acme.example @ Acme Ltd"}  # nothing duplicated
    _result, again = sdp.run()
    assert again["calls"]["sdp"]["writes"] == 0


def test_sdp_11_a_new_zoho_organisation_is_matched_by_name_not_duplicated(sdp: Sdp) -> None:
    # SDP-11: Y's organisation holds the same accounts again, under new ids.
    everything_synced(sdp)
    accounts, requesters = sdp.accounts(), sdp.requesters()
    demo = {
        "crm.Accounts": read_jsonl(SPEC.parent / "demo/crm-accounts.jsonl"),
        "crm.Contacts": read_jsonl(SPEC.parent / "demo/crm-contacts.jsonl"),
    }
    with sdp.systems() as systems:
        old = systems["crm"]
        other_org = ZohoCrmEmulator(seed=11)
        other_org.seed("Accounts", [{"Account_Name": f"Y Customer {n}"} for n in range(20)])
        seed({"crm": other_org}, demo, "Y's organisation")
        names = {a["Account_Name"] for a in demo["crm.Accounts"]}
        new_ids = {a["id"] for a in other_org.records("Accounts") if a["Account_Name"] in names}
        assert len(new_ids) == len(names)
        assert new_ids.isdisjoint({a["id"] for a in old.records("Accounts")})
        systems["crm"] = other_org
        old.close()
    reset = sdp.command("state", "reset", "--yes")
    assert reset.exit_code == 0, reset.output

    _result, report = sdp.run()

    assert totals(report, "accounts")["created"] == 0
    assert totals(report, "accounts")["queued"] == 20  # only Y's own, on its first run
    assert sdp.accounts().keys() == accounts.keys()
    assert sdp.requesters().keys() == requesters.keys()


def test_sdp_12_failed_records_are_kept_with_their_reason_and_retried(
    sdp: Sdp, workdir: Path
) -> None:
    # SDP-12: SDP's administrator has made the phone number mandatory for requesters.
    with sdp.systems() as systems:
        systems["sdp"].require("requesters", ["phone"])

    result, report = sdp.run()

    assert result.exit_code == 3  # completed with failed records
    assert totals(report, "requesters")["failed"] == 2  # Bob and Kim have no phone
    assert "ann@acme.example @ Acme Ltd" in sdp.requesters()  # the rest of the batch landed
    failed = read_jsonl(
        workdir / ".integrate/sandbox/zoho-crm-to-servicedesk-msp/failed-records.jsonl"
    )
    assert sorted(f["record"]["Email"] for f in failed) == [
        "bob@acme.example",
        "kim@globex.example",
    ]
    assert {(f["code"], f["error"]) for f in failed} == {
        (
            "4012",
            "create in sdp.requesters failed: Value for mandatory-field is not provided (phone)",
        )
    }
    listed = sdp.command("failures", "list", "--json")
    assert len(json.loads(listed.stdout)) == 2

    with sdp.systems() as systems:
        systems["sdp"].require("requesters", [])
    retried = sdp.command("failures", "retry")

    assert retried.exit_code == 0, retried.output
    requesters = sdp.requesters()
    assert "bob@acme.example @ Acme Ltd" in requesters
    assert "kim@globex.example @ Globex Corporation" in requesters
    assert json.loads(sdp.command("failures", "list", "--json").stdout) == []


def test_sdp_15_each_flow_is_switched_on_and_off_on_its_own(
    sdp: Sdp, cli: Any, workdir: Path
) -> None:
    # SDP-15
    accounts_off = Sdp(cli, edited_copy(workdir / "a", (ACCOUNTS_ON, ACCOUNTS_OFF)))

    _result, report = accounts_off.run()

    assert [f["flow"] for f in report["flows"] if f["disabled"]] == ["accounts"]
    assert sdp.accounts()["Acme Ltd"]["city"] == "York"  # accounts untouched
    assert totals(report, "requesters")["read"] == 9  # requesters still ran
    assert totals(report, "requesters")["created"] == 0  # their accounts are not linked yet

    _result, both = sdp.run()

    assert sdp.accounts()["Acme Ltd"]["city"] == "Leeds"
    assert totals(both, "requesters")["created"] == 3


def test_sdp_19_a_reset_forgets_the_state_and_deletes_nothing_in_sdp(sdp: Sdp) -> None:
    # SDP-19
    sdp.run()
    sdp.resolve("accounts", sdp.queued("Initech")["source_id"], "--create")
    sdp.run()
    accounts, requesters = sdp.accounts(), sdp.requesters()

    reset = sdp.command("state", "reset", "--yes")

    assert reset.exit_code == 0, reset.output
    assert "links" in reset.stdout
    assert sdp.pending() == []
    assert sdp.accounts() == accounts
    assert sdp.requesters() == requesters

    _result, report = sdp.run()  # a first run again: matched by name, nothing duplicated

    assert totals(report, "accounts")["created"] == 0
    assert totals(report, "requesters")["created"] == 0
    assert sdp.accounts().keys() == accounts.keys()
    assert sdp.requesters().keys() == requesters.keys()
    assert sorted(r["reason"].split("'")[1] for r in sdp.pending()) == [
        "Stark Industries",
        "Umbrella Corp",
        "Umbrella Labs",
    ]


def test_sdp_20_the_spec_runs_off_hours_on_its_schedule(cli: Any, workdir: Path) -> None:
    # SDP-20
    result = cli("schedule", str(SPEC), "--from", "2026-07-01T12:00", "--count", "2")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2026-07-02T02:00+01:00 zoho-crm-to-servicedesk-msp: accounts, requesters",
        "2026-07-03T02:00+01:00 zoho-crm-to-servicedesk-msp: accounts, requesters",
    ]
    served = cli("serve", str(SPEC), "--sandbox", "--run-now", "--max-runs", "1")
    assert served.exit_code == 0, served.output
    assert "zoho-crm-to-servicedesk-msp: accounts, requesters" in served.stdout
    assert "finished: succeeded" in served.stdout
