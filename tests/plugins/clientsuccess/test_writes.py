"""clientsuccess writes against the emulator: PUT replaces the whole record, so an update
must never clear a field the spec does not map (a client and a contact with every field
set); custom fields by label both ways; refusals fail their record with ClientSuccess's
userMessage; upsert by externalId; the calls each write costs."""

from __future__ import annotations

from typing import Any

from integrate import AMBIGUOUS, Faults
from tests.plugins.clientsuccess.kit import account, connect, full_client, full_contact, item, read

KEY = ("externalId",)
MOVING = ("lastModifiedDate", "modifiedByEmployeeId")  # ClientSuccess sets them on a write


def unchanged_but(before: dict[str, Any], after: dict[str, Any], *changed: str) -> list[str]:
    """The fields whose value differs between two reads, other than those expected to."""
    keys = set(before) | set(after)
    return sorted(k for k in keys if k not in (*changed, *MOVING) and before.get(k) != after.get(k))


# ---- never clear what the spec does not map --------------------------------------------------


def test_an_update_of_one_client_field_keeps_every_other_field_and_custom_value() -> None:
    emulator, clock = account()
    [client] = emulator.seed("clients", [full_client()])
    connector = connect(emulator, clock)

    [result] = connector.write("clients", "update", [item(id=client["id"], city="Oslo")])

    assert result.ok, result.error
    [after] = [c for c in emulator.records("clients") if c["id"] == client["id"]]
    assert after["city"] == "Oslo"
    assert unchanged_but(client, after, "city") == []
    assert all(v["value"] is not None for v in after["customFieldValues"])
    assert emulator.calls().get("update") == 1


def test_an_update_of_one_custom_value_keeps_the_others_and_every_field() -> None:
    emulator, clock = account()
    [client] = emulator.seed("clients", [full_client()])
    connector = connect(emulator, clock)

    [result] = connector.write(
        "clients", "update", [item(id=client["id"], cf_health_notes="Amber")]
    )

    assert result.ok, result.error
    [after] = [c for c in emulator.records("clients") if c["id"] == client["id"]]
    values = {v["label"]: v["value"] for v in after["customFieldValues"]}
    assert values == {
        "Zoho Owner": "Avery Quinn",
        "Renewal Date": "2027-01-01",
        "Contract Value": "12000",
        "Health Notes": "Amber",
    }
    assert unchanged_but(client, after, "customFieldValues") == []


def test_an_update_of_one_contact_field_keeps_every_other_field_and_custom_value() -> None:
    emulator, clock = account()
    [client] = emulator.seed("clients", [full_client()])
    [contact] = emulator.seed("contacts", [full_contact(client["id"])])
    connector = connect(emulator, clock)

    [result] = connector.write("contacts", "update", [item(id=contact["id"], title="CTO")])

    assert result.ok, result.error
    [after] = [c for c in emulator.records("contacts") if c["id"] == contact["id"]]
    assert after["title"] == "CTO"
    assert unchanged_but(contact, after, "title") == []
    assert [v["value"] for v in after["customFieldValues"]] == ["Inès Laurent", "fr", "true"]


def test_a_mapped_field_set_to_null_is_cleared_and_nothing_else() -> None:
    emulator, clock = account()
    [client] = emulator.seed("clients", [full_client()])
    connector = connect(emulator, clock)

    [result] = connector.write(
        "clients", "update", [item(id=client["id"], note=None, cf_zoho_owner=None)]
    )

    assert result.ok, result.error
    [after] = [c for c in emulator.records("clients") if c["id"] == client["id"]]
    assert after["note"] is None
    assert {v["label"]: v["value"] for v in after["customFieldValues"]}["Zoho Owner"] is None
    assert unchanged_but(client, after, "note", "customFieldValues") == []


# ---- custom fields, dates ----------------------------------------------------------------------


