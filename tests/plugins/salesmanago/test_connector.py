"""The salesmanago connector against its emulator, in process on one fake clock: full and
incremental reads by modification window, nothing lost while a window pages, the declared
limits (100 received, 200 sent per request) counted by the emulator, refusals inside HTTP
200 as failed records or as a stopped run with what to check, and no secret in any output."""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace
from typing import Any

import pytest

from integrate import (
    OK,
    RATE_LIMITED,
    RETRY,
    AuthError,
    ConnectorContext,
    ConnectorError,
    FakeClock,
    Faults,
    HttpAnswer,
    WriteItem,
)
from integrate.oauth import MemoryTokenCache
from integrate_salesmanago import SalesManagoConnector
from integrate_salesmanago.emulator import SalesManagoEmulator
from integrate_salesmanago.reads import Reads

START = 1_790_000_000.0


def account(**options: Any) -> tuple[SalesManagoEmulator, FakeClock]:
    clock = FakeClock(START)
    options.setdefault("server", "app3")
    return SalesManagoEmulator(clock=clock, **options), clock


def connect(emulator: SalesManagoEmulator, clock: FakeClock, **config: Any) -> SalesManagoConnector:
    context = ConnectorContext(
        connection="sm", transport=emulator.transport(), clock=clock, tokens=MemoryTokenCache()
    )
    return SalesManagoConnector({**emulator.connection_config(), **config}, context)


def read(connector: SalesManagoConnector, since: Any = None, **kw: Any) -> tuple[list[Any], Any]:
    records: list[dict[str, Any]] = []
    cursor = since
    for page in connector.read("contacts", since=since, **kw):
        records.extend(page.records)
        if page.cursor is not None:
            cursor = page.cursor
    return records, cursor


def creates(*values: dict[str, Any]) -> list[WriteItem]:
    return [WriteItem(ref=i, values=v) for i, v in enumerate(values)]


# ---- reading ---------------------------------------------------------------------------------


def test_a_first_read_reads_every_contact_at_most_100_a_call() -> None:  # SM-6, SM-7
    emulator, clock = account(contacts=250, seed=4)
    connector = connect(emulator, clock)

    records, cursor = read(connector)

    assert len(records) == len({r["id"] for r in records}) == 250
    calls = emulator.calls()
    assert calls["listById"] == math.ceil(250 / 100)
    # a window of several pages is listed twice: the second listing shows nothing moved
    assert calls["paginatedModifiedContacts"] == 2 * math.ceil(250 / 100)
    assert cursor == {"to": int(START * 1000)}


def test_a_contact_reads_in_the_shape_a_spec_maps_both_ways() -> None:
    emulator, clock = account()
    [made] = emulator.seed(
        "contacts",
        [
            {
                "email": "ann@example.com",
                "name": "Ann Lee",
                "birthday": "19850412",
                "address": {"streetAddress": "Main St 1", "city": "Łódź"},
                "tags": ["vip"],
                "properties": {"zoho_id": "48760"},
                "optedOut": True,
                "state": "PROSPECT",
            }
        ],
    )

    [ann] = connect(emulator, clock).get("contacts", [made["id"]])

    assert ann["birthday"] == "19850412"  # written YYYYMMDD, read back YYYYMMDD
    assert (ann["birthdayYear"], ann["birthdayMonth"], ann["birthdayDay"]) == (1985, 4, 12)
    assert ann["address"] == {
        "streetAddress": "Main St 1",
        "zipCode": None,
        "city": "Łódź",
        "country": None,
    }
    assert ann["tags"] == ["VIP"]
    assert ann["properties"] == {"zoho_id": "48760"}
    assert (ann["optedOut"], ann["state"], ann["owner"]) == (True, "PROSPECT", emulator.users[0])


def test_a_spec_page_size_lowers_the_ids_fetched_per_call() -> None:  # SM-7
    emulator, clock = account(contacts=250, seed=4)

    records, _cursor = read(connect(emulator, clock), page_size=40)

    assert len(records) == 250
    assert emulator.calls()["listById"] == math.ceil(250 / 40)


def test_a_later_read_reads_only_what_changed() -> None:  # SM-6
    emulator, clock = account(contacts=120, seed=1)
    connector = connect(emulator, clock)
    everything, cursor = read(connector)
    clock.advance(60)
    picked = [everything[3]["id"], everything[77]["id"]]
    for id in picked:
        emulator.change("contacts", id, {"name": "Changed"})
    [new] = emulator.seed("contacts", [{"email": "new@example.com", "name": "New"}])
    before = dict(emulator.calls())
    clock.advance(60)

    changed, after = read(connector, since=cursor)

    assert sorted(r["id"] for r in changed) == sorted([*picked, new["id"]])
    assert {r["name"] for r in changed} == {"Changed", "New"}
    calls = emulator.calls()
    assert calls["paginatedModifiedContacts"] - before["paginatedModifiedContacts"] == 1
    assert calls["listById"] - before["listById"] == 1
    assert after["to"] > cursor["to"]

    nothing, _same = read(connector, since=after)
    assert nothing == []


