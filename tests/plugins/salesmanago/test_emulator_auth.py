"""The emulator against targets.md §2.2-2.4 and §2.7-2.8, read as a caller and as an attacker:
every call a JSON POST to the account's own server, the authentication block in the body,
failures as HTTP 200 with `success: false`, the rate limit, the faults of the kit."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from integrate import Faults
from tests.plugins.salesmanago.emulator_kit import OWNER, Sm, sha1


@pytest.fixture
def sm() -> Sm:
    return Sm()


# ---- §2.2: base URL per server, POST with JSON -------------------------------------------


def test_the_accounts_own_server_answers_on_com_and_pl(sm: Sm) -> None:
    sm.ok("contact/hasContact", {"email": "a@example.com"})
    sm.ok("contact/hasContact", {"email": "a@example.com"}, host="app3.salesmanago.pl")


@pytest.mark.parametrize(
    "host", ["www.salesmanago.com", "app2.salesmanago.com", "app2.salesmanago.pl", "evil.example"]
)
def test_another_server_fails_authentication(sm: Sm, host: str) -> None:
    # §2.8 gotcha 7: the server is per account; calling the wrong one fails authentication.
    assert sm.refused("contact/hasContact", {"email": "a@example.com"}, host=host) == [
        "Not authenticated"
    ]


def test_a_call_that_is_not_a_post_is_refused(sm: Sm) -> None:
    answer = sm.http.get("https://app3.salesmanago.com/api/contact/list")

    assert answer.status_code == 405
    assert answer.json()["success"] is False


def test_an_unknown_method_is_refused(sm: Sm) -> None:
    answer = sm.post("contact/nosuchmethod", {})

    assert answer.status_code == 404
    assert answer.json() == {"success": False, "message": ["Unknown method"]}


# ---- §2.3: the authentication block ------------------------------------------------------


def test_a_correct_block_authenticates_with_any_api_key(sm: Sm) -> None:
    client_id, secret = sm.emulator.client_id, sm.emulator.api_secret
    for api_key in ("fixed-key", "5f1c2b2e-0f5e-4f4a-9a2b-1c9e8f1d7a10", "k"):
        block = sm.auth(apiKey=api_key, sha=sha1(api_key + client_id + secret))
        sm.ok("contact/hasContact", {"email": "a@example.com"}, auth=block)


@pytest.mark.parametrize("unit", [1000, 1], ids=["ms", "s"])
def test_request_time_in_milliseconds_or_seconds_is_accepted(sm: Sm, unit: int) -> None:
    block = sm.auth(requestTime=int(sm.clock.now() * unit))
    sm.ok("contact/hasContact", {"email": "a@example.com"}, auth=block)


@pytest.mark.parametrize(
    "change",
    [
        {"sha": "0" * 40},
        {"sha": ...},
        {"apiKey": "another-key"},  # the sha was made with a different apiKey
        {"apiKey": ...},
        {"clientId": "someone-else"},
        {"clientId": ...},
        {"requestTime": ...},
        {"sha": None},
        {"clientId": 12345},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items()),
)
def test_a_wrong_or_missing_part_of_the_block_is_not_authenticated(
    sm: Sm, change: dict[str, Any]
) -> None:
    assert sm.refused("contact/hasContact", {"email": "a@example.com"}, auth=sm.auth(**change)) == [
        "Not authenticated"
    ]


def test_a_sha_made_with_another_secret_is_not_authenticated(sm: Sm) -> None:
    block = sm.auth(apiKey="k", sha=sha1("k" + sm.emulator.client_id + "guessed-secret"))

    assert sm.refused("contact/upsert", {"contact": {"email": "a@example.com"}}, auth=block) == [
        "Not authenticated"
    ]
    assert sm.emulator.records("contacts") == []


def test_the_sha_of_another_account_does_not_open_this_one(sm: Sm) -> None:
    # The same apiKey and sha, sent with this account's clientId: the sha covers the clientId.
    other = Sm(client_id="other-account", api_secret="other-secret")
    block = other.auth()
    block["clientId"] = sm.emulator.client_id

    assert sm.refused("contact/hasContact", {"email": "a@example.com"}, auth=block) == [
        "Not authenticated"
    ]


def test_the_owner_is_required_and_must_be_a_user_of_the_account(sm: Sm) -> None:
    # §2.3: owner is required by contact methods; §2.8 gotcha 3: it must be an existing user.
    body = {"contact": {"email": "a@example.com"}}
    missing = sm.refused("contact/upsert", body, auth=sm.auth(owner=...))
    unknown = sm.refused("contact/upsert", body, auth=sm.auth(owner="intruder@evil.example"))
    not_text = sm.refused("contact/upsert", body, auth=sm.auth(owner=["sales@vendor.example"]))

    assert missing == ["Owner is required"]
    assert unknown == not_text == ["User with given owner email does not exist"]
    assert sm.emulator.records("contacts") == []
    sm.upsert({"email": "a@example.com"})  # the real owner works
    assert [c["owner"] for c in sm.emulator.records("contacts")] == [OWNER]


# ---- §2.4: the envelope --------------------------------------------------------------------


def test_every_answer_carries_success_and_a_list_of_messages(sm: Sm) -> None:
    for method, body in [
        ("contact/hasContact", {"email": "a@example.com"}),
        ("contact/update", {"email": "nobody@example.com", "contact": {"name": "X"}}),
        ("contact/upsert", {"contact": {"email": "a@example.com"}}),
    ]:
        found = sm.post(method, body).json()
        assert isinstance(found["success"], bool)
        assert isinstance(found["message"], list)


def test_a_failure_is_http_200_with_success_false_and_a_null_contact_id(sm: Sm) -> None:
    answer = sm.post("contact/update", {"email": "nobody@example.com", "contact": {"name": "X"}})

    assert answer.status_code == 200
    assert answer.json() == {
        "success": False,
        "message": ["Contact with given email does not exist"],
        "contactId": None,
    }


# ---- an attacker's bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"[1, 2, 3]", b'"text"', b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000],
    ids=["broken", "empty", "array", "string", "not-utf8", "deeply-nested"],
)
def test_a_malformed_body_is_refused_as_a_failure(sm: Sm, content: bytes) -> None:
    answer = sm.post("contact/upsert", content=content)

    assert answer.status_code == 200
    assert answer.json()["success"] is False
    assert sm.emulator.records("contacts") == []


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(sm: Sm) -> None:
    small = Sm(max_body_bytes=10_000)
    body = {"contact": {"email": "a@example.com", "name": "x" * 20_000}}

    answer = small.post("contact/upsert", body)

    assert answer.status_code == 413
    assert answer.json() == {"success": False, "message": ["Request body too large"]}
    assert small.emulator.records("contacts") == []


def test_huge_strings_are_refused_where_a_limit_is_documented(sm: Sm) -> None:
    huge = "a" * 100_000
    email = sm.refused("contact/upsert", {"contact": {"email": f"{huge}@example.com"}})
    prop = sm.refused(
        "contact/upsert", {"contact": {"email": "a@example.com"}, "properties": {"note": huge}}
    )

    assert email[0].startswith("Invalid email: aaaa")
    assert len(email[0]) < 200
    assert prop == ["Property note is too long (at most 255 characters)"]
    assert sm.emulator.records("contacts") == []


@pytest.mark.parametrize(
    "value", ["9" * 5000, 10**30, 1e300, float("nan"), float("inf"), "1e5", "", True]
)
def test_numbers_out_of_range_are_refused_and_never_echoed(sm: Sm, value: Any) -> None:
    window = {"from": 0, "to": int(sm.clock.now() * 1000), "page": 1, "size": 10}
    for key in ("from", "page", "size"):
        messages = sm.refused("contact/paginatedModifiedContacts", {**window, key: value})
        assert messages[0].startswith(f"Invalid {key}"), messages
        assert len(messages[0]) < 120
    assert sm.refused("contact/hasContact", {}, auth=sm.auth(requestTime=value)) == [
        "Not authenticated"
    ]


def test_an_oversized_batch_writes_nothing(sm: Sm) -> None:
    capped = Sm(batch_limit=5)
    details = [{"contact": {"email": f"p{i}@example.com"}} for i in range(6)]

    answer = capped.post("contact/batchupsert", {"upsertDetails": details}).json()

    assert answer["success"] is False
    assert answer["message"] == ["Too many contacts in one request (at most 5)"]
    assert capped.emulator.records("contacts") == []


def test_the_documented_batch_cap_is_1000(sm: Sm) -> None:
    # §2.7: ASSUMED cap of 1000 per batchupsert.
    details = [{"contact": {"email": f"p{i}@example.com"}} for i in range(1001)]
    assert sm.refused("contact/batchupsert", {"upsertDetails": details}) == [
        "Too many contacts in one request (at most 1000)"
    ]
    sm.ok("contact/batchupsert", {"upsertDetails": details[:1000]})
    assert len(sm.emulator.records("contacts")) == 1000


def test_id_and_email_lists_are_kept_at_100_a_call(sm: Sm) -> None:
    # §2.7: "Keep id/email arrays at 100 per call".
    emails = [f"p{i}@example.com" for i in range(101)]
    for method, key in [("contact/list", "email"), ("contact/listById", "contactId")]:
        assert sm.refused(method, {key: emails}) == [
            "Too many contacts in one request (at most 100)"
        ]
        assert sm.ok(method, {key: emails[:100]})["contacts"] == []


# ---- §2.7: the rate limit, and the kit's faults --------------------------------------------


def test_more_than_20_calls_a_second_are_answered_429_with_success_false() -> None:
    sm = Sm(pace=0.0)  # a client that does not pace itself
    answers = [sm.post("contact/hasContact", {"email": "a@example.com"}) for _ in range(25)]

    assert [a.status_code for a in answers] == [200] * 20 + [429] * 5
    assert answers[-1].json() == {"success": False, "message": ["Too many requests"]}
    sm.clock.advance(1.0)
    assert sm.post("contact/hasContact", {"email": "a@example.com"}).status_code == 200
    assert sm.emulator.calls()["limit:429"] == 5


def test_a_faulty_server_answers_in_salesmanagos_envelope() -> None:
    sm = Sm(faults=Faults(rate_limit=0.5, server_error=0.5, retry_after=3), seed=1)
    statuses = set()
    for _ in range(20):
        answer = sm.post("contact/upsert", {"contact": {"email": "a@example.com"}})
        statuses.add(answer.status_code)
        assert answer.json()["success"] is False
        if answer.status_code == 429:
            assert answer.headers["Retry-After"] == "3"
    assert statuses == {429, 500}
    assert sm.emulator.records("contacts") == []  # a refused call takes no effect


def test_latency_is_spent_on_the_emulators_clock() -> None:
    sm = Sm(pace=0.0, faults={"latency": 2.5})
    before = sm.clock.now()

    sm.ok("contact/hasContact", {"email": "a@example.com"})

    assert sm.clock.now() - before == pytest.approx(2.5)


def test_a_served_emulator_answers_on_loopback() -> None:
    sm = Sm()
    url = sm.emulator.serve()
    try:
        assert url.startswith("http://127.0.0.1:")
        body = {**sm.auth(), "email": "a@example.com"}
        with httpx.Client(trust_env=False) as client:
            answer = client.post(f"{url}/api/contact/hasContact", content=json.dumps(body))
        assert answer.json() == {
            "success": True,
            "message": [],
            "result": False,
            "contactId": None,
        }
        assert sm.emulator.connection_config()["base_url"] == url
    finally:
        sm.emulator.close()
