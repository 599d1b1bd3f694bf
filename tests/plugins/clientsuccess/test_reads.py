"""clientsuccess reads against the emulator: clients from one unpaged listing, changes found
by lastModifiedDate client-side (a write to a contact is no change of its client), details
fetched only when a field asked for needs them; contacts read in full, per client; records
by id; the reference lists for lookups; custom field names learned from the account."""

from __future__ import annotations

from integrate import WriteItem
from integrate_clientsuccess import ClientSuccessConnector
from tests.plugins.clientsuccess.kit import account, connect, full_client, read


def test_a_read_from_the_cursor_returns_exactly_the_clients_changed_since() -> None:
    emulator, clock = account(clients=6, contacts_per_client=1)
    connector = connect(emulator, clock)
    everything, cursor = read(connector, fields=["id", "name"])
    clients = emulator.records("clients")
    contact = emulator.records("contacts")[0]
    clock.advance(60)
    emulator.change("clients", str(clients[1]["id"]), {"city": "Oslo"})
    emulator.change("clients", str(clients[4]["id"]), {"name": "Renamed"})
    emulator.change("contacts", str(contact["id"]), {"title": "Chief"})  # not its client's change

    changed, later = read(connector, since=cursor, fields=["id", "name", "city"])
    again, _last = read(connector, since=later, fields=["id", "name"])

    assert len(everything) == 6
    assert sorted(r["id"] for r in changed) == sorted([clients[1]["id"], clients[4]["id"]])
    assert again == []
    assert emulator.calls().get("get", 0) == 0  # the list items held every field asked for


def test_a_client_written_just_before_the_cursor_is_read_again_not_lost() -> None:
    """A write whose lastModifiedDate is a moment older than the newest one listed (as one
    committed while the listing was made) falls inside `since_overlap` and is read."""
    emulator, clock = account(clients=2, contacts_per_client=0)
    first, second = emulator.records("clients")
    emulator.change("clients", str(second["id"]), {"city": "Newest"})
    connector = connect(emulator, clock)
    _all, cursor = read(connector, fields=["id"])
    clock.advance(-1)  # the next write is stamped a second before the newest one listed
    emulator.change("clients", str(first["id"]), {"city": "Late"})

    changed, _next = read(connector, since=cursor, fields=["id", "city"])

    assert [(r["id"], r["city"]) for r in changed] == [(first["id"], "Late")]


def test_details_are_fetched_only_when_a_custom_field_or_the_whole_record_is_asked_for() -> None:
    emulator, clock = account(clients=3, contacts_per_client=0)
    connector = connect(emulator, clock)

    plain, _c = read(connector, fields=["id", "name", "inceptionDate"])
    gets_plain = emulator.calls().get("get", 0)
    custom, _c = read(connector, fields=["id", "cf_zoho_owner"])
    gets_custom = emulator.calls().get("get", 0) - gets_plain
    whole, _c = read(connector)

    assert gets_plain == 0
    assert "cf_zoho_owner" not in plain[0]
    assert gets_custom == 3
    assert all("cf_zoho_owner" in r for r in custom)
    assert all("cf_renewal_date" in r for r in whole)
    assert all(r["inceptionDate"] is None or len(r["inceptionDate"]) == 10 for r in whole)


def test_active_only_reads_only_active_clients() -> None:
    emulator, clock = account(clients=0)
    emulator.seed("clients", [{"name": "On", "active": True}, {"name": "Off", "active": False}])

    every, _c = read(connect(emulator, clock), fields=["id", "name"])
    active, _c = read(connect(emulator, clock, active_only=True), fields=["id", "name"])

    assert sorted(r["name"] for r in every) == ["Off", "On"]
    assert [r["name"] for r in active] == ["On"]


def test_contacts_are_read_in_full_every_time_a_client_at_a_time() -> None:
    emulator, clock = account(clients=3, contacts_per_client=2)
    connector = connect(emulator, clock)

    first, cursor = read(connector, "contacts", fields=["id", "firstName", "clientId"])
    second, _c = read(connector, "contacts", since=cursor, fields=["id", "firstName"])

    assert len(first) == len(second) == 6
    assert {r["clientId"] for r in first} == {str(c["id"]) for c in emulator.records("clients")}
    assert emulator.calls()["list"] == 2 * (1 + 3)  # GET /clients, then one per client


def test_get_finds_clients_and_contacts_by_id_and_nothing_for_unknown_ids() -> None:
    emulator, clock = account(clients=2, contacts_per_client=2)
    client = emulator.records("clients")[1]
    contact = emulator.records("contacts")[3]
    connector = connect(emulator, clock)

    clients = connector.get("clients", [str(client["id"]), "999", "abc"])
    before = dict(emulator.calls())
    contacts = connector.get("contacts", [str(contact["id"]), "999"])
    spent = {k: v - before.get(k, 0) for k, v in emulator.calls().items()}
    again = dict(emulator.calls())
    connector.get("contacts", [str(contact["id"])])

    assert [r["id"] for r in clients] == [client["id"]]
    assert [r["id"] for r in contacts] == [contact["id"]]
    assert "cf_newsletter" in contacts[0]
    # the contacts' clients found from the listing: 1 + one list a client, then the detail
    assert spent["list"] == 1 + 2
    assert spent["get"] == 1
    assert emulator.calls()["list"] == again["list"]  # a contact's client is remembered


def test_the_reference_lists_serve_lookups() -> None:
    emulator, clock = account(clients=0)
    connector = connect(emulator, clock)

    segments, _c = read(connector, "client_segments")
    statuses, _c = read(connector, "client_statuses")
    employees, _c = read(connector, "employees")

    assert {"id", "title"} <= set(segments[0])
    assert {s["id"]: s["description"] for s in statuses}[4] == "Terminated"
    assert employees
    assert all("id" in e for e in employees)
    assert connector.get("client_statuses", ["4"])[0]["code"] == statuses[3]["code"]


def test_custom_field_names_come_from_the_settings_offline_and_from_the_account_at_run_time() -> (
    None
):
    emulator, clock = account(clients=1, contacts_per_client=0)
    config = {**emulator.connection_config(), "client_custom_fields": ["Zoho Owner"]}
    offline = ClientSuccessConnector.offline_fields(config, "clients")
    connector = connect(emulator, clock, client_custom_fields=["Zoho Owner"])

    first = connector.describe("clients").fields or {}
    asked = connector.forget_description("clients")
    learned = connector.describe("clients").fields or {}
    contacts_asked = connector.forget_description("contacts")
    contact_fields = connector.describe("contacts").fields or {}

    assert offline is not None
    assert "cf_zoho_owner" in offline
    assert "cf_anything" in offline
    assert "nope" not in offline
    assert "cf_zoho_owner" in first
    assert "cf_renewal_date" not in first
    assert asked
    assert "cf_renewal_date" in learned
    assert "cf_health_notes" in learned
    assert connector.forget_description("clients") is False  # asked once a run
    assert contacts_asked
    assert "cf_preferred_language" in contact_fields
    assert learned["cf_zoho_owner"].label == "Zoho Owner"


def test_a_client_created_then_read_reads_as_written() -> None:
    emulator, clock = account(clients=0)
    connector = connect(emulator, clock)
    values = {k: v for k, v in full_client().items() if k != "customFieldValues"}

    [made] = connector.write("clients", "create", [WriteItem(ref=0, values=values)])
    [record] = connector.get("clients", [str(made.id)])

    assert made.ok, made.error
    assert {k: record[k] for k in values} == values  # dates read back as YYYY-MM-DD