def test_the_window_ends_clock_skew_before_the_read_starts() -> None:
    emulator, clock = account()
    emulator.seed("contacts", [{"email": "just.now@example.com"}])

    early, cursor = read(connect(emulator, clock, clock_skew=60))
    clock.advance(61)
    later, _next = read(connect(emulator, clock, clock_skew=60), since=cursor)

    assert early == []  # modified within the last minute: the next read has it
    assert [r["email"] for r in later] == ["just.now@example.com"]


def test_a_contact_changed_while_its_window_pages_is_not_lost() -> None:  # SM-8
    """An import made 250 contacts in one millisecond, so the window cannot be split; a user
    edits a contact already read and deletes another while the read pages."""
    emulator, clock = account()
    details = [{"contact": {"email": f"import{i:03d}@example.com"}} for i in range(250)]
    emulator.seed("contacts", [d["contact"] for d in details])
    clock.advance(1)
    connector = connect(emulator, clock)
    seen: dict[str, dict[str, Any]] = {}
    cursor: Any = None
    for number, page in enumerate(connector.read("contacts")):
        seen.update({r["id"]: r for r in page.records})
        cursor = page.cursor or cursor
        if number == 0:
            clock.advance(1)
            emulator.change("contacts", page.records[5]["id"], {"name": "Edited"})
            emulator.delete("contacts", page.records[9]["id"], permanently=True)
    clock.advance(5)
    for page in connector.read("contacts", since=cursor):
        seen.update({r["id"]: r for r in page.records})

    present = {c["id"] for c in emulator.records("contacts")}
    assert len(present) == 249
    assert present <= set(seen)
    edited = next(c for c in emulator.records("contacts") if c["name"] == "Edited")
    assert seen[edited["id"]]["name"] == "Edited"


# ---- writing ---------------------------------------------------------------------------------


def test_the_plugin_declares_100_received_and_200_sent_per_request() -> None:  # SM-7
    emulator, clock = account()
    info = connect(emulator, clock).describe("contacts")
    lowered = connect(emulator, clock, batch_size=50, page_size=20).describe("contacts")

    assert (info.page_size, info.write_batch) == (100, 200)
    assert (lowered.page_size, lowered.write_batch) == (20, 50)


def test_200_creates_go_in_one_batchupsert() -> None:  # SM-7
    emulator, clock = account()
    items = creates(*({"email": f"p{i}@example.com", "name": f"P {i}"} for i in range(200)))

    results = connect(emulator, clock).write("contacts", "create", items)

    assert all(r.ok for r in results)
    assert len({r.id for r in results}) == 200
    assert emulator.calls() == {"batchupsert": 1}
    assert len(emulator.records("contacts")) == 200


def test_a_lowered_batch_size_splits_a_write() -> None:
    emulator, clock = account()
    items = creates(*({"email": f"p{i}@example.com"} for i in range(120)))

    results = connect(emulator, clock, batch_size=50).write("contacts", "create", items)

    assert all(r.ok for r in results)
    assert emulator.calls() == {"batchupsert": 3}


def test_a_refused_contact_fails_alone_with_salesmanagos_message() -> None:
    emulator, clock = account()
    items = creates(
        {"email": "good1@example.com"},
        {"email": "not-an-email", "name": "Bad"},
        {"email": "good2@example.com"},
        {"email": "bday@example.com", "birthday": "1985-13-45"},
        {"email": "good3@example.com"},
    )

    results = connect(emulator, clock).write("contacts", "create", items)

    assert [r.ok for r in results] == [True, False, True, False, True]
    assert (
        results[1].error
        == "SALESmanago refused the contact not-an-email: Invalid email: not-an-email"
    )
    assert results[3].error == (
        "SALESmanago refused the contact bday@example.com: Invalid birthday: 19851345 (expected YYYYMMDD)"
    )
    assert {results[1].code, results[3].code} == {"REFUSED"}
    assert emulator.calls() == {"batchupsert": 1}  # never sent again
    assert len(emulator.records("contacts")) == 3


def test_a_batch_refused_whole_without_naming_items_is_sent_one_by_one() -> None:
    emulator, clock = account(batch_limit=3)  # an account whose cap is below the plugin's
    items = creates(*({"email": f"p{i}@example.com"} for i in range(5)))

    results = connect(emulator, clock).write("contacts", "create", items)

    assert all(r.ok for r in results)
    assert emulator.calls() == {"batchupsert": 1, "upsert": 5}