def test_custom_fields_round_trip_by_label_on_create_update_and_read() -> None:
    emulator, clock = account(clients=0)
    connector = connect(emulator, clock)

    [made] = connector.write(
        "clients",
        "create",
        [item(name="Acme", externalId="z-1", inceptionDate="2024-01-05", cf_zoho_owner="Ann")],
    )
    assert made.ok, made.error
    assert made.created
    [updated] = connector.write(
        "clients", "update", [item(id=made.id, cf_renewal_date="2027-03-01")]
    )
    assert updated.ok, updated.error

    [stored] = emulator.records("clients")
    values = {v["label"]: v["value"] for v in stored["customFieldValues"]}
    assert values["Zoho Owner"] == "Ann"
    assert values["Renewal Date"] == "2027-03-01"
    assert stored["inceptionDate"] == "2024-01-05T00:00:00.000Z"
    [record], _cursor = read(connector)
    assert record["cf_zoho_owner"] == "Ann"
    assert record["cf_renewal_date"] == "2027-03-01"
    assert record["inceptionDate"] == "2024-01-05"  # a date, as Zoho CRM's dates read
    assert "customFieldValues" not in record
    assert emulator.calls().get("patch") == 1  # the create's custom value went by PATCH


def test_a_contact_is_created_under_its_client_with_its_custom_fields() -> None:
    emulator, clock = account(clients=1, contacts_per_client=0)
    [client] = emulator.records("clients")
    connector = connect(emulator, clock)

    [made] = connector.write(
        "contacts",
        "create",
        [item(clientId=client["id"], firstName="Jo", email="jo@x.example", cf_newsletter=True)],
    )

    assert made.ok, made.error
    [stored] = emulator.records("contacts")
    assert str(stored["id"]) == made.id
    assert stored["clientId"] == client["id"]
    assert {v["label"]: v["value"] for v in stored["customFieldValues"]}["Newsletter"] == "true"


def test_a_contact_without_its_client_fails_alone_and_sends_nothing() -> None:
    emulator, clock = account(clients=1, contacts_per_client=0)
    connector = connect(emulator, clock)
    before = emulator.calls().get("create", 0)

    [result] = connector.write("contacts", "create", [item(firstName="Jo")])

    assert not result.ok
    assert result.code == "NO_CLIENT"
    assert "clientId" in result.error
    assert emulator.calls().get("create", 0) == before


def test_an_unknown_custom_field_fails_its_record_with_the_names_there_are() -> None:
    emulator, clock = account(clients=1)
    [client] = emulator.records("clients")
    connector = connect(emulator, clock)

    [result] = connector.write("clients", "update", [item(id=client["id"], cf_nope="x")])

    assert not result.ok
    assert result.code == "INVALID_VALUE"
    assert "cf_nope" in result.error
    assert "cf_zoho_owner" in result.error
    assert emulator.calls().get("update", 0) == 0


# ---- refusals ----------------------------------------------------------------------------------


def test_refusals_fail_their_record_alone_with_the_user_message() -> None:
    emulator, clock = account(clients=0)
    emulator.seed("clients", [{"name": "Holder", "externalId": "taken"}])
    connector = connect(emulator, clock)

    results = connector.write(
        "clients",
        "create",
        [
            item(0, name="Fine", externalId="new"),
            item(1, externalId="no-name"),
            item(2, name="Twin", externalId="taken"),
        ],
    )

    assert [r.ok for r in results] == [True, False, False]
    assert results[1].code == "INVALID"
    assert "Client name is required" in results[1].error
    assert results[2].code == "EXPECTATION_FAILED"
    assert "A client with this external id already exists" in results[2].error
    assert sorted(c["name"] for c in emulator.records("clients")) == ["Fine", "Holder"]


