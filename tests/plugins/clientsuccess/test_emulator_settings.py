"""The emulator's settings and data from its users' points of view: `--set` options (a bad
value is a clear error, not a traceback), the seeded data (realistic and the same for the
same seed), what a test or a sandbox does to the store (seed, change, delete, records), the
connection it hands a spec, and the API over a real loopback server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from integrate.cli import main
from integrate_clientsuccess.emulator import ClientSuccessEmulator
from integrate_clientsuccess.emulator.refusals import EmulatorOptionError
from tests.plugins.clientsuccess.emulator_kit import ADMIN, READER, Cs


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("clients=abc", "clients takes a whole number from 0 to 1000000, not 'abc'"),
        ("clients=-1", "clients takes a whole number from 0 to 1000000, not -1"),
        (
            "contacts_per_client=2.5",
            "contacts_per_client takes a whole number from 0 to 1000000, not 2.5",
        ),
        ("token_lifetime=0", "token_lifetime takes a number of at least 1, not 0"),
        (
            "rate_limit_per_second=fast",
            "rate_limit_per_second takes a number of at least 0, not 'fast'",
        ),
        ("segments=A,A", "segments must be different titles"),
        ("admin_username=", "admin_username takes text of 1 to 255 characters"),
        ("maintenance=sometimes", "maintenance is true or false"),
    ],
)
def test_a_bad_option_value_stops_integrate_emulate_with_a_clear_message(
    option: str, message: str
) -> None:
    result = CliRunner().invoke(main, ["emulate", "clientsuccess", "--set", option])

    assert result.exit_code == 2, result.output
    assert f"clientsuccess emulator: {message}" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_option_stops_integrate_emulate_with_exit_2() -> None:
    result = CliRunner().invoke(main, ["emulate", "clientsuccess", "--set", "accounts=5"])

    assert result.exit_code == 2
    assert "accounts" in result.output
    assert "Traceback" not in result.output


def test_a_bad_option_is_a_value_error_in_python_too() -> None:
    with pytest.raises(ValueError, match="clients takes a whole number"):
        ClientSuccessEmulator(clients=True)
    with pytest.raises(EmulatorOptionError, match="need different names"):
        ClientSuccessEmulator(admin_username="a@x.example", reader_username="A@x.example")


# ---- the seeded data ------------------------------------------------------------------------


def test_the_generated_data_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    def data(seed: int) -> Any:
        cs = Cs(clients=8, seed=seed)
        return cs.emulator.records("clients"), cs.emulator.records("contacts")

    assert data(3) == data(3)
    assert data(3) != data(4)


def test_the_default_account_has_clients_with_contacts_and_the_data_is_realistic() -> None:
    cs = Cs(clients=60, contacts_per_client=3)
    del cs.emulator  # only the API from here on
    everyone = cs.ok("GET", "/clients", params={"activeOnly": "false"})

    assert len(everyone) == 60
    assert len(cs.ok("GET", "/clients")) < 60  # some are inactive
    assert {c["statusId"] for c in everyone} == {1, 2, 3, 4}
    terminated = [c for c in everyone if c["statusId"] == 4]
    assert all(c["terminatedDate"] and c["active"] is False for c in terminated)
    with_crm_id = [c for c in everyone if c["externalId"]]
    assert 0 < len(with_crm_id) < 60
    one = cs.ok("GET", "/clients", params={"externalId": with_crm_id[0]["externalId"]})
    assert one["id"] == with_crm_id[0]["id"]
    assert any(not name.isascii() for name in (c["name"] for c in everyone))
    assert all(c["siteUrl"].startswith("https://") and c["city"] for c in everyone)
    assert len({c["createdDate"][:7] for c in everyone}) > 3  # spread over the year
    contacts = [p for c in everyone for p in cs.ok("GET", f"/clients/{c['id']}/contacts")]
    assert 120 <= len(contacts) <= 240
    assert any(p["email"] is None for p in contacts)  # a contact may have no email
    assert any(p["lastName"] is None for p in contacts)
    assert any(p["externalId"] for p in contacts)
    details = cs.ok("GET", f"/clients/{everyone[0]['id']}/contacts/{contacts[0]['id']}/details")
    assert "customFieldValues" in details


def test_the_defaults_are_non_zero() -> None:
    emulator = ClientSuccessEmulator()

    assert len(emulator.records("clients")) == 10
    assert len(emulator.records("contacts")) > 10


# ---- what a test or a sandbox does to the store -------------------------------------------------


def test_seeded_records_read_through_the_api_as_made_by_a_user() -> None:
    cs = Cs()
    [client] = cs.emulator.seed("clients", [{"id": 42, "name": "Acme", "externalId": "zcrm_1",
                                            "customFieldValues": [{"label": "Zoho Owner", "value": "Ann"}]}])  # fmt: skip
    [contact] = cs.emulator.seed(
        "contacts", [{"clientId": 42, "firstName": "Jane", "email": "j@acme.example"}]
    )

    assert client["id"] == 42
    assert cs.ok("GET", "/clients", params={"externalId": "zcrm_1"}) == client
    assert cs.ok("GET", f"/clients/42/contacts/{contact['id']}/details") == contact
    assert contact["id"] > 42
    with pytest.raises(ValueError, match="A client with this external id already exists"):
        cs.emulator.seed("clients", [{"name": "Dup", "externalId": "zcrm_1"}])
    with pytest.raises(ValueError, match="Client name is required"):
        cs.emulator.seed("clients", [{"externalId": "zcrm_2"}])
    with pytest.raises(KeyError):
        cs.emulator.seed("contacts", [{"clientId": 7, "firstName": "J"}])


def test_a_users_change_moves_last_modified_and_keeps_what_it_does_not_name() -> None:
    cs = Cs()
    made = cs.client(city="Austin", externalId="zcrm_1")
    contact = cs.contact(made["id"])
    cs.clock.advance(30)

    changed = cs.emulator.change("clients", str(made["id"]), {"city": "Dallas"})
    edited = cs.emulator.change("contacts", str(contact["id"]), {"title": "CTO"})

    assert (changed["city"], changed["externalId"]) == ("Dallas", "zcrm_1")
    assert changed["lastModifiedDate"] > made["lastModifiedDate"]
    assert (edited["title"], edited["email"]) == ("CTO", contact["email"])
    assert cs.ok("GET", f"/clients/{made['id']}")["lastModifiedDate"] == changed["lastModifiedDate"]
    cs.emulator.delete("clients", str(made["id"]))
    assert cs.emulator.records("clients") == []
    assert cs.emulator.records("contacts") == []


def test_records_of_the_reference_objects_and_users_hold_no_password() -> None:
    emulator = ClientSuccessEmulator(clients=0)

    assert emulator.records("client_segments")[0] == {"id": 1, "title": "Enterprise"}
    assert [s["id"] for s in emulator.records("client_statuses")] == [1, 2, 3, 4]
    assert emulator.records("users") == [{"username": ADMIN[0], "admin": True},
                                         {"username": READER[0], "admin": False}]  # fmt: skip
    with pytest.raises(KeyError):
        emulator.records("interactions")


def test_the_connection_points_at_the_emulator_with_the_admin_user() -> None:
    emulator = ClientSuccessEmulator.for_connection({"username": "ops@vendor.example"}, clients=0)

    config = emulator.connection_config()
    assert config == {"base_url": "https://api.clientsuccess.com/v1", "username": "ops@vendor.example",
                      "password": ADMIN[1]}  # fmt: skip


def test_the_served_emulator_answers_on_loopback() -> None:
    emulator = ClientSuccessEmulator(clients=2, contacts_per_client=1)
    try:
        url = emulator.serve("127.0.0.1", 0)
        base = emulator.connection_config()["base_url"]
        assert base == f"{url}/v1"
        with httpx.Client(timeout=5) as http:
            token = http.post(
                f"{base}/auth", data={"username": ADMIN[0], "password": ADMIN[1]}
            ).json()["access_token"]
            listed = http.get(
                f"{base}/clients", headers={"Authorization": token}, params={"activeOnly": "false"}
            )
        assert listed.status_code == 200
        assert len(listed.json()) == 2
    finally:
        emulator.close()
