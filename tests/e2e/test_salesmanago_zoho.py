"""SALESmanago ⇄ Zoho CRM, requirement by requirement (SM-1 … SM-5, SM-8; SM-3's state
changes are in test_salesmanago_zoho_states.py, conflicts in ..._conflicts.py, SM-6 and SM-9
in ..._operations.py): the real spec against both emulators, what lands in each system, the
run report, and the calls each emulator was asked (no echo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.smz import MAIN, USERS_LINE, World, operator_copy

ANN = {
    "email": "ann.lee@acme.example",
    "name": "Ann Lee",
    "phone": "+48 600 100 200",
    "fax": "+48 22 100 200",
    "company": "Acme Corp",
    "birthday": "19850412",
    "address": {
        "streetAddress": "Main St 1",
        "zipCode": "00-001",
        "city": "Warsaw",
        "country": "PL",
    },
    "state": "PROSPECT",
}
BOB = {
    "email": "bob.roe@globex.example",
    "name": "Bob Roe",
    "phone": "+48 601 200 300",
    "fax": "+48 22 200 300",
    "company": "Globex",
    "birthday": "19700101",
    "address": {
        "streetAddress": "ul. Piotrkowska 10",
        "zipCode": "90-001",
        "city": "Łódź",
        "country": "PL",
    },
    "state": "CUSTOMER",
}
CARA_LEAD = {
    "First_Name": "Cara",
    "Last_Name": "Diaz",
    "Email": "cara.diaz@initech.example",
    "Phone": "+34 600 300 400",
    "Fax": "+34 91 300 400",
    "Company": "Initech",
    "Street": "Calle Mayor 5",
    "Zip_Code": "28013",
    "City": "Madrid",
    "Country": "ES",
}
DAN_CONTACT = {
    "First_Name": "Dan",
    "Last_Name": "Moe",
    "Email": "dan.moe@umbrella.example",
    "Phone": "+44 113 496 0101",
    "Fax": "+44 113 496 0102",
    "Mailing_Street": "1 Park Row",
    "Mailing_Zip": "LS1 5HN",
    "Mailing_City": "Leeds",
    "Mailing_Country": "GB",
    "Date_of_Birth": "1990-07-15",
}


@pytest.fixture
def world(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(workdir, monkeypatch)


def seed_both(world: World) -> None:
    world.sm.seed("contacts", [ANN, BOB])
    [umbrella] = world.crm.seed("Accounts", [{"Account_Name": "Umbrella Health"}])
    world.crm.seed("Leads", [CARA_LEAD])
    world.crm.seed("Contacts", [{**DAN_CONTACT, "Account_Name": {"id": umbrella["id"]}}])


def test_SM_1_every_listed_field_reaches_the_other_side_both_ways(world: World) -> None:
    seed_both(world)

    first = world.run()

    assert first.outcomes == {"crm": {"created": 2}, "sm": {"created": 2}}
    module, ann = world.crm_record("ann.lee@acme.example")
    assert module == "Leads"  # a Prospect is a Lead (SM-3)
    assert {k: ann[k] for k in ("First_Name", "Last_Name", "Phone", "Fax", "Company")} == {
        "First_Name": "Ann",
        "Last_Name": "Lee",
        "Phone": "+48 600 100 200",
        "Fax": "+48 22 100 200",
        "Company": "Acme Corp",
    }
    assert (ann["Street"], ann["Zip_Code"], ann["City"], ann["Country"]) == (
        "Main St 1",
        "00-001",
        "Warsaw",
        "PL",
    )
    module, bob = world.crm_record("bob.roe@globex.example")
    assert module == "Contacts"  # a Customer is a Contact
    assert (bob["First_Name"], bob["Last_Name"], bob["Phone"], bob["Fax"]) == (
        "Bob",
        "Roe",
        "+48 601 200 300",
        "+48 22 200 300",
    )
    assert (bob["Mailing_Street"], bob["Mailing_Zip"], bob["Mailing_City"]) == (
        "ul. Piotrkowska 10",
        "90-001",
        "Łódź",
    )
    assert (bob["Mailing_Country"], bob["Date_of_Birth"]) == ("PL", "1970-01-01")
    cara = world.contact("cara.diaz@initech.example")
    assert {k: cara[k] for k in ("name", "phone", "fax", "company", "state", "address")} == {
        "name": "Cara Diaz",
        "phone": "+34 600 300 400",
        "fax": "+34 91 300 400",
        "company": "Initech",
        "state": "PROSPECT",
        "address": {
            "streetAddress": "Calle Mayor 5",
            "zipCode": "28013",
            "city": "Madrid",
            "country": "ES",
        },
    }
    dan = world.contact("dan.moe@umbrella.example")
    assert (dan["name"], dan["phone"], dan["fax"], dan["state"]) == (
        "Dan Moe",
        "+44 113 496 0101",
        "+44 113 496 0102",
        "CUSTOMER",
    )
    assert dan["company"] == "Umbrella Health"  # a Contact's company is its account's name
    assert dan["birthday"] == "19900715"
    assert dan["address"] == {
        "streetAddress": "1 Park Row",
        "zipCode": "LS1 5HN",
        "city": "Leeds",
        "country": "GB",
    }


def test_SM_1_what_one_zoho_module_cannot_hold_is_not_cleared_on_the_other_side(
    world: World,
) -> None:
    # A Lead has no birthday and a Contact no Company field: the run after they were made
    # must not read those as "emptied in Zoho" and clear them in SALESmanago.
    seed_both(world)
    world.run()

    world.settled()
    world.settled()

    ann, bob = world.contact("ann.lee@acme.example"), world.contact("bob.roe@globex.example")
    assert (ann["birthday"], ann["company"]) == ("19850412", "Acme Corp")
    assert (bob["birthday"], bob["company"]) == ("19700101", "Globex")
    assert world.contact("dan.moe@umbrella.example")["company"] == "Umbrella Health"


def test_SM_2_a_change_on_either_side_reaches_the_other_and_nothing_comes_back(
    world: World,
) -> None:
    seed_both(world)
    world.run()
    world.settled()

    world.later()
    world.sm.change("contacts", world.sm_id("ann.lee@acme.example"), {"phone": "+48 600 999 999"})
    _module, cara = world.crm_record("cara.diaz@initech.example")
    world.crm.change("Leads", cara["id"], {"City": "Toledo"})
    changed = world.run()

    assert changed.outcomes == {"crm": {"updated": 1}, "sm": {"updated": 1}}
    assert world.crm_record("ann.lee@acme.example")[1]["Phone"] == "+48 600 999 999"
    assert world.contact("cara.diaz@initech.example")["address"]["city"] == "Toledo"
    assert changed.writes() == (1, 1)  # one batchupsert to SALESmanago, one update to Zoho
    assert changed.crm_calls["update"] == 1

    echo = world.settled()  # what the sync wrote is read back, and not sent again

    assert echo.report["flows"][0]["read"] == {"sm": 1, "crm": 1}
    assert world.settled().report["flows"][0]["read"] == {"sm": 0, "crm": 0}


# ---- SM-4: owners ---------------------------------------------------------------------

PRIYA, SOREN = "priyaraghunathan@zylker.com", "sorenostergaard@zylker.com"
ANNA = "anna.nowak@vendor.example"  # a SALESmanago user Zoho does not have


@pytest.fixture
def owners(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """An account whose main user (Priya) and Søren are also Zoho users, and Anna is not;
    the operator's copy of the spec lists the account's users."""
    spec = operator_copy(workdir, (USERS_LINE, f"      users: [{SOREN}, {ANNA}]"))
    return World(workdir, monkeypatch, spec=spec, sm_users=(PRIYA, SOREN, ANNA))


def test_SM_4_owners_are_the_user_with_the_same_email_else_the_main_user(owners: World) -> None:
    users = owners.zoho_users()
    amelia = users["ameliahartmann@zylker.com"]  # Zoho's administrator, no SALESmanago user
    owners.sm.seed(
        "contacts",
        [
            {"email": "a@example.com", "name": "A Soren", "owner": SOREN},
            {"email": "b@example.com", "name": "B Anna", "owner": ANNA},
        ],
    )
    owners.crm.seed(
        "Leads",
        [
            {"Last_Name": "C", "Email": "c@example.com", "Owner": {"id": users[SOREN]}},
            {"Last_Name": "D", "Email": "d@example.com", "Owner": {"id": amelia}},
        ],
    )

    owners.run()

    def zoho_owner(email: str) -> str:
        return str(owners.crm_record(email)[1]["Owner"]["id"])

    assert zoho_owner("a@example.com") == users[SOREN]  # the same email on both sides
    assert zoho_owner("b@example.com") == users[PRIYA]  # none: the main user
    assert owners.contact("c@example.com")["owner"] == SOREN
    assert owners.contact("d@example.com")["owner"] == PRIYA
    owners.settled()

    owners.later()
    owners.crm.change(
        "Leads", owners.crm_record("a@example.com")[1]["id"], {"Owner": {"id": amelia}}
    )
    owners.sm.change("contacts", owners.sm_id("b@example.com"), {"owner": SOREN})
    owners.run()

    assert owners.contact("a@example.com")["owner"] == PRIYA  # Amelia is no SALESmanago user
    assert zoho_owner("b@example.com") == users[SOREN]
    owners.settled()


def test_SM_4_a_main_user_zoho_does_not_have_is_the_zoho_orgs_administrator(
    world: World,
) -> None:
    world.sm.seed("contacts", [{"email": "e@example.com", "name": "E Main"}])  # owner: MAIN

    world.run()

    owner = world.crm_record("e@example.com")[1]["Owner"]
    assert owner["id"] == world.zoho_users()["ameliahartmann@zylker.com"]
    assert world.contact("e@example.com")["owner"] == MAIN  # and it is not taken back
    world.settled()


# ---- SM-5: consent ----------------------------------------------------------------------

FLAGS = ("forceOptIn", "forceOptOut", "forcePhoneOptIn", "forcePhoneOptOut")


def flags(item: dict[str, Any]) -> tuple[bool, ...]:
    return tuple(bool(item.get(f)) for f in FLAGS)


def test_SM_5_opt_in_and_opt_out_go_both_ways_and_other_writes_leave_consent_alone(
    world: World,
) -> None:
    world.sm.seed(
        "contacts",
        [
            {"email": "out@example.com", "name": "Out Sm", "optedOut": True},
            {"email": "in@example.com", "name": "In Sm"},
        ],
    )
    world.crm.seed(
        "Leads",
        [
            {"Last_Name": "Zout", "Email": "zout@example.com", "Email_Opt_Out": True},
            {"Last_Name": "Zin", "Email": "zin@example.com", "Email_Opt_Out": False},
        ],
    )

    world.run()

    assert world.crm_record("out@example.com")[1]["Email_Opt_Out"] is True
    assert world.crm_record("in@example.com")[1]["Email_Opt_Out"] is False
    made = world.wire.items()
    assert flags(made["zout@example.com"]) == (False, True, False, False)  # opted out
    assert flags(made["zin@example.com"]) == (False,) * 4  # not forced to opt in
    assert world.contact("zout@example.com")["optedOut"] is True
    world.settled()

    # A Zoho edit that is not about consent: SALESmanago's consent is left alone.
    world.later()
    world.wire.sent.clear()
    out_lead = world.crm_record("out@example.com")[1]
    world.crm.change("Leads", out_lead["id"], {"Phone": "+1 555 0100"})
    world.run()

    assert flags(world.wire.items()["out@example.com"]) == (False,) * 4
    assert world.contact("out@example.com")["optedOut"] is True
    assert world.contact("out@example.com")["phone"] == "+1 555 0100"

    # Consent changes, each way.
    world.later()
    world.wire.sent.clear()
    zout = world.crm_record("zout@example.com")[1]
    world.crm.change("Leads", zout["id"], {"Email_Opt_Out": False})  # a Zoho user opts in
    world.sm.change("contacts", world.sm_id("in@example.com"), {"optedOut": True})
    world.run()

    assert flags(world.wire.items()["zout@example.com"]) == (True, False, False, False)
    assert world.contact("zout@example.com")["optedOut"] is False
    assert world.crm_record("in@example.com")[1]["Email_Opt_Out"] is True
    world.settled()


# ---- SM-8: a large database only takes longer ------------------------------------------


def test_SM_7_SM_8_a_large_database_takes_more_calls_of_at_most_100_never_fewer_records(
    world: World,
) -> None:
    # Scaled down from the measured run (see the report): 450 contacts a side, several
    # pages each way (100 received, 100 sent per request).
    world.sm.seed(
        "contacts",
        [{"email": f"sm{n}@example.com", "name": f"Sm Person {n}"} for n in range(450)],
    )
    world.crm.seed(
        "Leads",
        [{"Last_Name": f"Crm {n}", "Email": f"crm{n}@example.com"} for n in range(450)],
    )

    first = world.run()

    assert first.outcomes == {"crm": {"created": 450}, "sm": {"created": 450}}
    assert len(world.sm.records("contacts")) == 900
    assert len(world.crm.records("Leads")) == 900
    # More pages, never a bigger request: at most 100 contacts each way per SALESmanago call
    # (SM-7), 100 records per Zoho insert.
    sent = [(method, body) for method, body in world.wire.sent]
    assert max(len(b["contactId"]) for m, b in sent if m == "contact/listById") == 100
    assert max(len(b["upsertDetails"]) for m, b in sent if m == "contact/batchupsert") == 100
    assert first.sm_calls["batchupsert"] == 5
    assert first.crm_calls["insert"] == 5
    world.settled()