def test_an_update_finds_the_contact_by_id_and_changes_only_what_it_names() -> None:
    emulator, clock = account()
    [made] = emulator.seed(
        "contacts",
        [
            {
                "email": "old@example.com",
                "name": "Ola",
                "address": {"streetAddress": "Długa 1", "zipCode": "00-001", "city": "Warszawa"},
                "tags": ["VIP", "LEAD_COLD"],
                "optedOut": True,
            }
        ],
    )
    update = WriteItem(
        ref=0,
        id=made["id"],
        values={"email": "new@example.com", "address": {"city": "Kraków"}, "tags": ["VIP", "Hot"]},
    )

    [result] = connect(emulator, clock).write("contacts", "update", [update])

    assert (result.ok, result.id) == (True, made["id"])
    [stored] = emulator.records("contacts")
    assert stored["email"] == "new@example.com"  # by newEmail: the same contact
    assert stored["address"] == {
        "streetAddress": "Długa 1",
        "zipCode": "00-001",
        "city": "Kraków",
        "country": None,
    }
    assert [t["tag"] for t in stored["contactTags"]] == ["VIP", "HOT"]
    assert stored["optedOut"] is True  # consent not named: left alone
    assert stored["name"] == "Ola"
    assert emulator.calls() == {"listById": 1, "batchupsert": 1}


@pytest.mark.parametrize(("opted_out", "expected"), [(True, True), (False, False)])
def test_consent_is_forced_only_when_the_record_names_it(opted_out: bool, expected: bool) -> None:
    emulator, clock = account()
    [made] = emulator.seed("contacts", [{"email": "c@example.com", "optedOut": not opted_out}])
    connector = connect(emulator, clock)

    connector.write(
        "contacts", "update", [WriteItem(ref=0, id=made["id"], values={"optedOut": opted_out})]
    )

    assert emulator.records("contacts")[0]["optedOut"] is expected


def test_an_update_of_a_missing_contact_fails_alone() -> None:
    emulator, clock = account()
    [made] = emulator.seed("contacts", [{"email": "here@example.com"}])
    items = [
        WriteItem(ref=0, id="no-such-id", values={"name": "X"}),
        WriteItem(ref=1, id=made["id"], values={"name": "Here"}),
    ]

    results = connect(emulator, clock).write("contacts", "update", items)

    assert (results[0].ok, results[0].code) == (False, "NOT_FOUND")
    assert "no-such-id" in results[0].error
    assert results[1].ok
    assert emulator.records("contacts")[0]["name"] == "Here"


def test_a_record_owned_by_another_user_goes_in_that_users_batch() -> None:  # SM-4
    emulator, clock = account()
    anna = emulator.users[1]
    items = creates(
        {"email": "a@example.com"},
        {"email": "b@example.com", "owner": anna},
        {"email": "c@example.com", "owner": "stranger@elsewhere.example"},
    )

    results = connect(emulator, clock).write("contacts", "create", items)

    assert [r.ok for r in results] == [True, True, False]
    assert results[2].code == "OWNER"
    assert "stranger@elsewhere.example" in results[2].error
    owners = {c["email"]: c["owner"] for c in emulator.records("contacts")}
    assert owners == {"a@example.com": emulator.users[0], "b@example.com": anna}
    assert emulator.calls() == {"batchupsert": 3}


def test_server_errors_and_lost_answers_are_retried_without_duplicates() -> None:
    emulator, clock = account(faults=Faults(server_error=0.3, lose_answer=0.3), seed=9)
    items = creates(*({"email": f"p{i}@example.com"} for i in range(60)))
    connector = connect(emulator, clock, batch_size=10)

    results = connector.write("contacts", "create", items)

    assert all(r.ok for r in results)
    assert len(emulator.records("contacts")) == 60  # upserts by email: a resend changes nothing
    assert emulator.calls()["fault:500"] + emulator.calls()["fault:lost"] > 0


# ---- refusals of the whole call ----------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong",
    [{"api_secret": "not-the-secret"}, {"client_id": "someone-else"}, {"server": "www"}],
    ids=["secret", "client_id", "server"],
)
def test_refused_credentials_stop_with_what_to_check(wrong: dict[str, str]) -> None:
    emulator, clock = account()

    with pytest.raises(AuthError) as refused:
        read(connect(emulator, clock, **wrong))

    message = str(refused.value)
    assert refused.value.code == "NOT_AUTHENTICATED"
    assert message.startswith("sm: SALESmanago did not accept the credentials")
    assert "Not authenticated" in message
    assert "Check client_id and api_secret" in message
    assert "is the account's own server" in message
    assert "not-the-secret" not in message


