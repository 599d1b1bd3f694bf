"""The emulator against targets.md §2.5-2.7: the contact payload as written (birthday YYYYMMDD,
address keys, province at the top, consent flags, tags, properties, newEmail, externalId)
and as read (birthday as three integers, tags and properties only from `list`), and every
method of the §2.6 table."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.plugins.salesmanago.emulator_kit import OWNER, Sm

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# The upsert body of §2.5, beyond the authentication block.
EXAMPLE: dict[str, Any] = {
    "async": False,
    "contact": {
        "email": "jane.doe@acme.example",
        "name": "Jane Doe",
        "phone": "+48 600 100 200",
        "fax": "+48 22 100 200",
        "company": "Acme Corp",
        "externalId": "zcrm_4876000000123",
        "state": "PROSPECT",
        "address": {
            "streetAddress": "Main St 1",
            "zipCode": "00-001",
            "city": "Warsaw",
            "country": "PL",
        },
    },
    "newEmail": None,
    "birthday": "19850412",
    "province": "Mazowieckie",
    "lang": "PL",
    "forceOptIn": True,
    "forceOptOut": False,
    "forcePhoneOptIn": False,
    "forcePhoneOptOut": False,
    "tags": ["ZOHO_CRM", "VIP"],
    "removeTags": ["LEAD_COLD"],
    "tagScoring": False,
    "properties": {"zoho_id": "4876000000123", "industry": "Retail"},
}


@pytest.fixture
def sm() -> Sm:
    return Sm()


def test_the_documented_upsert_reads_back_in_the_documented_shape(sm: Sm) -> None:
    contact_id = sm.upsert(
        EXAMPLE["contact"], **{k: v for k, v in EXAMPLE.items() if k != "contact"}
    )
    written_at = int(sm.clock.now() * 1000)

    jane = sm.one("jane.doe@acme.example")

    assert UUID.match(contact_id)  # §2.6: contact ids are UUID strings
    assert (jane["id"], jane["contactId"]) == (contact_id, contact_id)
    assert {k: jane[k] for k in ("name", "email", "phone", "fax", "company", "externalId")} == {
        "name": "Jane Doe",
        "email": "jane.doe@acme.example",
        "phone": "+48 600 100 200",
        "fax": "+48 22 100 200",
        "company": "Acme Corp",
        "externalId": "zcrm_4876000000123",
    }
    assert jane["state"] == "PROSPECT"
    # §2.8 gotcha 6: written YYYYMMDD, read as three integers.
    assert (jane["birthdayYear"], jane["birthdayMonth"], jane["birthdayDay"]) == (1985, 4, 12)
    assert jane["address"] == EXAMPLE["contact"]["address"]
    assert "province" not in jane["address"]  # province sits at the top level
    assert jane["optedOut"] is False
    assert {t["tag"] for t in jane["contactTags"]} == {"ZOHO_CRM", "VIP"}
    assert {p["name"]: p["value"] for p in jane["properties"]} == EXAMPLE["properties"]
    for key in ("score", "optedOutPhone", "deleted", "invalid", "createdOn", "modifiedOn"):
        assert key in jane
    assert jane["createdOn"] == jane["modifiedOn"] == written_at


def test_every_state_of_the_enum_is_taken_and_nothing_else(sm: Sm) -> None:
    for n, state in enumerate(["CUSTOMER", "PROSPECT", "PARTNER", "OTHER", "UNKNOWN"]):
        sm.upsert({"email": f"s{n}@example.com", "state": state})
        assert sm.one(f"s{n}@example.com")["state"] == state

    refused = sm.refused("contact/upsert", {"contact": {"email": "x@example.com", "state": "Lead"}})

    assert refused == ["Invalid state: Lead (one of CUSTOMER, PROSPECT, PARTNER, OTHER, UNKNOWN)"]
    assert (
        sm.post("contact/upsert", {"contact": {"email": "x@example.com", "state": "x"}}).json()[
            "contactId"
        ]
        is None
    )


@pytest.mark.parametrize("birthday", ["1985-04-12", "19851312", "850412", "19850230", 1985, True])
def test_a_birthday_not_written_yyyymmdd_is_refused(sm: Sm, birthday: Any) -> None:
    messages = sm.refused(
        "contact/upsert", {"contact": {"email": "b@example.com"}, "birthday": birthday}
    )

    assert messages[0].startswith("Invalid birthday:")
    assert messages[0].endswith("(expected YYYYMMDD)")


def test_consent_changes_only_when_a_flag_says_so(sm: Sm) -> None:
    # §2.5 and §2.8 gotcha 5: all four false keeps consent; forceOptOut unsubscribes.
    email = {"email": "c@example.com"}
    flags = {"forceOptIn": False, "forceOptOut": False}
    phone = {"forcePhoneOptIn": False, "forcePhoneOptOut": False}
    sm.upsert(email, forceOptOut=True, forceOptIn=False, **phone)
    assert sm.one("c@example.com")["optedOut"] is True
    sm.upsert({**email, "name": "Changed"}, **flags, **phone)
    assert sm.one("c@example.com")["optedOut"] is True
    sm.upsert(email, forceOptIn=True, forceOptOut=False, **phone)
    assert sm.one("c@example.com")["optedOut"] is False
    sm.upsert(email, **flags, forcePhoneOptIn=False, forcePhoneOptOut=True)
    contact = sm.one("c@example.com")
    assert (contact["optedOut"], contact["optedOutPhone"]) == (False, True)


def test_tags_are_kept_upper_case_and_removed_by_remove_tags(sm: Sm) -> None:
    sm.upsert({"email": "t@example.com"}, tags=["vip", "Lead Cold", "ZOHO_CRM"])
    sm.upsert({"email": "t@example.com"}, tags=["webinar"], removeTags=["LEAD_COLD"])

    contact = sm.one("t@example.com")
    [basic] = sm.ok("contact/basic", {"email": ["t@example.com"]})["contacts"]

    assert [t["tag"] for t in contact["contactTags"]] == ["VIP", "ZOHO_CRM", "WEBINAR"]
    # ASSUMED (§2.6): tags and properties come from `list` only.
    assert "contactTags" not in basic
    assert "properties" not in basic
    assert basic["email"] == "t@example.com"


def test_properties_are_a_flat_map_of_values_up_to_255_characters(sm: Sm) -> None:
    many = {f"p{i}": str(i) for i in range(300)}  # count: unlimited
    sm.upsert({"email": "p@example.com"}, properties=many)
    sm.upsert({"email": "p@example.com"}, properties={"p1": "x" * 255})

    stored = {p["name"]: p["value"] for p in sm.one("p@example.com")["properties"]}
    nested = sm.refused(
        "contact/upsert", {"contact": {"email": "p@example.com"}, "properties": {"a": {"b": 1}}}
    )

    assert len(stored) == 300
    assert stored["p1"] == "x" * 255
    assert nested == ["Invalid property a: expected a text value"]


def test_new_email_changes_the_email_of_the_contact(sm: Sm) -> None:
    first = sm.upsert({"email": "old@example.com", "name": "Ola"})
    sm.upsert({"email": "taken@example.com"})

    again = sm.upsert({"email": "old@example.com"}, newEmail="new@example.com")
    clash = sm.refused(
        "contact/upsert", {"contact": {"email": "new@example.com"}, "newEmail": "taken@example.com"}
    )

    assert again == first
    assert sm.listed("old@example.com") == []
    assert sm.one("new@example.com")["name"] == "Ola"
    assert clash == ["Contact with given email already exists"]


def test_external_id_is_read_inside_contact_or_at_the_top(sm: Sm) -> None:
    sm.upsert({"email": "e1@example.com", "externalId": "inside"})
    sm.upsert({"email": "e2@example.com"}, externalId="top")

    assert sm.one("e1@example.com")["externalId"] == "inside"
    assert sm.one("e2@example.com")["externalId"] == "top"


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("a" * 64 + "@example.com", True),
        ("a" * 65 + "@example.com", False),
        ("a" * 60 + "@" + "b" * 61 + "." + "c" * 61 + "." + "d" * 66 + ".pl", True),  # 254
        ("a" * 61 + "@" + "b" * 61 + "." + "c" * 61 + "." + "d" * 66 + ".pl", False),  # 255
        ("no-at-sign.example.com", False),
        ("two@@example.com", False),
        ("space in@example.com", False),
    ],
)
def test_emails_are_checked_rfc_style_with_the_documented_lengths(
    sm: Sm, email: str, ok: bool
) -> None:
    answer = sm.post("contact/upsert", {"contact": {"email": email}}).json()

    assert answer["success"] is ok, (len(email), answer)
    if not ok:
        assert answer["message"][0].startswith("Invalid email")


# ---- the methods of §2.6 ---------------------------------------------------------------


def test_insert_fails_for_an_existing_contact_and_update_for_a_missing_one(sm: Sm) -> None:
    made = sm.ok("contact/insert", {"contact": {"email": "i@example.com", "name": "I"}})
    twice = sm.refused("contact/insert", {"contact": {"email": "i@example.com"}})
    updated = sm.ok("contact/update", {"email": "i@example.com", "contact": {"name": "Renamed"}})
    missing = sm.refused("contact/update", {"email": "none@example.com", "contact": {"name": "X"}})

    assert twice == ["Contact with given email already exists"]
    assert updated["contactId"] == made["contactId"]
    assert sm.one("i@example.com")["name"] == "Renamed"
    assert missing == ["Contact with given email does not exist"]


def test_batchupsert_answers_a_map_of_email_to_id(sm: Sm) -> None:
    answer = sm.ok(
        "contact/batchupsert",
        {
            "upsertDetails": [
                {"contact": {"email": "a@acme.example", "name": "A"}, "tags": ["ZOHO_CRM"]},
                {
                    "contact": {"email": "b@acme.example", "name": "B"},
                    "properties": {"zoho_id": "2"},
                },
            ]
        },
    )

    ids = answer["contactIds"]
    assert sorted(ids) == ["a@acme.example", "b@acme.example"]
    assert sm.one("a@acme.example")["id"] == ids["a@acme.example"]
    assert sm.one("b@acme.example")["properties"] == [{"name": "zoho_id", "value": "2"}]


def test_a_batch_writes_the_items_it_can_and_names_the_others(sm: Sm) -> None:
    answer = sm.post(
        "contact/batchupsert",
        {
            "upsertDetails": [
                {"contact": {"email": "good1@example.com"}},
                {"contact": {"email": "not an email"}},
                {"contact": {"name": "no email"}},
                {"contact": {"email": "good2@example.com"}, "birthday": "2020"},
                {"contact": {"email": "good3@example.com"}},
            ]
        },
    ).json()

    assert answer["success"] is False
    assert answer["message"] == [
        "upsertDetails[1]: Invalid email: not an email",
        "upsertDetails[2]: Email is required",
        "upsertDetails[3]: Invalid birthday: 2020 (expected YYYYMMDD)",
    ]
    assert sorted(answer["contactIds"]) == ["good1@example.com", "good3@example.com"]
    assert sorted(c["email"] for c in sm.emulator.records("contacts")) == [
        "good1@example.com",
        "good3@example.com",
    ]


def test_batchupsertv2_is_a_job_whose_status_holds_the_ids(sm: Sm) -> None:
    request_id = sm.ok(
        "contact/batchupsertv2", {"upsertDetails": [{"contact": {"email": "v2@example.com"}}]}
    )["requestId"]

    status = sm.ok("job/status", {"requestId": request_id}, auth=sm.auth(owner=...))

    assert status["contactIds"] == {"v2@example.com": sm.one("v2@example.com")["id"]}


def test_has_contact_basic_and_list_by_email_or_id(sm: Sm) -> None:
    ann = sm.upsert({"email": "ann@example.com", "name": "Ann"}, tags=["VIP"])
    bob = sm.upsert({"email": "bob@example.com", "name": "Bob"})

    has = sm.ok("contact/hasContact", {"email": "ann@example.com"})
    hasnt = sm.ok("contact/hasContact", {"email": "zed@example.com"})
    basic = sm.ok("contact/basicById", {"id": [bob, "no-such-id", ann]})["contacts"]
    full = sm.ok("contact/listById", {"contactId": [ann]})["contacts"]
    by_mail = sm.ok("contact/basic", {"email": ["BOB@example.com"]})["contacts"]

    assert (has["result"], has["contactId"]) == (True, ann)
    assert (hasnt["result"], hasnt["contactId"]) == (False, None)
    assert [c["id"] for c in basic] == [bob, ann]  # only those found
    assert "contactTags" not in basic[0]
    assert [t["tag"] for t in full[0]["contactTags"]] == ["VIP"]
    assert [c["id"] for c in by_mail] == [bob]


def test_modified_and_created_contacts_of_a_time_window(sm: Sm) -> None:
    t0 = int(sm.clock.now() * 1000)
    a = sm.upsert({"email": "a@example.com"})
    sm.clock.advance(10)
    b = sm.upsert({"email": "b@example.com"})
    sm.clock.advance(10)
    sm.upsert({"email": "a@example.com", "name": "A again"})  # a is modified, not created
    t1 = int(sm.clock.now() * 1000)

    modified = sm.ok("contact/modifiedContacts", {"from": t0 + 5_000, "to": t1})
    created = sm.ok("contact/createdContacts", {"from": t0, "to": t1 - 15_000})

    assert modified["modifiedContacts"] == [
        {"contactId": b, "email": "b@example.com"},
        {"contactId": a, "email": "a@example.com"},
    ]
    assert created["createdContacts"] == [{"contactId": a, "email": "a@example.com"}]


def test_paginated_modified_contacts_pages_with_has_more(sm: Sm) -> None:
    details = [{"contact": {"email": f"p{i:02d}@example.com"}} for i in range(25)]
    sm.ok("contact/batchupsert", {"upsertDetails": details})
    window = {"from": 0, "to": int(sm.clock.now() * 1000), "size": 10}

    pages = [sm.ok("contact/paginatedModifiedContacts", {**window, "page": n}) for n in (1, 2, 3)]

    assert [len(p["modifiedContacts"]) for p in pages] == [10, 10, 5]
    assert [p["hasMore"] for p in pages] == [True, True, False]
    listed = {c["email"] for p in pages for c in p["modifiedContacts"]}
    assert listed == {f"p{i:02d}@example.com" for i in range(25)}
    assert sm.refused("contact/paginatedModifiedContacts", {**window, "size": 1001}) == [
        "Invalid size: from 1 to 1000"
    ]


def test_an_export_is_a_job_done_on_the_first_poll_with_a_file_of_contacts(sm: Sm) -> None:
    sm.upsert({"email": "x1@example.com", "name": "X1"}, tags=["VIP"])
    sm.upsert({"email": "x2@example.com", "name": "X2"})

    request_id = sm.ok("contact/paginatedContactList/export", {"page": 1, "size": 1000})[
        "requestId"
    ]
    status = sm.ok("job/status", {"requestId": request_id})
    file = sm.http.get(status["fileUrl"])

    assert status["fileUrl"].startswith("https://app3.salesmanago.com/")
    assert [c["email"] for c in file.json()["contacts"]] == ["x1@example.com", "x2@example.com"]
    assert file.json()["contacts"][0]["contactTags"][0]["tag"] == "VIP"
    assert sm.refused("job/status", {"requestId": "no-such-job"}) == ["Unknown requestId"]


def test_delete_marks_the_contact_or_removes_it_permanently(sm: Sm) -> None:
    sm.upsert({"email": "d1@example.com"})
    sm.upsert({"email": "d2@example.com"})

    sm.ok("contact/delete", {"email": "d1@example.com"})
    sm.ok("contact/delete", {"email": "d2@example.com", "permanently": True})

    assert sm.one("d1@example.com")["deleted"] is True
    assert sm.listed("d2@example.com") == []
    assert sm.refused("contact/delete", {"email": "d2@example.com"}) == [
        "Contact with given email does not exist"
    ]


def test_opt_in_and_out_by_email_id_or_in_batches(sm: Sm) -> None:
    one = sm.upsert({"email": "o1@example.com"})
    sm.upsert({"email": "o2@example.com"})

    by_id = sm.ok("contact/optout", {"contactId": one})
    sm.ok("contact/optout", {"email": "o2@example.com"})
    batch = sm.post("contact/batchoptin", {"emails": ["o1@example.com", "zz@example.com"]}).json()

    assert by_id["contactId"] == one
    assert sm.one("o2@example.com")["optedOut"] is True
    assert sm.one("o1@example.com")["optedOut"] is False
    assert batch["success"] is False
    assert batch["contactIds"] == {"o1@example.com": one}
    assert batch["message"] == ["zz@example.com: Contact with given email does not exist"]


def test_a_write_makes_its_owner_the_contacts_owner(sm: Sm) -> None:
    other = sm.emulator.users[1]
    sm.upsert({"email": "w@example.com"})
    sm.ok("contact/upsert", {"contact": {"email": "w@example.com"}}, auth=sm.auth(owner=other))

    assert sm.one("w@example.com")["owner"] == other


# ---- what a user of the system does, and the sandbox --------------------------------------


def test_generated_contacts_are_realistic_and_unique() -> None:
    sm = Sm(contacts=300, seed=5)

    contacts = sm.emulator.records("contacts")

    assert len({c["email"].casefold() for c in contacts}) == 300
    assert len({c["id"] for c in contacts}) == 300
    assert {c["owner"] for c in contacts} == set(sm.emulator.users)
    assert any(c["birthdayYear"] for c in contacts)
    assert any(not c["birthdayYear"] for c in contacts)
    assert any(c["optedOut"] for c in contacts)
    assert any(not c["name"].isascii() for c in contacts)
    assert len({c["modifiedOn"] for c in contacts}) < 300  # some imported together
    assert Sm(contacts=300, seed=5).emulator.records("contacts") == contacts  # seeded


def test_a_saved_account_is_restored_whole(tmp_path: Any) -> None:
    sm = Sm(contacts=20, seed=2, batch_limit=7)
    sm.upsert({"email": "kept@example.com", "name": "Kept"}, birthday="20000101", tags=["VIP"])
    sm.emulator.save(tmp_path)

    again = type(sm.emulator).restore(tmp_path, {}, clock=sm.clock)

    assert again.records("contacts") == sm.emulator.records("contacts")
    assert (again.client_id, again.api_secret, again.server) == (
        sm.emulator.client_id,
        sm.emulator.api_secret,
        "app3",
    )
    assert again.limits.batch == 7
    new = again.seed("contacts", [{"email": "fresh@example.com"}])[0]["id"]
    assert new not in {c["id"] for c in sm.emulator.records("contacts")}


def test_for_connection_takes_the_server_and_plain_owner() -> None:
    cls = type(Sm().emulator)
    emulator = cls.for_connection({"server": "app2", "owner": "boss@vendor.example"})

    assert emulator.server == "app2"
    assert emulator.users[0] == "boss@vendor.example"
    assert emulator.connection_config()["owner"] == "boss@vendor.example"
    assert OWNER in emulator.users
