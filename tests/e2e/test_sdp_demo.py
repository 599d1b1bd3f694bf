"""Zoho CRM → ServiceDesk Plus MSP on the spec's own demo data, through `integrate run
--sandbox`, asserting on what the emulated SDP and Zoho CRM hold afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.sdp import Sdp, fresh_sandbox, totals, writes


@pytest.fixture
def sdp(cli: Any, workdir: Path) -> Sdp:
    return fresh_sandbox(cli)


def first_run(sdp: Sdp) -> dict[str, Any]:
    _result, report = sdp.run()
    return report


def test_sdp_1_accounts_and_contacts_flow_one_way_into_sdp(sdp: Sdp) -> None:
    # SDP-1
    crm_before = {m: sdp.records("crm", m) for m in ("Accounts", "Contacts")}

    report = first_run(sdp)

    assert totals(report, "accounts")["updated"] == 2
    assert totals(report, "requesters")["created"] == 3
    assert writes(report["calls"]["crm"]["kinds"], ("write",)) == 0  # nothing written to Zoho
    assert {m: sdp.records("crm", m) for m in ("Accounts", "Contacts")} == crm_before
    assert set(sdp.requesters()) >= {
        "ann@acme.example @ Acme Ltd",
        "bob@acme.example @ Acme Ltd",
        "kim@globex.example @ Globex Corporation",
    }


def test_sdp_2_an_exact_name_match_is_overwritten_address_included(sdp: Sdp) -> None:
    # SDP-2
    first_run(sdp)

    acme = sdp.accounts()["Acme Ltd"]
    assert (acme["street"], acme["city"], acme["postal_code"], acme["country"]) == (
        "1 Mill Road",
        "Leeds",
        "LS1 4AP",
        "United Kingdom",
    )
    assert acme["phone"] == "+44 113 496 0000"
    assert acme["web_url"] == "https://acme.example"
    assert len(sdp.accounts()) == 4  # matched, not created


def test_sdp_2_a_name_that_differs_in_case_is_not_an_exact_match(sdp: Sdp) -> None:
    # SDP-2: exact names only; "ACME LTD" is queued for an operator, not overwritten.
    with sdp.systems() as systems:
        systems["crm"].seed("Accounts", [{"Account_Name": "WAYNE ENTERPRISES"}])

    first_run(sdp)

    assert any("'WAYNE ENTERPRISES'" in r["reason"] for r in sdp.pending())
    assert sdp.accounts()["Wayne Enterprises"]["city"] == "Gotham"


def test_sdp_3_first_run_queues_unmatched_accounts_then_the_operator_resolves_them(
    sdp: Sdp,
) -> None:
    # SDP-3
    _result, report = sdp.run()

    assert totals(report, "accounts")["queued"] == 4
    assert sorted(sdp.accounts()) == [
        "Acme Ltd",
        "Globex Corporation",
        "Umbrella Health",
        "Wayne Enterprises",
    ]  # nothing created on the first run
    assert any("wait in the pending queue" in n for n in report["notices"])
    initech = sdp.queued("Initech")
    umbrella = sdp.queued("Umbrella Corp")
    labs = sdp.queued("Umbrella Labs")
    [health] = [c for c in umbrella["candidates"] if c["label"] == "Umbrella Health"]
    assert health["id"] in [c["id"] for c in labs["candidates"]]

    assert sdp.resolve("accounts", initech["source_id"], "--create").exit_code == 0
    assert sdp.resolve("accounts", umbrella["source_id"], "--map-to", health["id"]).exit_code == 0
    # mapped: no longer offered for another account, and refused if chosen again
    assert health["id"] not in [c["id"] for c in sdp.queued("Umbrella Labs")["candidates"]]
    again = sdp.resolve("accounts", labs["source_id"], "--map-to", health["id"])
    assert again.exit_code != 0
    assert "already promised to" in again.stderr

    _result, second = sdp.run()

    accounts = sdp.accounts()
    assert totals(second, "accounts")["created"] == 1
    assert accounts["Initech"]["description"] == "Account Created from ZOHO CRM"
    # mapped: SDP's Umbrella Health now carries the CRM account's data, name included
    assert accounts["Umbrella Corp"]["id"] == health["id"]
    assert "Umbrella Health" not in accounts
    assert len(accounts) == 5
    assert sorted(r["reason"].split("'")[1] for r in sdp.pending()) == [
        "Stark Industries",
        "Umbrella Labs",
    ]
    assert health["id"] not in [c["id"] for c in sdp.queued("Umbrella Labs")["candidates"]]
    # the contacts that waited for their accounts now land under them
    requesters = sdp.requesters()
    assert "uma@umbrella.example @ Umbrella Corp" in requesters
    assert "pat@initech.example @ Initech" in requesters


def test_sdp_4_after_the_first_sync_new_accounts_are_created_directly(sdp: Sdp) -> None:
    # SDP-4
    first_run(sdp)
    with sdp.systems() as systems:
        systems["crm"].seed("Accounts", [{"Account_Name": "Hooli", "Billing_City": "Palo Alto"}])

    _result, report = sdp.run()

    assert totals(report, "accounts")["created"] == 1
    assert sdp.accounts()["Hooli"]["city"] == "Palo Alto"
    assert "Hooli" not in str(sdp.pending())


def test_sdp_5_a_matched_requester_is_updated_and_keeps_what_crm_lacks(sdp: Sdp) -> None:
    # SDP-5
    first_run(sdp)

    sam = sdp.requesters()["sam@globex.example @ Globex Corporation"]
    assert sam["mobile"] == "+1 555 0199"  # what CRM carries is written
    assert sam["phone"] == "+1 555 0100"  # CRM has no phone: SDP's stays
    assert sam["job_title"] == "Procurement"  # CRM has no title: SDP's stays
    assert sam["is_vipuser"] is False  # matched, not created: not made VIP
    jo = sdp.requesters()["jo@acme.example @ Acme Ltd"]
    assert jo["job_title"] == "Finance Director"
    assert jo["phone"] == "+44 1904 111111"

    with sdp.systems() as systems:
        systems["crm"].change("Contacts", sdp_id(systems, "sam@globex.example"), {"Title": "Buyer"})
    _result, report = sdp.run()

    assert totals(report, "requesters")["updated"] == 1
    sam = sdp.requesters()["sam@globex.example @ Globex Corporation"]
    assert (sam["job_title"], sam["phone"]) == ("Buyer", "+1 555 0100")


def sdp_id(systems: dict[str, Any], email: str) -> str:
    [record] = [r for r in systems["crm"].records("Contacts") if r.get("Email") == email]
    return str(record["id"])


def test_sdp_6_a_contact_without_an_account_is_skipped_with_the_reason(sdp: Sdp) -> None:
    # SDP-6
    result, report = sdp.run()

    assert totals(report, "requesters")["skipped"] == 1
    assert "contact has no account name" in result.stdout
    assert not any(k.startswith("nina@") for k in sdp.requesters())


def test_sdp_7_a_contact_without_a_site_lands_in_its_account_s_default_site(sdp: Sdp) -> None:
    # SDP-7
    first_run(sdp)

    requesters = sdp.requesters()
    kim = requesters["kim@globex.example @ Globex Corporation"]
    globex = sdp.accounts()["Globex Corporation"]
    assert kim["site"]["id"] == globex["default_site"]["id"]
    ann = requesters["ann@acme.example @ Acme Ltd"]
    assert ann["site"]["name"] == "Leeds Office"  # a contact's own site of its account


def test_sdp_8_an_email_under_another_account_is_created_again_under_the_crm_s(
    sdp: Sdp,
) -> None:
    # SDP-8
    first_run(sdp)
    initech = sdp.queued("Initech")
    sdp.resolve("accounts", initech["source_id"], "--create")

    sdp.run()

    pats = [r for r in sdp.records("sdp", "requesters") if r["email_id"] == "pat@initech.example"]
    assert sorted(p["account"]["name"] for p in pats) == ["Initech", "Wayne Enterprises"]
    [wayne_pat] = [p for p in pats if p["account"]["name"] == "Wayne Enterprises"]
    assert wayne_pat["is_vipuser"] is False  # the other account's requester is untouched


def test_sdp_13_departments_by_name_under_the_site_else_general_never_created(
    sdp: Sdp,
) -> None:
    # SDP-13
    departments_before = sdp.records("sdp", "departments")

    first_run(sdp)

    requesters = sdp.requesters()
    assert requesters["jo@acme.example @ Acme Ltd"]["department"]["name"] == "Finance"
    ann = requesters["ann@acme.example @ Acme Ltd"]
    assert (ann["department"]["name"], ann["department"]["site"]["name"]) == (
        "Warehouse",
        "Leeds Office",
    )
    bob = requesters["bob@acme.example @ Acme Ltd"]  # CRM says Legal: SDP has none
    assert (bob["department"]["name"], bob["site"]["name"]) == ("General", "Acme HQ")
    assert sdp.records("sdp", "departments") == departments_before


def test_sdp_14_custom_fields_are_mapped_in_the_spec_alone(sdp: Sdp) -> None:
    # SDP-14
    first_run(sdp)
    stark = sdp.queued("Stark Industries")
    sdp.resolve("accounts", stark["source_id"], "--create")

    sdp.run()

    assert sdp.accounts()["Acme Ltd"]["udf_fields"] == {
        "udf_char1": "A-1001",
        "udf_char2": "Manufacturing",
    }
    tony = sdp.requesters()["tony@stark.example @ Stark Industries"]
    assert tony["user_udf_fields"] == {"udf_char1": "ironman@stark.example"}


def test_sdp_17_created_accounts_say_so_and_created_requesters_are_vip(sdp: Sdp) -> None:
    # SDP-17
    first_run(sdp)
    sdp.resolve("accounts", sdp.queued("Initech")["source_id"], "--create")

    sdp.run()

    accounts = sdp.accounts()
    assert accounts["Initech"]["description"] == "Account Created from ZOHO CRM"
    assert accounts["Acme Ltd"]["description"] is None  # matched, not created
    requesters = sdp.requesters()
    assert requesters["pat@initech.example @ Initech"]["is_vipuser"] is True
    assert requesters["bob@acme.example @ Acme Ltd"]["is_vipuser"] is True
    assert requesters["jo@acme.example @ Acme Ltd"]["is_vipuser"] is False


def test_the_demo_ends_with_a_summary_and_the_next_step(sdp: Sdp) -> None:
    # ALL-4: every run ends with a summary and is kept in the run history.
    result = sdp.cli("run", str(sdp.spec), "--sandbox")

    assert result.exit_code == 0, result.output
    assert "finished: succeeded" in result.stdout
    assert f"next: integrate pending list {sdp.spec} --sandbox" in result.stdout
    assert "requesters: read 9 from crm.Contacts" in result.stderr  # progress while it runs
    for column in ("read", "created", "updated", "unchanged", "skipped", "queued", "failed"):
        assert column in result.stdout
    history = sdp.command("state", "show")
    assert "#1 " in history.stdout
    assert "succeeded accounts: queued 4, read 6, updated 2" in history.stdout
