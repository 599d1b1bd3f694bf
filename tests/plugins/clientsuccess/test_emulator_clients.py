"""Clients against targets.md §3.3-3.5 and the ASSUMED decisions: the unpaged list and its
`activeOnly`, the lookup by externalId (one object or 404), the detail with its custom values,
create, PUT as a full replace (omitted fields and custom values become null; custom values
matched by label), the custom-value PATCH answering plain text, delete, validation in
`userMessage`, and `lastModifiedDate`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.clientsuccess.emulator_kit import Cs, custom


@pytest.fixture
def cs() -> Cs:
    return Cs()


# ---- §3.3: GET /clients ---------------------------------------------------------------------


def test_the_list_is_a_plain_array_of_active_clients_without_custom_values(cs: Cs) -> None:
    active = cs.client(name="Acme")
    inactive = cs.client(name="Hooli", active=False)

    listed = cs.ok("GET", "/clients")
    assert isinstance(listed, list)
    assert [c["id"] for c in listed] == [active["id"]]
    assert "customFieldValues" not in listed[0]
    assert {k: v for k, v in active.items() if k != "customFieldValues"} == listed[0]
    everyone = cs.ok("GET", "/clients", params={"activeOnly": "false"})
    assert [c["id"] for c in everyone] == [active["id"], inactive["id"]]
    assert cs.ok("GET", "/clients", params={"activeOnly": "TRUE"}) == listed
    assert cs.refused("GET", "/clients", 400, params={"activeOnly": "yes"}) == (
        "activeOnly must be true or false"
    )


def test_the_list_is_not_paged() -> None:
    cs = Cs(clients=300, contacts_per_client=0)

    assert len(cs.ok("GET", "/clients", params={"activeOnly": "false"})) == 300


def test_the_list_filters_by_assigned_csm(cs: Cs) -> None:
    mine = cs.client(name="Mine", managedByEmployeeId=2)
    cs.client(name="Theirs", managedByEmployeeId=3)

    assert [c["id"] for c in cs.ok("GET", "/clients", params={"assignedCsmId": "2"})] == [
        mine["id"]
    ]
    assert mine["assignedCSM"] == "Mateusz Wójcik"


def test_an_external_id_lookup_answers_one_client_with_custom_values(cs: Cs) -> None:
    made = cs.client(externalId="zcrm_4876000000123", active=False)

    found = cs.ok("GET", "/clients", params={"externalId": "zcrm_4876000000123"})
    assert found == made  # one object, the detail, inactive or not
    for missing in ("ZCRM_4876000000123", "zcrm_4876000000123 ", "zcrm_487600000012", ""):
        assert (
            cs.refused("GET", "/clients", 404, params={"externalId": missing}) == "Client not found"
        )


def test_the_detail_has_one_custom_value_per_definition_null_when_unset(cs: Cs) -> None:
    made = cs.client()
    detail = cs.ok("GET", f"/clients/{made['id']}")

    assert custom(detail) == {"Zoho Owner": None, "Renewal Date": None, "Contract Value": None,
                              "Health Notes": None}  # fmt: skip
    item = detail["customFieldValues"][0]
    assert set(item) == {"id", "clientId", "fieldId", "valueId", "key", "name", "label", "value",
                         "type", "sequence", "autoSync", "push", "pull"}  # fmt: skip
    assert item["clientId"] == made["id"]
    assert item["fieldId"] == 51
    assert cs.refused("GET", "/clients/1", 404) == "Client not found"
    assert cs.refused("GET", "/clients/abc", 404) == "Client not found"


# ---- §3.5: POST /clients --------------------------------------------------------------------


def test_a_create_answers_201_with_the_detail_and_defaults(cs: Cs) -> None:
    body = {"name": "Acme Corp", "externalId": "zcrm_4876000000123", "statusId": 1, "active": True,
            "siteUrl": "https://acme.example", "city": "Austin", "state": "TX", "country": "US"}  # fmt: skip
    answer = cs.call("POST", "/clients", json=body)

    assert answer.status_code == 201
    made = answer.json()
    assert {k: made[k] for k in body} == body
    assert isinstance(made["id"], int)
    assert made["uuid"].startswith("cln_")
    assert made["crmCustomerId"] is None
    assert made["createdDate"] == made["lastModifiedDate"]
    assert made["createdDate"].endswith("Z")
    assert len(made["createdDate"]) == 24
    bare = cs.client(name="Bare")
    assert (bare["active"], bare["statusId"]) == (True, 1)
    assert cs.ok("GET", f"/clients/{made['id']}") == made


def test_active_client_is_accepted_as_active_on_input(cs: Cs) -> None:
    made = cs.client(activeClient=False)

    assert made["active"] is False
    assert "activeClient" not in made


@pytest.mark.parametrize(
    ("sent", "answered"),
    [
        ("2024-01-05", "2024-01-05T00:00:00.000Z"),
        ("2024-01-05T15:30:00Z", "2024-01-05T00:00:00.000Z"),
        ("2024-01-05T15:30:00.250+00:00", "2024-01-05T00:00:00.000Z"),
        ("2024-01-05T23:30:00-05:00", "2024-01-06T00:00:00.000Z"),  # the date in UTC
    ],
)
def test_dates_are_taken_as_a_day_or_a_date_time_and_answered_at_midnight_utc(
    cs: Cs, sent: str, answered: str
) -> None:
    made = cs.client(inceptionDate=sent, terminatedDate=sent)

    assert (made["inceptionDate"], made["terminatedDate"]) == (answered, answered)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Client name is required"),
        ({"name": None}, "Client name is required"),
        ({"name": "   "}, "Client name is required"),
        ({"name": "x" * 256}, "name is too long (at most 255 characters)"),
        ({"name": "Acme", "externalId": "x" * 101}, "externalId is too long (at most 100 characters)"),
        ({"name": "Acme", "statusId": 9}, "Unknown client status: 9"),
        ({"name": "Acme", "statusId": "1"}, "statusId must be a whole number"),
        ({"name": "Acme", "clientSegmentId": 99}, "Unknown client segment: 99"),
        ({"name": "Acme", "managedByEmployeeId": 99}, "Unknown employee: 99"),
        ({"name": "Acme", "active": "yes"}, "active must be true or false"),
        ({"name": "Acme", "npsScore": 101}, "npsScore must be from -100 to 100"),
        ({"name": "Acme", "salesforceAccountId": "0" * 19}, "salesforceAccountId is too long (at most 18 characters)"),
        ({"name": "Acme", "inceptionDate": "05/01/2024"}, "inceptionDate must be a date (YYYY-MM-DD or an ISO date-time), not 05/01/2024"),
        ({"name": "Acme", "inceptionDate": "2024-02-30"}, "inceptionDate must be a date (YYYY-MM-DD or an ISO date-time), not 2024-02-30"),
        ({"name": "Acme", "timezone": "Mars/Olympus"}, "timezone must be a time zone of the tz database, not Mars/Olympus"),
        ({"name": "Acme", "city": 12}, "city must be text"),
        ({"name": "Acme", "customFieldValues": [{"label": "Nope", "value": "1"}]}, "Unknown custom field: Nope"),
    ],
)  # fmt: skip
def test_a_create_that_breaks_a_rule_is_a_400_saying_which(
    cs: Cs, body: dict[str, Any], message: str
) -> None:
    assert cs.refused("POST", "/clients", 400, json=body) == message
    assert cs.emulator.records("clients") == []


def test_an_external_id_another_client_holds_is_a_417(cs: Cs) -> None:
    first = cs.client(name="Acme", externalId="zcrm_1")
    second = cs.client(name="Hooli", externalId="ZCRM_1")  # another id: case counts

    assert cs.refused("POST", "/clients", 417, json={"name": "Dup", "externalId": "zcrm_1"}) == (
        "A client with this external id already exists"
    )
    put = {"name": "Hooli", "externalId": "zcrm_1"}
    assert cs.refused("PUT", f"/clients/{second['id']}", 417, json=put).startswith("A client with")
    assert cs.ok("PUT", f"/clients/{first['id']}", json={"name": "Acme", "externalId": "zcrm_1"})
    assert len(cs.emulator.records("clients")) == 2


def test_an_empty_external_id_is_no_external_id(cs: Cs) -> None:
    first, second = cs.client(name="A", externalId=""), cs.client(name="B", externalId="")

    assert (first["externalId"], second["externalId"]) == ("", "")
    assert cs.refused("GET", "/clients", 404, params={"externalId": ""}) == "Client not found"


# ---- §3.3: PUT /clients/{id}, a full replace -------------------------------------------------


def test_a_put_sets_every_field_it_omits_to_null_custom_values_included(cs: Cs) -> None:
    made = cs.client(externalId="zcrm_1", city="Austin", statusId=2, inceptionDate="2024-01-05",
                     customFieldValues=[{"label": "Zoho Owner", "value": "Ann"}])  # fmt: skip
    assert custom(made)["Zoho Owner"] == "Ann"

    replaced = cs.ok("PUT", f"/clients/{made['id']}", json={"name": "Acme Renamed"})

    assert replaced["name"] == "Acme Renamed"
    for field in ("externalId", "city", "statusId", "inceptionDate", "active"):
        assert replaced[field] is None, field
    assert set(custom(replaced).values()) == {None}
    assert (replaced["id"], replaced["uuid"], replaced["createdDate"]) == (
        made["id"], made["uuid"], made["createdDate"])  # fmt: skip
    assert cs.ok("GET", f"/clients/{made['id']}") == replaced
    assert cs.refused("GET", "/clients", 404, params={"externalId": "zcrm_1"}) == "Client not found"


def test_a_put_matches_custom_values_by_label_and_clears_those_not_sent(cs: Cs) -> None:
    made = cs.client(customFieldValues=[{"label": "Zoho Owner", "value": "Ann"},
                                        {"label": "Contract Value", "value": "1000"}])  # fmt: skip
    sent = [{"label": "Renewal Date", "value": "2027-01-31", "fieldId": 999, "id": 5},
            {"label": "Zoho Owner", "value": "Bob"}]  # fmt: skip

    replaced = cs.ok(
        "PUT", f"/clients/{made['id']}", json={"name": "Acme", "customFieldValues": sent}
    )

    assert custom(replaced) == {"Zoho Owner": "Bob", "Renewal Date": "2027-01-31",
                                "Contract Value": None, "Health Notes": None}  # fmt: skip
    owner = next(i for i in replaced["customFieldValues"] if i["label"] == "Zoho Owner")
    before = next(i for i in made["customFieldValues"] if i["label"] == "Zoho Owner")
    assert owner["valueId"] == before["valueId"]  # the same value, changed
    bad = [{"label": "Zoho owner", "value": "x"}]
    assert cs.refused(
        "PUT", f"/clients/{made['id']}", 400, json={"name": "A", "customFieldValues": bad}
    ) == ("Unknown custom field: Zoho owner")


def test_get_modify_put_keeps_every_field_and_ignores_server_fields(cs: Cs) -> None:
    made = cs.client(externalId="zcrm_1", city="Łódź", note="VIP", npsScore=-5,
                     customFieldValues=[{"label": "Zoho Owner", "value": "Ann"}])  # fmt: skip
    detail = cs.ok("GET", f"/clients/{made['id']}")
    cs.clock.advance(60)

    sent = {
        **detail,
        "city": "Kraków",
        "id": 1,
        "uuid": "cln_forged",
        "createdDate": "2000-01-01T00:00:00.000Z",
    }
    replaced = cs.ok("PUT", f"/clients/{made['id']}", json=sent)

    assert replaced["city"] == "Kraków"
    unchanged = {k: v for k, v in replaced.items() if k not in ("city", "lastModifiedDate")}
    assert unchanged == {k: v for k, v in detail.items() if k not in ("city", "lastModifiedDate")}
    assert replaced["lastModifiedDate"] > detail["lastModifiedDate"]


def test_a_put_of_an_unknown_client_is_a_404(cs: Cs) -> None:
    assert cs.refused("PUT", "/clients/123", 404, json={"name": "A"}) == "Client not found"


# ---- lastModifiedDate ------------------------------------------------------------------------


def test_last_modified_moves_on_every_client_write_and_not_on_contact_writes(cs: Cs) -> None:
    made = cs.client()
    path = f"/clients/{made['id']}"
    stamps = [made["lastModifiedDate"]]
    cs.clock.advance(1)
    cs.ok("PUT", path, json={"name": "Acme"})  # changes nothing, still a write
    stamps.append(cs.ok("GET", path)["lastModifiedDate"])
    cs.clock.advance(1)
    cs.call("PATCH", f"/customfield/value/client/{made['id']}", json={"Zoho Owner": "Ann"})
    stamps.append(cs.ok("GET", path)["lastModifiedDate"])
    assert stamps == sorted(set(stamps))

    contact = cs.contact(made["id"])
    cs.ok("PUT", f"{path}/contacts/{contact['id']}/details", json={"firstName": "J"})
    cs.ok("DELETE", f"{path}/contacts/{contact['id']}", 204)
    assert cs.ok("GET", path)["lastModifiedDate"] == stamps[-1]
    assert "lastModifiedDate" not in contact


# ---- §3.3: PATCH /customfield/value/client/{id} -------------------------------------------------


def test_a_custom_value_patch_answers_plain_text_and_changes_only_the_labels_sent(cs: Cs) -> None:
    made = cs.client(customFieldValues=[{"label": "Contract Value", "value": "1000"}])

    answer = cs.call("PATCH", f"/customfield/value/client/{made['id']}", json={"Zoho Owner": "Ann"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == "Update successful"
    assert custom(cs.ok("GET", f"/clients/{made['id']}")) == {
        "Zoho Owner": "Ann", "Renewal Date": None, "Contract Value": "1000", "Health Notes": None}  # fmt: skip


def test_a_custom_value_patch_refuses_an_unknown_label_or_client(cs: Cs) -> None:
    made = cs.client()
    path = f"/customfield/value/client/{made['id']}"

    assert cs.refused("PATCH", path, 400, json={"Zoho Owner": "Ann", "Owner": "x"}) == (
        "Unknown custom field: Owner"
    )
    assert cs.refused("PATCH", path, 400, json={"Zoho Owner": 5}) == (
        "The value of custom field Zoho Owner must be text"
    )
    assert set(custom(cs.ok("GET", f"/clients/{made['id']}")).values()) == {None}
    assert cs.refused("PATCH", "/customfield/value/client/1", 404, json={"Zoho Owner": "A"}) == (
        "Client not found"
    )


# ---- DELETE /clients/{id} -------------------------------------------------------------------


def test_a_delete_answers_204_and_takes_the_clients_contacts_with_it(cs: Cs) -> None:
    made, kept = cs.client(externalId="zcrm_1"), cs.client(name="Kept")
    cs.contact(made["id"])
    other = cs.contact(kept["id"])

    answer = cs.call("DELETE", f"/clients/{made['id']}")

    assert (answer.status_code, answer.content) == (204, b"")
    assert cs.refused("GET", f"/clients/{made['id']}", 404) == "Client not found"
    assert [c["id"] for c in cs.emulator.records("contacts")] == [other["id"]]
    assert cs.refused("DELETE", f"/clients/{made['id']}", 404) == "Client not found"
    assert cs.client(externalId="zcrm_1")["externalId"] == "zcrm_1"  # the id is free again
