"""Contacts and the reference data against targets.md §3.3-3.4 and the ASSUMED decisions:
summaries without custom values, details with them, ids unique across clients and 404 under
another client, create, PUT details as a full replace that cannot move a contact, delete, the
lookup by client externalId and email, the search, and the statuses, segments, employees and
contact custom fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.clientsuccess.emulator_kit import Cs, custom


@pytest.fixture
def cs() -> Cs:
    return Cs()


def test_contacts_list_as_summaries_and_read_in_full_as_details(cs: Cs) -> None:
    acme = cs.client()
    body = {"firstName": "Jane", "lastName": "Doe", "email": "jane.doe@acme.example", "title": "IT Manager",
            "phone": "+1 555 0100", "mobile": "+1 555 0101", "externalId": "zcrm_contact_99"}  # fmt: skip
    made = cs.ok("POST", f"/clients/{acme['id']}/contacts", json=body)
    path = f"/clients/{acme['id']}/contacts"

    assert {k: made[k] for k in body} == body
    assert made["clientId"] == acme["id"]
    assert made["name"] == "Jane Doe"
    assert made["uuid"].startswith("cnt_")
    assert (made["executiveSponsor"], made["champion"], made["keyContact"]) == (False, False, False)
    summary = {k: v for k, v in made.items() if k != "customFieldValues"}
    assert cs.ok("GET", path) == [summary]
    assert cs.ok("GET", f"{path}/{made['id']}") == summary
    details = cs.ok("GET", f"{path}/{made['id']}/details")
    assert details == made
    assert custom(details) == {
        "Zoho Contact Owner": None,
        "Preferred Language": None,
        "Newsletter": None,
    }
    assert details["customFieldValues"][0]["contactId"] == made["id"]


def test_contact_ids_are_unique_across_clients_and_another_clients_contact_is_a_404(cs: Cs) -> None:
    acme, hooli = cs.client(), cs.client(name="Hooli")
    jane, joe = cs.contact(acme["id"]), cs.contact(hooli["id"], firstName="Joe")

    assert jane["id"] != joe["id"]
    for tail in ("", "/details"):
        assert cs.refused("GET", f"/clients/{hooli['id']}/contacts/{jane['id']}{tail}", 404) == (
            "Contact not found"
        )
    assert cs.refused("DELETE", f"/clients/{hooli['id']}/contacts/{jane['id']}", 404)
    assert cs.refused("GET", f"/clients/1/contacts/{jane['id']}", 404) == "Client not found"
    assert [c["id"] for c in cs.emulator.records("contacts")] == [jane["id"], joe["id"]]


@pytest.mark.parametrize(
    "body", [{}, {"firstName": ""}, {"title": "CEO", "phone": "1"}, {"email": None}]
)
def test_a_contact_needs_a_first_name_a_last_name_or_an_email(cs: Cs, body: dict[str, Any]) -> None:
    acme = cs.client()

    assert cs.refused("POST", f"/clients/{acme['id']}/contacts", 400, json=body) == (
        "A contact needs a first name, a last name or an email"
    )
    for one in ({"firstName": "J"}, {"lastName": "D"}, {"email": "j@d.example"}):
        cs.ok("POST", f"/clients/{acme['id']}/contacts", json=one)


def test_a_contact_under_an_unknown_client_is_a_404(cs: Cs) -> None:
    assert (
        cs.refused("POST", "/clients/5/contacts", 404, json={"firstName": "J"})
        == "Client not found"
    )
    assert cs.refused("GET", "/clients/5/contacts", 404) == "Client not found"


def test_a_details_put_replaces_the_whole_contact(cs: Cs) -> None:
    acme = cs.client()
    made = cs.contact(acme["id"], title="CEO", phone="+1 555 0100", champion=True,
                      customFieldValues=[{"label": "Preferred Language", "value": "Polski"}])  # fmt: skip
    path = f"/clients/{acme['id']}/contacts/{made['id']}/details"
    assert custom(made)["Preferred Language"] == "Polski"

    replaced = cs.ok("PUT", path, json={"firstName": "Janet", "email": "janet@acme.example"})

    assert (replaced["firstName"], replaced["email"], replaced["name"]) == (
        "Janet",
        "janet@acme.example",
        "Janet",
    )
    for field in ("lastName", "title", "phone", "champion"):
        assert replaced[field] is None, field
    assert set(custom(replaced).values()) == {None}
    assert (replaced["id"], replaced["uuid"], replaced["clientId"]) == (
        made["id"],
        made["uuid"],
        acme["id"],
    )
    assert cs.ok("GET", path) == replaced
    again = cs.ok(
        "PUT",
        path,
        json={**replaced, "customFieldValues": [{"label": "Newsletter", "value": "true"}]},
    )
    assert custom(again)["Newsletter"] == "true"


def test_a_details_put_cannot_move_a_contact_to_another_client(cs: Cs) -> None:
    acme, hooli = cs.client(), cs.client(name="Hooli")
    made = cs.contact(acme["id"])
    path = f"/clients/{acme['id']}/contacts/{made['id']}/details"

    assert cs.refused("PUT", path, 400, json={"firstName": "J", "clientId": hooli["id"]}) == (
        "A contact cannot be moved to another client"
    )
    assert (
        cs.ok("PUT", path, json={"firstName": "J", "clientId": acme["id"]})["clientId"]
        == acme["id"]
    )
    assert cs.ok("GET", f"/clients/{hooli['id']}/contacts") == []


def test_a_contact_delete_answers_204(cs: Cs) -> None:
    acme = cs.client()
    made = cs.contact(acme["id"])

    answer = cs.call("DELETE", f"/clients/{acme['id']}/contacts/{made['id']}")

    assert (answer.status_code, answer.content) == (204, b"")
    assert cs.ok("GET", f"/clients/{acme['id']}/contacts") == []


# ---- GET /contacts?clientExternalId=&email= ----------------------------------------------------


def test_the_contact_lookup_matches_the_email_without_case_and_the_external_id_exactly(
    cs: Cs,
) -> None:
    acme = cs.client(externalId="zcrm_1")
    other = cs.client(name="Hooli", externalId="zcrm_2")
    made = cs.contact(acme["id"], email="Jane.Doe@Acme.example")
    cs.contact(other["id"], email="jane.doe@acme.example")

    found = cs.ok(
        "GET", "/contacts", params={"clientExternalId": "zcrm_1", "email": "JANE.DOE@acme.EXAMPLE"}
    )
    assert found == {k: v for k, v in made.items() if k != "customFieldValues"}
    for params in ({"clientExternalId": "ZCRM_1", "email": "jane.doe@acme.example"},
                   {"clientExternalId": "zcrm_1", "email": "jane@acme.example"},
                   {"clientExternalId": "zcrm_3", "email": "jane.doe@acme.example"}):  # fmt: skip
        assert cs.refused("GET", "/contacts", 404, params=params) == "Contact not found"
    assert cs.refused("GET", "/contacts", 400, params={"email": "jane.doe@acme.example"}) == (
        "clientExternalId and email are required"
    )


# ---- GET /contacts/search?term= ---------------------------------------------------------------


def test_the_search_finds_contacts_whose_name_or_email_contains_the_term(cs: Cs) -> None:
    acme, hooli = cs.client(), cs.client(name="Hooli")
    jane = cs.contact(acme["id"], firstName="Jane", lastName="Doe", email="jd@acme.example")
    zoe = cs.contact(hooli["id"], firstName="Zoë", lastName="Müller", email="zoe@hooli.example")
    cs.contact(hooli["id"], firstName="Bob", lastName="Smith", email=None, title="Doe fan")

    def ids(term: str) -> list[int]:
        return [c["id"] for c in cs.ok("GET", "/contacts/search", params={"term": term})]

    assert ids("doe") == [jane["id"]]  # the title is not searched
    assert ids("JANE D") == [jane["id"]]  # the whole name
    assert ids("HOOLI.example") == [zoe["id"]]
    assert ids("müller") == [zoe["id"]]
    assert ids("nobody") == []
    assert "customFieldValues" not in cs.ok("GET", "/contacts/search", params={"term": "jane"})[0]
    assert cs.refused("GET", "/contacts/search", 400, params={"term": " "}) == "term is required"


# ---- reference data --------------------------------------------------------------------------


def test_the_reference_data(cs: Cs) -> None:
    assert cs.ok("GET", "/client-statuses") == [
        {"id": 1, "code": "ACTIVE", "description": "Active"},
        {"id": 2, "code": "ONBOARDING", "description": "Onboarding"},
        {"id": 3, "code": "TRIAL", "description": "Trial"},
        {"id": 4, "code": "TERMINATED", "description": "Terminated"},
    ]
    assert cs.ok("GET", "/client-segments")[0] == {"id": 1, "title": "Enterprise"}
    assert cs.ok("GET", "/contact-custom-fields") == [
        {"id": 61, "label": "Zoho Contact Owner", "type": "text"},
        {"id": 62, "label": "Preferred Language", "type": "text"},
        {"id": 63, "label": "Newsletter", "type": "boolean"},
    ]
    employees = cs.ok("GET", "/employees")
    assert employees[0]["id"] == 1
    assert all({"id", "firstName", "lastName", "email"} <= set(e) for e in employees)


def test_segments_are_a_setting_and_a_client_takes_one_by_id() -> None:
    cs = Cs(segments="Gold, Silver ,Bronze")

    assert cs.ok("GET", "/client-segments") == [
        {"id": 1, "title": "Gold"}, {"id": 2, "title": "Silver"}, {"id": 3, "title": "Bronze"}]  # fmt: skip
    made = cs.client(clientSegmentId=2)
    assert (made["clientSegmentId"], made["clientSegment"]) == (2, "Silver")
    assert cs.refused("POST", "/clients", 400, json={"name": "A", "clientSegmentId": 4}) == (
        "Unknown client segment: 4"
    )
