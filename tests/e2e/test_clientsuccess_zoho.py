"""ClientSuccess ⇄ Zoho CRM end to end (specs/clientsuccess-zoho_crm.yaml, requirements
CS-1 … CS-8 of shared/REQUIREMENTS.md), over the ClientSuccess and Zoho CRM emulators."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from integrate.build import load_spec
from integrate.engine.watch import Look
from integrate.schedule import Due, Watch, schedules, serve, watches
from tests.e2e.csz import World, operator_copy


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(tmp_path, monkeypatch)


def test_CS_1_the_import_filter_decides_which_accounts_become_clients(world: World) -> None:
    acme, hooli, initech = world.accounts(
        {"Account_Name": "Acme", "Account_Status": "Customer"},
        {"Account_Name": "Hooli", "Account_Status": "Prospect"},
        {"Account_Name": "Initech", "Account_Status": "Prospect", "Sync_with_ClientSuccess": True},
    )

    first = world.run("clients")

    assert sorted(world.clients()) == sorted([acme, initech])
    assert world.clients()[acme]["name"] == "Acme"
    assert first.totals("clients")["created"] == 2
    assert hooli not in world.clients()
    # the filter is said in Zoho's own query language: only the two matching are read
    assert first.flow("clients")["read"] == {"crm": 2}
    assert (first.crm_calls["coql"], first.crm_calls["list"]) == (1, 0)


def test_CS_1_an_account_that_stops_matching_the_filter_is_left_alone_not_deleted(
    world: World,
) -> None:
    [acme] = world.accounts(
        {"Account_Name": "Acme", "Account_Status": "Customer", "Website": "https://acme.example"}
    )
    world.run("clients")
    world.later()
    world.crm.change(
        "Accounts",
        acme,
        {"Account_Status": "Former Customer", "Website": "https://acme.example/new"},
    )

    after = world.run("clients")

    client = world.clients()[acme]
    assert client["siteUrl"] == "https://acme.example"  # no longer imported: not updated
    assert after.writes() == (0, 0)  # and never deleted


def test_CS_1_an_account_that_starts_matching_is_imported_on_the_next_run(world: World) -> None:
    [hooli] = world.accounts({"Account_Name": "Hooli", "Account_Status": "Prospect"})
    world.run("clients")
    assert world.clients() == {}
    world.later()
    world.crm.change("Accounts", hooli, {"Sync_with_ClientSuccess": True})

    world.run("clients")

    assert world.clients()[hooli]["name"] == "Hooli"


def test_CS_2_accounts_become_clients_with_the_crm_id_kept(world: World) -> None:
    [acme] = world.accounts(
        {
            "Account_Name": "Acme Corp",
            "Account_Status": "Customer",
            "Account_Type": "Partner",
            "Customer_Start_Date": "2024-01-05",
            "Website": "https://acme.example",
            "Billing_Street": "1 Main St",
            "Billing_City": "Austin",
            "Billing_State": "TX",
            "Billing_Code": "73301",
            "Billing_Country": "US",
        }
    )

    world.run("clients")

    client = world.clients()[acme]
    assert client["externalId"] == acme  # the CRM id mapping
    assert client["name"] == "Acme Corp"
    assert client["inceptionDate"].startswith("2024-01-05")  # the client-as-of date
    assert client["clientSegmentId"] == world.segment("Partner")  # the client type
    assert (client["siteUrl"], client["street"], client["city"]) == (
        "https://acme.example",
        "1 Main St",
        "Austin",
    )
    assert (client["state"], client["zip"], client["country"]) == ("TX", "73301", "US")
    world.settled("clients")


def test_CS_3_contacts_become_contacts_with_the_crm_id_kept(world: World) -> None:
    [acme] = world.accounts({"Account_Name": "Acme", "Account_Status": "Customer"})
    [jane] = world.crm_contacts(
        {
            "First_Name": "Jane",
            "Last_Name": "Doe",
            "Email": "jane.doe@acme.example",
            "Title": "IT Manager",
            "Phone": "+1 555 0100",
            "Account_Name": {"id": acme},
        }
    )

    world.run()

    contact = world.cs_contacts()[jane]
    client = world.clients()[acme]
    assert contact["clientId"] == client["id"]
    assert (contact["firstName"], contact["lastName"]) == ("Jane", "Doe")
    assert (contact["email"], contact["phone"]) == ("jane.doe@acme.example", "+1 555 0100")
    world.settled()


def test_CS_3_contacts_of_accounts_that_are_not_imported_stay_out(world: World) -> None:
    [hooli] = world.accounts({"Account_Name": "Hooli", "Account_Status": "Prospect"})
    [gavin] = world.crm_contacts(
        {"First_Name": "Gavin", "Last_Name": "Belson", "Account_Name": {"id": hooli}}
    )

    world.run()

    assert gavin not in world.cs_contacts()


def test_CS_2_CS_3_a_lost_state_file_duplicates_nothing(world: World) -> None:
    ids = world.accounts(
        {"Account_Name": "Acme", "Account_Status": "Customer"},
        {"Account_Name": "Initech", "Account_Status": "Customer"},
    )
    world.crm_contacts(
        {"First_Name": "Jane", "Last_Name": "Doe", "Account_Name": {"id": ids[0]}},
        {"First_Name": "Peter", "Last_Name": "Gibbons", "Account_Name": {"id": ids[1]}},
    )
    world.run()
    assert (len(world.cs.records("clients")), len(world.cs.records("contacts"))) == (2, 2)

    world.state.unlink()  # the state file is lost
    again = world.run()

    assert (len(world.cs.records("clients")), len(world.cs.records("contacts"))) == (2, 2)
    assert again.totals("clients")["created"] == again.totals("contacts")["created"] == 0
    assert again.writes() == (0, 0)  # paired again by the CRM id kept on each record


def test_CS_4_CS_5_title_is_pushed_and_email_pulled_as_each_field_says(world: World) -> None:
    [acme] = world.accounts({"Account_Name": "Acme", "Account_Status": "Customer"})
    [jane] = world.crm_contacts(
        {
            "First_Name": "Jane",
            "Last_Name": "Doe",
            "Email": "jane@acme.example",
            "Title": "IT Manager",
            "Account_Name": {"id": acme},
        }
    )
    world.run()
    cs_id = str(world.cs_contacts()[jane]["id"])
    world.later()
    world.cs.change("contacts", cs_id, {"title": "CIO", "email": "jane.cio@acme.example"})

    world.run("contacts")

    crm = world.crm_record("Contacts", jane)
    assert crm["Title"] == "CIO"  # title: pushed (ClientSuccess → Zoho)
    assert crm["Email"] == "jane@acme.example"  # email: pulled only, never pushed


# CS-4/CS-5 matrix: the contacts flow's direction (ClientSuccess's words in the comments) by
# the direction of the first and last name pairs; then a first name changed in ClientSuccess
# and a last name changed in Zoho, and which of the two moved.
OBJECT = {
    "push": "to_crm",
    "pull": "to_cs",
    "push and pull": "both",
    "off": "off",
}
FIELD = {"both ways": "both", "push": "to_crm", "pull": "to_cs"}


@pytest.mark.parametrize("field_direction", list(FIELD))
@pytest.mark.parametrize("object_direction", list(OBJECT))
def test_CS_4_CS_5_object_direction_overrides_field_directions_unless_it_is_push_and_pull(
    world: World, object_direction: str, field_direction: str
) -> None:
    [acme] = world.accounts({"Account_Name": "Acme", "Account_Status": "Customer"})
    [jane] = world.crm_contacts(
        {"First_Name": "Jane", "Last_Name": "Doe", "Account_Name": {"id": acme}}
    )
    world.run()  # the spec as shipped links the two
    cs_id = str(world.cs_contacts()[jane]["id"])
    object_value, field_value = OBJECT[object_direction], FIELD[field_direction]
    world.spec = operator_copy(
        world.folder,
        (
            "    direction: both                          # CS-4",
            f"    direction: {object_value}  #",
        ),
        (
            "      - {cs: firstName, crm: First_Name}",
            f"      - {{cs: firstName, crm: First_Name, direction: {field_value}}}",
        ),
        (
            "      - {cs: lastName, crm: Last_Name}",
            f"      - {{cs: lastName, crm: Last_Name, direction: {field_value}}}",
        ),
    )
    world.later()
    world.cs.change("contacts", cs_id, {"firstName": "Janet"})
    world.crm.change("Contacts", jane, {"Last_Name": "Dough"})

    world.run("contacts")

    pushed = world.crm_record("Contacts", jane)["First_Name"] == "Janet"
    pulled = world.cs_contacts()[jane]["lastName"] == "Dough"
    expected = {
        # an object-level one-way direction overrides the fields' (CS-5)
        "push": (True, False),
        "pull": (False, True),
        "off": (False, False),
        # push and pull honours each field's own direction
        "push and pull": {
            "both ways": (True, True),
            "push": (True, False),
            "pull": (False, True),
        }[field_direction],
    }
    want = expected[object_direction]
    assert (pushed, pulled) == want, (object_direction, field_direction)


def test_CS_7_an_initial_full_import_then_incremental_syncs(world: World) -> None:
    ids = world.accounts(
        *({"Account_Name": f"Customer {n}", "Account_Status": "Customer"} for n in range(12))
    )

    first = world.run("clients")
    assert first.totals("clients")["created"] == 12
    world.later()
    world.crm.change("Accounts", ids[3], {"Website": "https://three.example"})

    second = world.run("clients")

    assert second.flow("clients")["read"].get("crm") == 1  # only what changed
    assert second.totals("clients")["updated"] == 1
    assert world.clients()[ids[3]]["siteUrl"] == "https://three.example"
    assert len(world.cs.records("clients")) == 12


def test_CS_8_credentials_without_admin_rights_get_a_message_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(tmp_path, monkeypatch, admin=False)
    world.accounts({"Account_Name": "Acme", "Account_Status": "Customer"})

    run = world.run("clients", ok=False)

    text = str(run.report["error"]) + " ".join(str(c.reason) for c in run.changes)
    assert "admin" in text.lower(), text
    assert world.cs.users[1].username in text
    assert world.cs.users[1].password not in text
    assert world.cs.records("clients") == []


def linked_pair(world: World) -> tuple[str, str]:
    """Acme with Jane, synced once: (Jane's Zoho id, her ClientSuccess id)."""
    [acme] = world.accounts({"Account_Name": "Acme", "Account_Status": "Customer"})
    [jane] = world.crm_contacts(
        {"First_Name": "Jane", "Last_Name": "Doe", "Title": "CTO", "Account_Name": {"id": acme}}
    )
    world.run()
    return jane, str(world.cs_contacts()[jane]["id"])


def test_CS_6_pulls_follow_the_spec_schedules_and_contacts_are_watched_every_minute(
    world: World,
) -> None:
    spec = load_spec(world.spec, world.plugins)
    assert schedules(spec) == {"0 * * * *": ("clients",), "*/15 * * * *": ("contacts",)}
    assert [(w.flow, w.side, w.every) for w in watches(spec)] == [("contacts", "cs", 60.0)]


def test_CS_6_a_clientsuccess_change_is_pushed_by_serve_within_one_watch_interval(
    world: World,
) -> None:
    jane, cs_id = linked_pair(world)
    world.later(930 - world.clock.now() % 900)  # 30 s past a quarter: no pull due for 14 min
    spec = load_spec(world.spec, world.plugins)
    looks: list[tuple[float, Look]] = []
    runs: list[tuple[float, Due]] = []

    def looking(watch: Watch) -> str:
        found, _calls = world.look(watch.flow, watch.side)
        looks.append((world.clock.now(), found))
        assert len(looks) <= 10  # bounded
        if len(looks) == 2:  # between two looks, a ClientSuccess user edits Jane
            world.cs.change("contacts", cs_id, {"title": "Chief Technology Officer"})
            changes.append(world.clock.now())
        return found.reason

    def running(due: Due) -> None:
        runs.append((world.clock.now(), due))
        world.run(*due.flows, advance=0)

    changes: list[float] = []
    serve([spec], running, world.clock, max_runs=1, look=looking)

    [(ran_at, due)] = runs
    assert due.flows == ("contacts",)
    assert "1 changed on cs" in due.reason
    assert ran_at - changes[0] <= 60  # within one interval of the edit
    assert [found.changed for _at, found in looks] == [0, 0, 1]
    assert world.crm_record("Contacts", jane)["Title"] == "Chief Technology Officer"


def test_CS_6_an_idle_watch_writes_nothing_and_reads_each_client_s_contacts_once(
    world: World,
) -> None:
    linked_pair(world)
    world.accounts(
        {"Account_Name": "Initech", "Account_Status": "Customer"},
        {"Account_Name": "Globex", "Account_Status": "Customer"},
    )
    world.run()
    world.later()

    found, calls = world.look()

    assert (found.read, found.changed, found.needs_run) == (1, 0, False)
    clients = len(world.cs.records("clients"))
    # ClientSuccess v1 has no account-wide contact list (targets.md §3.3): a look at contacts
    # lists the clients (1 call) and each client's contacts (1 call each); no login (the
    # token the last run kept in the state lasts 12 hours), and no write
    assert calls == Counter({"list": 1 + clients})


def test_a_rerun_with_nothing_changed_rewrites_no_link(world: World) -> None:
    # Snapshots of long values come back from the state as digests: an unchanged record must
    # still count as unchanged, or every run rewrites every link it reads.
    world.accounts({"Account_Name": "Acme Corporation International", "Account_Status": "Customer"})
    world.run()

    def rowids() -> list[tuple[int, str]]:
        db = sqlite3.connect(world.state)
        try:
            return db.execute("SELECT rowid, a_id FROM links ORDER BY rowid").fetchall()
        finally:
            db.close()

    before = rowids()
    world.run(full_refresh=True)  # every record read again, all of them unchanged

    assert rowids() == before
