"""The connector's read with a pushed filter (issue 12, CS-1): by COQL, by key, past 2,000
rows, records as Get Records gives them; back to Get Records where COQL will not do."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from integrate import GONE_FIELD, And, Compare, FakeClock, IsNull, IsTrue, Or
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.plugins.zoho_crm.emulator_kit import TOKEN_URL, Crm
from tests.plugins.zoho_crm.test_connector import open_connector, read_all

FIELDS = ["Account_Name", "Phone", "Owner", "Parent_Account", "Account_Status"]
CUSTOMERS = Or((Compare("Account_Status", "==", "Customer"), IsTrue("Sync_with_ClientSuccess")))


def read(connector: Any, obj: str, where: Any, since: Any = None) -> tuple[list[Any], Any]:
    records: list[dict[str, Any]] = []
    cursor = since
    for page in connector.read(obj, since=since, fields=FIELDS, where=where):
        records.extend(page.records)
        cursor = page.cursor if page.cursor is not None else cursor
    return records, cursor


def without_dollar(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("$")}


def test_a_pushed_read_pages_by_key_past_2000_rows_and_reads_as_get_records_does() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=4500, seed=5) as emulator:
        connector = open_connector(emulator, clock)
        wanted = {
            r["id"]
            for r in emulator.records("Accounts")
            if r["Account_Status"] == "Customer" or r["Sync_with_ClientSuccess"]
        }
        assert len(wanted) > 2000

        records, cursor = read(connector, "Accounts", CUSTOMERS)

        assert [r["id"] for r in records if r["id"] in wanted] == [r["id"] for r in records]
        assert len(records) == len({r["id"] for r in records}) == len(wanted)
        assert emulator.calls()["coql"] == math.ceil(len(wanted) / 2000)
        # lookups come by id, as Get Records gives them ({name, id}), for these rows only
        plain, _ = read_all(connector, "Accounts", fields=FIELDS)
        by_id = {r["id"]: without_dollar(r) for r in plain}
        assert [without_dollar(r) for r in records] == [by_id[r["id"]] for r in records]
        assert any(r["Owner"] and r["Owner"].get("name") for r in records)

        # nothing changed: the next read asks once and gets nothing new
        calls = emulator.calls()["coql"]
        again, _ = read(connector, "Accounts", CUSTOMERS, since=cursor)
        assert again == []
        assert emulator.calls()["coql"] == calls + 1


def test_what_coql_cannot_say_is_read_with_get_records() -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=300, seed=2) as emulator:
        connector = open_connector(emulator, clock)
        # a lookup, a multi-line text and a text compared by != cannot be said in COQL
        for where in (
            Compare("Owner", "==", "x"),
            IsNull("Description"),
            Or((Compare("Account_Name", "!=", "x"), IsNull("Account_Name"))),
            # 23 criteria leave no room for the key's 3 (§7: at most 25)
            And(tuple(Compare("Employees", ">", i) for i in range(23))),
        ):
            records, _ = read(connector, "Accounts", where)
            assert len(records) == 300
        assert emulator.calls().get("coql", 0) == 0


def test_a_token_without_the_coql_scope_reads_with_get_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=300, seed=2) as emulator:
        import httpx

        http = httpx.Client(transport=emulator.transport())
        answer = http.post(
            TOKEN_URL,
            params={
                "grant_type": "authorization_code",
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
                "code": emulator.grant_code("ZohoCRM.modules.ALL,ZohoCRM.settings.ALL"),
            },
        )
        connector = open_connector(emulator, clock, refresh_token=answer.json()["refresh_token"])

        with caplog.at_level(logging.WARNING):
            records, _ = read(connector, "Accounts", CUSTOMERS)

        assert len(records) == 300  # a superset: the engine filters
        assert emulator.calls()["coql"] == 1
        assert "COQL on Accounts: OAUTH_SCOPE_MISMATCH" in caplog.text


def test_leads_from_a_cursor_are_read_with_get_records_so_conversions_are_seen() -> None:
    crm = Crm(leads=50, seed=2)
    connector = open_connector(crm.emulator, crm.clock)
    anyone = IsNull("Last_Name", negated=True)
    first, cursor = read(connector, "Leads", anyone)
    assert len(first) == 50
    assert crm.emulator.calls()["coql"] == 1
    crm.clock.advance(5)
    lead = first[0]["id"]
    assert crm.post(f"/Leads/{lead}/actions/convert", json={"data": [{}]}).status_code == 200
    calls = dict(crm.emulator.calls())

    records, _ = read(connector, "Leads", anyone, since=cursor)

    assert crm.emulator.calls()["coql"] == calls["coql"]
    assert [r["id"] for r in records if GONE_FIELD in r] == [lead]