def test_an_owner_who_is_not_a_user_stops_with_what_to_check() -> None:
    emulator, clock = account()

    with pytest.raises(AuthError) as refused:
        read(connect(emulator, clock, owner="nobody@vendor.example"))

    assert refused.value.code == "OWNER"
    assert "refused the owner nobody@vendor.example" in str(refused.value)
    assert "must be the email of a user of this SALESmanago account" in str(refused.value)


def test_no_secret_appears_in_logs_errors_or_results(caplog: pytest.LogCaptureFixture) -> None:
    emulator, clock = account(contacts=30)
    connector = connect(emulator, clock)
    sha = connector.api._sha.reveal()
    secret = emulator.api_secret
    caplog.set_level(logging.DEBUG)

    read(connector)
    results = connector.write("contacts", "create", creates({"email": "bad email"}))
    bad = connect(emulator, clock, api_secret="wrong-secret-value")
    with pytest.raises(AuthError) as refused:
        read(bad)

    shown = " ".join([caplog.text, str(refused.value), repr(refused.value), results[0].error])
    shown += repr(connector.settings) + repr(connector.api.__dict__)
    for value in (secret, sha, bad.api._sha.reveal(), "wrong-secret-value"):
        assert value not in shown


# ---- the HTTP layer's view -----------------------------------------------------------------


def test_a_rate_limit_inside_http_200_is_waited_out_like_a_429() -> None:
    emulator, clock = account()
    classify = connect(emulator, clock).api.classify

    def answer(status: int, body: bytes) -> HttpAnswer:
        return HttpAnswer(status, {}, body, "POST", "https://app3.salesmanago.com/api/x")

    assert classify(answer(200, b'{"success":false,"message":["Too many requests"]}')) == (
        RATE_LIMITED
    )
    assert classify(answer(429, b"{}")) == RATE_LIMITED
    assert classify(answer(503, b"")) == RETRY
    assert classify(answer(200, b'{"success":false,"message":["Invalid email"]}')) == OK
    assert classify(answer(200, b'{"success":true,"message":[]}')) == OK


def test_the_users_object_is_the_accounts_users_from_the_settings() -> None:  # SM-4
    emulator, clock = account()
    connector = connect(
        emulator, clock, users=["Anna.Nowak@vendor.example", "sales@vendor.example", "x@y.example"]
    )

    [page] = list(connector.read("users"))

    assert [u["email"] for u in page.records] == [
        "sales@vendor.example",
        "Anna.Nowak@vendor.example",
        "x@y.example",
    ]
    assert connector.get("users", ["anna.nowak@vendor.example"])[0]["id"] == (
        "Anna.Nowak@vendor.example"
    )
    assert emulator.calls() == {}  # no call: §2 has no users method


def test_the_assumed_names_are_settings() -> None:
    """An account whose answers name things otherwise is one setting away (targets.md marks
    these ASSUMED): here the settings name keys the emulator does not use, and the read says
    which setting to check."""
    emulator, clock = account(contacts=3)

    with pytest.raises(ConnectorError) as missing:
        read(connect(emulator, clock, modified_key="changedContacts"))
    with pytest.raises(ConnectorError) as refused:
        read(connect(emulator, clock, modified_method="contact/modifiedSince"))
    records, _cursor = read(connect(emulator, clock, tags_key="labels", owner_key="mainOwner"))

    assert "no list 'changedContacts' (the modified_key setting)" in str(missing.value)
    assert "SALESmanago answered 404 (Unknown method)" in str(refused.value)
    assert len(records) == 3
    assert all(r["tags"] == [] and r["owner"] is None for r in records)


def test_a_create_of_an_email_salesmanago_has_changes_that_contact() -> None:
    emulator, clock = account()
    [made] = emulator.seed("contacts", [{"email": "Ann@Example.com", "name": "Ann"}])

    [result] = connect(emulator, clock).write(
        "contacts", "create", creates({"email": "ann@example.com", "name": "Ann Lee"})
    )

    assert (result.ok, result.id) == (True, made["id"])
    assert [c["name"] for c in emulator.records("contacts")] == ["Ann Lee"]


def test_a_refused_read_quotes_a_lone_message_whole() -> None:
    """SALESmanago's `message` may be one string rather than a list (api.messages)."""

    class Api:
        settings = SimpleNamespace(page_size=10)
        context = SimpleNamespace(connection="sm")

        def call(self, method: str, body: Any, **kwargs: Any) -> dict[str, Any]:
            return {"success": False, "message": "Not allowed"}

    with pytest.raises(ConnectorError) as refused:
        Reads(Api()).by_ids(["1"])  # type: ignore[arg-type]

    assert str(refused.value) == "sm: reading contacts: SALESmanago refused (Not allowed)"
    assert refused.value.code == "REFUSED"
