"""The zoho_crm connector against its emulator: paging past 2,000 rows, incremental reads,
per-record write results, rate limits and token expiry, data centres."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import orjson
import pytest

from integrate import (
    AUTH_EXPIRED,
    OK,
    RATE_LIMITED,
    RETRY,
    AuthError,
    Channel,
    ConnectorContext,
    ConnectorError,
    FakeClock,
    HttpAnswer,
    WriteItem,
)
from integrate.oauth import MemoryTokenCache
from integrate_zoho_crm import ZohoCrmConnector
from integrate_zoho_crm.connector import zoho_classifier
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.plugins.zoho_crm.emulator_kit import keyset_list_calls


def open_connector(emulator: ZohoCrmEmulator, clock: FakeClock, **config: Any) -> ZohoCrmConnector:
    context = ConnectorContext(
        connection="crm", transport=emulator.transport(), clock=clock, tokens=MemoryTokenCache()
    )
    return ZohoCrmConnector({**emulator.connection_config(), **config}, context)


def read_all(
    connector: ZohoCrmConnector, obj: str, since: Any = None, fields: Any = None
) -> tuple[list[dict[str, Any]], Any]:
    records: list[dict[str, Any]] = []
    cursor = since
    for page in connector.read(obj, since=since, fields=fields):
        records.extend(page.records)
        cursor = page.cursor if page.cursor is not None else cursor
    return records, cursor


def test_5000_accounts_in_one_pass_by_key_then_only_the_7_changed() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=5000, seed=3) as emulator:
        connector = open_connector(emulator, clock)

        records, cursor = read_all(connector, "Accounts", fields=["Account_Name", "Phone"])

        assert len(records) == 5000
        assert len({r["id"] for r in records}) == 5000
        # One pass by key: every page starts at the last second of the page before, so the
        # records of that second take room twice; 26 calls here, 25 at offsets (which lose
        # records that change while the read pages).
        calls = keyset_list_calls(emulator.records("Accounts"))
        assert emulator.calls()["list"] == calls == math.ceil(5000 / 200) + 1

        clock.advance(60)
        changed = sorted(records[i]["id"] for i in (0, 9, 1999, 2000, 3333, 4000, 4999))
        for n, record_id in enumerate(changed):
            emulator.change("Accounts", record_id, {"Phone": f"+44 20 7946 {n:04d}"})
        before = emulator.calls()["list"]

        again, _next = read_all(
            connector, "Accounts", since=cursor, fields=["Account_Name", "Phone"]
        )

        assert sorted(r["id"] for r in again) == changed
        assert emulator.calls()["list"] == before + 1
        connector.close()


def test_2500_accounts_of_one_second_are_paged_inside_it_past_2000_rows_by_page_token() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock) as emulator:
        emulator.seed("Accounts", [{"Account_Name": f"Mass {i}"} for i in range(2500)])
        clock.advance(5)
        connector = open_connector(emulator, clock)

        records, cursor = read_all(connector, "Accounts", fields=["Account_Name"])

        assert len({r["id"] for r in records}) == len(records) == 2500
        lists = [c for c in emulator.log if c.kind == "list"]
        # The first page, then that second by offset: pages 1-10 and by page_token past row
        # 2,000 (13 pages); then, read by offset, checked: are the 2,400 records found on the
        # pages before the last still there at that second (by ids, 100 a call)?
        assert len(lists) == 1 + 13 + 24
        assert all(c.status == 200 for c in lists)
        assert len(cursor["seen"]) == 2500
        again, _same = read_all(connector, "Accounts", since=cursor, fields=["Account_Name"])
        assert again == []
        connector.close()


def test_a_read_with_nothing_changed_costs_one_call_and_returns_nothing() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=30) as emulator:
        connector = open_connector(emulator, clock)
        fields = ["Account_Name", "Phone"]
        _records, cursor = read_all(connector, "Accounts", fields=fields)
        before = emulator.calls()["list"]

        again, same = read_all(connector, "Accounts", since=cursor, fields=fields)

        assert again == []
        assert same == cursor
        assert emulator.calls()["list"] == before + 1


def test_leads_read_in_full_then_from_the_cursor_with_nothing_changed_return_nothing() -> None:
    # A read from a cursor asks for Converted__s (to see conversions); a full read must read
    # Leads alike, or the fingerprints of its last second never match and those Leads are
    # read again on the next run (SM-6: later syncs read only what changed).
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, leads=30) as emulator:
        connector = open_connector(emulator, clock)
        fields = ["Last_Name", "Email"]
        _records, cursor = read_all(connector, "Leads", fields=fields)

        again, _same = read_all(connector, "Leads", since=cursor, fields=fields)

        assert again == []


def test_an_edit_in_the_same_second_as_the_last_read_is_not_lost() -> None:
    # Modified_Time has whole seconds: the edit below carries the cursor's own time.
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=0, seed=9) as emulator:
        emulator.seed("Accounts", [{"Account_Name": f"Same Second {n}"} for n in range(3)])
        connector = open_connector(emulator, clock)
        records, cursor = read_all(connector, "Accounts", fields=["Account_Name", "Phone"])
        assert cursor["time"] == records[2]["Modified_Time"]
        edited = records[2]["id"]
        emulator.change("Accounts", edited, {"Phone": "+44 20 7946 0000"})

        again, _next = read_all(
            connector, "Accounts", since=cursor, fields=["Account_Name", "Phone"]
        )

        assert [(r["id"], r["Phone"]) for r in again] == [(edited, "+44 20 7946 0000")]


def test_more_than_50_fields_are_read_in_chunks_and_joined_by_id() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=10) as emulator:
        connector = open_connector(emulator, clock)
        names = [n for n in connector.catalogue("Accounts") if n != "id"]
        assert len(names) > 50, "the emulator's Accounts have more than 50 fields"

        records, _cursor = read_all(connector, "Accounts", fields=names)

        assert len(records) == 10
        assert all("Account_Name" in r and names[-1] in r for r in records)


def test_250_records_in_3_calls_with_4_rows_refused_by_zoho() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=1) as emulator:
        connector = open_connector(emulator, clock)
        bad = {17, 101, 150, 249}
        items = [
            WriteItem(
                ref=i,
                values={"First_Name": f"P{i}"}
                if i in bad
                else {"Last_Name": f"Person {i}", "Email": f"p{i}@example.com"},
            )
            for i in range(250)
        ]
        before = len(emulator.records("Contacts"))

        results = connector.write("Contacts", "create", items)

        assert emulator.calls()["insert"] == 3
        assert [r.ref for r in results] == list(range(250))
        refused = {r.ref: r for r in results if not r.ok}
        assert set(refused) == bad
        assert {r.code for r in refused.values()} == {"MANDATORY_NOT_FOUND"}
        assert all("Last_Name" in r.error for r in refused.values())
        assert len(emulator.records("Contacts")) == before + 246
        assert len({r.id for r in results if r.ok}) == 246


def test_a_full_read_survives_429s_and_a_mid_run_token_expiry() -> None:
    # ALL-5
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=2400, seed=11) as emulator:
        connector = open_connector(emulator, clock)
        connector.auth.headers()  # the first token
        emulator.faults.rate_limit = 1 / 3
        emulator.faults.retry_after = 7
        emulator.faults.spare = frozenset({"token"})
        tokens_before = emulator.calls()["token"]

        records = []
        for n, page in enumerate(connector.read("Accounts", fields=["Account_Name"])):
            records.extend(page.records)
            if n == 4:
                emulator.expire_tokens()

        assert len(records) == 2400
        assert emulator.calls()["token"] == tokens_before + 1  # one refresh for the one expiry
        limited = [i for i, c in enumerate(emulator.log) if c.status == 429]
        assert len(limited) >= 3
        for i in limited:
            nxt = next(c for c in emulator.log[i + 1 :] if c.kind != "token")
            assert nxt.at - emulator.log[i].at >= 7
        assert connector.context.stats.waited >= 7 * len(limited)
        assert connector.context.stats.retries >= len(limited) + 1


def test_the_token_of_another_data_centre_is_refused() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, data_center="eu", accounts=2) as emulator:
        config = {**emulator.connection_config(), "data_center": "com"}
        context = ConnectorContext(connection="crm", transport=emulator.transport(), clock=clock)

        with pytest.raises(AuthError, match=r"invalid_client|refused"):
            ZohoCrmConnector(config, context).describe("Accounts")


def test_the_api_domain_of_the_token_answer_is_used() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, data_center="in", accounts=2) as emulator:
        connector = open_connector(emulator, clock)

        read_all(connector, "Accounts")

        hosts = {c.host for c in emulator.log if c.kind == "list"}
        assert hosts == {"www.zohoapis.in"}


def test_a_lead_moves_to_contacts_by_conversion() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock) as emulator:
        [lead] = emulator.seed(
            "Leads",
            [
                {
                    "Last_Name": "Lee",
                    "First_Name": "Ann",
                    "Company": "Acme",
                    "Email": "ann@acme.example",
                }
            ],
        )
        connector = open_connector(emulator, clock)

        [result] = connector.write(
            "Contacts",
            "move",
            [WriteItem(ref=1, values={"Title": "CTO"}, id=lead["id"], from_object="Leads")],
        )

        assert result.ok, result.error
        contact = next(c for c in emulator.records("Contacts") if c["id"] == result.id)
        assert contact["Email"] == "ann@acme.example"
        assert contact["Title"] == "CTO"
        assert [
            r["id"]
            for r, _p in [(r, None) for page in connector.read("Leads") for r in page.records]
        ] == []


def test_related_lists_attachments_and_search() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(
        clock=clock, accounts=20, contacts_per_account=2, deals_per_account=1, seed=5
    ) as emulator:
        connector = open_connector(emulator, clock)
        account = emulator.records("Accounts")[0]

        contacts = [
            r
            for page in connector.related("Accounts", account["id"], "Contacts")
            for r in page.records
        ]
        found = connector.search("Accounts", {"Account_Name": account["Account_Name"]})

        assert len(contacts) == 2
        assert all(
            c["Account_Name"]["id"] == account["id"]
            for c in emulator.records("Contacts")
            if c["id"] in {x["id"] for x in contacts}
        )
        assert [r["id"] for r in found] == [account["id"]]
        with_files = [
            (a, att)
            for a in emulator.records("Accounts")
            for page in connector.related("Accounts", a["id"], "Attachments")
            for att in page.records
        ]
        assert with_files, "the generator gives some accounts attachments"
        parent, attachment = with_files[0]
        data = b"".join(connector.download("Accounts", parent["id"], attachment["id"]))
        assert len(data) == int(attachment["Size"])


def test_upsert_inserts_then_updates_by_the_duplicate_check_field() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, unique_fields={"Contacts": ["Email"]}) as emulator:
        connector = open_connector(emulator, clock)
        item = WriteItem(
            ref=1, values={"Last_Name": "Lee", "Email": "ann@x.example"}, keys=("Email",)
        )

        [first] = connector.write("Contacts", "upsert", [item])
        [second] = connector.write(
            "Contacts",
            "upsert",
            [
                WriteItem(
                    ref=2,
                    values={"Last_Name": "Lee-Smith", "Email": "ann@x.example"},
                    keys=("Email",),
                )
            ],
        )

        assert (first.ok, first.created) == (True, True)
        assert (second.ok, second.created, second.id) == (True, False, first.id)
        assert [
            c["Last_Name"] for c in emulator.records("Contacts") if c["Email"] == "ann@x.example"
        ] == ["Lee-Smith"]


def test_notes_attach_to_their_parent_and_deleted_records_are_listed() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=3) as emulator:
        connector = open_connector(emulator, clock)
        account = emulator.records("Accounts")[0]
        note = {
            "Note_Title": "Call",
            "Note_Content": "Asked for a quote",
            "Parent_Id": {"module": {"api_name": "Accounts"}, "id": account["id"]},
        }

        [made] = connector.write("Notes", "create", [WriteItem(ref=1, values=note)])
        notes = [
            r
            for page in connector.related("Accounts", account["id"], "Notes")
            for r in page.records
        ]
        gone = emulator.records("Accounts")[1]["id"]
        emulator.delete("Accounts", gone)
        deleted = [r for page in connector.deleted("Accounts") for r in page.records]

        assert made.ok, made.error
        assert [n["id"] for n in notes] == [made.id]
        assert [(d["id"], d["type"]) for d in deleted] == [(gone, "recycle")]


def test_notifications_subscribe_parse_and_check_the_channel_token() -> None:
    import datetime as dt

    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=2) as emulator:
        connector = open_connector(emulator, clock)
        expiry = dt.datetime.fromtimestamp(clock.now(), dt.UTC) + dt.timedelta(days=2)
        token = "t" * 40

        channel = Channel(
            "1000000068001", ("Accounts",), "http://127.0.0.1:9/zoho", token, expiry.timestamp()
        )
        granted = connector.subscribe(channel)
        account = emulator.records("Accounts")[0]
        emulator.change("Accounts", account["id"], {"Phone": "+44 1"})
        [body] = emulator.notifications()
        note = connector.parse_notification(body, token)
        raw = orjson.dumps(body)
        notice = type(connector).notice(raw, "application/json")

        assert granted == expiry.timestamp()
        assert (note.module, note.operation, note.ids) == ("Accounts", "update", (account["id"],))
        assert (notice.object, notice.operation, notice.ids) == (
            "Accounts",
            "updated",
            (account["id"],),
        )
        assert notice.token == token
        assert notice.key == type(connector).notice(raw, "json").key
        assert "Phone" in note.fields[account["id"]]
        with pytest.raises(ConnectorError, match="wrong or missing channel token"):
            connector.parse_notification({**body, "token": "x" * 40}, token)
        with pytest.raises(ConnectorError, match="at most 50"):
            connector.subscribe(dataclasses.replace(channel, id="2", token="x" * 51))
        connector.subscribe(
            dataclasses.replace(channel, expires=channel.expires + 86400), renew=True
        )
        connector.unsubscribe(["1000000068001"])
        emulator.change("Accounts", account["id"], {"Phone": "+44 2"})
        assert emulator.notifications() == []


def test_a_download_zoho_refuses_is_an_error_with_zohos_code() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=20, seed=5) as emulator:
        connector = open_connector(emulator, clock)
        account = emulator.records("Accounts")[0]

        with pytest.raises(ConnectorError) as caught:
            b"".join(connector.download("Accounts", account["id"], "4000000000001"))

        assert caught.value.code == "INVALID_DATA"
        assert str(caught.value).startswith("crm: downloading attachment 4000000000001: ")


@pytest.mark.parametrize(
    ("status", "path", "body", "verdict"),
    [
        (401, "/crm/v8/Accounts", {"code": "INVALID_TOKEN"}, AUTH_EXPIRED),
        (401, "/crm/v8/Accounts", {"code": "OAUTH_SCOPE_MISMATCH"}, OK),
        (429, "/crm/v8/Accounts", {"code": "TOO_MANY_REQUESTS"}, RATE_LIMITED),
        (503, "/crm/v8/Accounts", None, RETRY),
        (200, "/oauth/v2/token", {"error": "Access Denied"}, RATE_LIMITED),
        # An id from data, escaped into one segment, is not the token endpoint.
        (200, "/crm/v8/Accounts/a%2Foauth%2Fb", {"error": "Access Denied"}, OK),
    ],
)
def test_the_zoho_classifier_reads_status_path_and_code(
    status: int, path: str, body: Any, verdict: str
) -> None:
    content = json.dumps(body).encode() if body is not None else b""
    host = "https://accounts.zoho.com" if path.startswith("/oauth/") else "https://www.zohoapis.com"
    answer = HttpAnswer(status, {}, content, "GET", host + path, authenticated=True)

    assert zoho_classifier(answer) == verdict