def test_moving_a_contact_to_another_client_fails_with_the_vendors_words() -> None:
    emulator, clock = account(clients=2, contacts_per_client=1)
    first, second = emulator.records("clients")
    contact = next(c for c in emulator.records("contacts") if c["clientId"] == first["id"])
    connector = connect(emulator, clock)

    [result] = connector.write(
        "contacts", "update", [item(id=contact["id"], clientId=second["id"])]
    )

    assert not result.ok
    assert result.code == "INVALID"
    assert "A contact cannot be moved to another client" in result.error


def test_an_update_of_a_missing_record_fails_not_found() -> None:
    emulator, clock = account(clients=1)
    connector = connect(emulator, clock)

    [client] = connector.write("clients", "update", [item(id="123", city="X")])
    [contact] = connector.write("contacts", "update", [item(id="123", title="X")])

    assert (client.ok, client.code) == (False, "NOT_FOUND")
    assert (contact.ok, contact.code) == (False, "NOT_FOUND")


def test_a_create_answered_503_is_ambiguous_not_failed() -> None:
    emulator, clock = account(clients=0)
    connector = connect(emulator, clock)
    read(connector, "client_statuses")  # logged in before the faults
    emulator.faults = Faults(server_error=1.0, error_status=503)

    [result] = connector.write("clients", "create", [item(name="Maybe")])

    assert not result.ok
    assert result.code == AMBIGUOUS


# ---- upsert ------------------------------------------------------------------------------------


def test_upsert_by_external_id_updates_the_client_that_has_it_and_creates_the_others() -> None:
    emulator, clock = account(clients=0)
    [held] = emulator.seed("clients", [full_client()])
    connector = connect(emulator, clock)

    found, new = connector.write(
        "clients",
        "upsert",
        [
            item(0, keys=KEY, externalId="zcrm_full_1", city="Oslo"),
            item(1, keys=KEY, externalId="zcrm_new", name="New"),
        ],
    )

    assert (found.ok, found.created, found.id) == (True, False, str(held["id"]))
    assert (new.ok, new.created) == (True, True)
    after = {c["externalId"]: c for c in emulator.records("clients")}
    assert after["zcrm_full_1"]["city"] == "Oslo"
    assert unchanged_but(held, after["zcrm_full_1"], "city") == []
    assert after["zcrm_new"]["name"] == "New"


# ---- costs and concurrency ----------------------------------------------------------------------


def test_each_write_costs_its_documented_calls() -> None:
    emulator, clock = account(clients=1, contacts_per_client=1)
    [client] = emulator.records("clients")
    [contact] = emulator.records("contacts")
    connector = connect(emulator, clock)
    read(connector, "contacts", fields=["id", "firstName"])  # the contact's client is known
    start = dict(emulator.calls())

    def spent(call: Any) -> dict[str, int]:
        before = dict(emulator.calls())
        call()
        return {
            k: v - before.get(k, 0) for k, v in emulator.calls().items() if v != before.get(k, 0)
        }

    assert start.get("auth") == 1
    assert spent(lambda: connector.write("clients", "create", [item(name="A")])) == {"create": 1}
    assert spent(
        lambda: connector.write("clients", "create", [item(name="B", cf_zoho_owner="X")])
    ) == {"create": 1, "patch": 1}
    assert spent(
        lambda: connector.write("clients", "update", [item(id=client["id"], city="C")])
    ) == {"get": 1, "update": 1}
    assert spent(
        lambda: connector.write("contacts", "update", [item(id=contact["id"], title="T")])
    ) == {"get": 1, "update": 1}


def test_a_batch_of_writes_goes_out_within_the_connections_concurrency() -> None:
    emulator, clock = account(clients=0)
    connector = connect(emulator, clock, concurrency=3)

    results = connector.write("clients", "create", [item(i, name=f"C{i}") for i in range(9)])

    assert connector.write_concurrency() == 3
    assert connector.describe("clients").one_per_call
    assert [r.ref for r in results] == list(range(9))
    assert all(r.ok for r in results)
    assert len({r.id for r in results}) == 9
    assert len(emulator.records("clients")) == 9
