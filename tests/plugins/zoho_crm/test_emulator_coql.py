"""The emulator's COQL (`POST /crm/v8/coql`, shared/api/zoho_crm.md §7): what it answers and
what it refuses, as the document says (issue 12, CS-1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.zoho_crm.emulator_kit import TOKEN_URL, Crm, error


@pytest.fixture(scope="module")
def crm() -> Crm:
    crm = Crm(accounts=60)
    return crm


def coql(crm: Crm, text: str, **kw: Any) -> Any:
    return crm.post("/coql", json={"select_query": text}, **kw)


def accounts(crm: Crm) -> list[dict[str, Any]]:
    return crm.emulator.records("Accounts")


def test_a_query_answers_the_matching_records_with_the_columns_asked(crm: Crm) -> None:
    answer = coql(
        crm,
        "SELECT Account_Name, Account_Status, Owner, Modified_Time FROM Accounts "
        "WHERE (Account_Status = 'Customer' or Sync_with_ClientSuccess = true) "
        "ORDER BY Modified_Time ASC, id ASC LIMIT 2000",
    )
    assert answer.status_code == 200
    body = answer.json()
    expected = [
        r
        for r in accounts(crm)
        if r["Account_Status"] == "Customer" or r["Sync_with_ClientSuccess"] is True
    ]
    expected.sort(key=lambda r: (r["Modified_Time"], int(r["id"])))
    assert 0 < len(expected) < 60
    assert [r["id"] for r in body["data"]] == [r["id"] for r in expected]
    assert body["info"] == {"count": len(expected), "more_records": False}
    first, record = body["data"][0], expected[0]
    assert set(first) == {"Account_Name", "Account_Status", "Owner", "Modified_Time", "id"}
    assert first["Account_Name"] == record["Account_Name"]
    assert first["Modified_Time"] == record["Modified_Time"]
    # a lookup answers its id only (§7)
    assert first["Owner"] == {"id": record["Owner"]["id"]}


def test_limit_offset_and_more_records(crm: Crm) -> None:
    every = [
        r["id"] for r in coql(crm, "select id from Accounts where id is not null").json()["data"]
    ]
    assert every == sorted(every, key=int)  # default order: id ascending
    page = coql(crm, "select id from Accounts where id is not null limit 10 offset 20").json()
    assert [r["id"] for r in page["data"]] == every[20:30]
    assert page["info"] == {"count": 10, "more_records": True}
    # paging by key (§7: past 100,000 rows)
    after = coql(crm, f"select id from Accounts where id > {every[-3]} order by id asc").json()
    assert [r["id"] for r in after["data"]] == every[-2:]


def test_null_not_equal_and_quotes(crm: Crm) -> None:
    rows = accounts(crm)
    nulls = {r["id"] for r in rows if r["Account_Status"] is None}
    found = coql(crm, "select id from Accounts where Account_Status is null").json()["data"]
    assert {r["id"] for r in found} == nulls
    # `!=` leaves out the records whose field is null
    others = coql(crm, "select id from Accounts where Account_Status != 'Customer'").json()["data"]
    assert {r["id"] for r in others} == {
        r["id"] for r in rows if r["Account_Status"] not in (None, "Customer")
    }
    name = rows[0]["Account_Name"]
    crm.emulator.change("Accounts", rows[0]["id"], {"Account_Name": "O'Brien & Co"})
    try:
        hit = coql(crm, "select id from Accounts where Account_Name = 'O''Brien & Co'").json()
        assert [r["id"] for r in hit["data"]] == [rows[0]["id"]]
    finally:
        crm.emulator.change("Accounts", rows[0]["id"], {"Account_Name": name})


def test_no_match_is_204(crm: Crm) -> None:
    answer = coql(crm, "select id from Accounts where Account_Name = 'no such name at all'")
    assert answer.status_code == 204
    assert answer.content == b""


SYNTAX = "error occured while parsing the query"


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("select id from Accounts", {"clause": "where"}),
        ("select id form Accounts where id is not null", {"line": 1, "column": 11, "near": "form"}),
        # > 2 criteria must be parenthesised pairwise (Kaizen #171)
        (
            "select id from Accounts where id is not null and Phone is not null and Fax is null",
            {"line": 1, "column": 68, "near": "and"},
        ),
        # a reserved word as a column must be quoted
        (
            "select External from Accounts where id is not null",
            {"line": 1, "column": 8, "near": "External"},
        ),
        ("select id from Accounts where Phone = ", {"line": 1, "column": 39, "near": ""}),
    ],
)
def test_syntax_errors_say_where(crm: Crm, text: str, details: dict[str, Any]) -> None:
    answer = coql(crm, text)
    assert answer.status_code == 400
    assert answer.json() == error("SYNTAX_ERROR", SYNTAX, details)


def test_pairs_in_parentheses_are_taken(crm: Crm) -> None:
    text = "select id from Accounts where ((id is not null and Phone is not null) and Fax is null)"
    assert coql(crm, text).status_code in (200, 204)


@pytest.mark.parametrize(
    ("text", "message", "details"),
    [
        (
            "select Nope from Accounts where id is not null",
            "column given seems to be invalid",
            {"column_name": "Nope"},
        ),
        (
            "select id from Accounts where Nope = 'x'",
            "column given seems to be invalid",
            {"column_name": "Nope"},
        ),
        (
            "select id from Accounts where Employees = 'many'",
            "value given seems to be invalid for the column",
            {"column_name": "Employees"},
        ),
        (
            "select id from Accounts where Sync_with_ClientSuccess = 'yes'",
            "value given seems to be invalid for the column",
            {"column_name": "Sync_with_ClientSuccess"},
        ),
        (
            "select id from Accounts where Modified_Time >= 'yesterday'",
            "value given seems to be invalid for the column",
            {"column_name": "Modified_Time"},
        ),
        # multi-line text cannot be used in criteria (§7)
        (
            "select id from Accounts where Description = 'x'",
            "data type not supported",
            {"column_name": "Description"},
        ),
        (
            "select id from Accounts where Account_Name < 'M'",
            "invalid query formed",
            {"column_name": "Account_Name", "operator": "<"},
        ),
    ],
)
def test_invalid_queries(crm: Crm, text: str, message: str, details: dict[str, Any]) -> None:
    answer = coql(crm, text)
    assert answer.status_code == 400
    assert answer.json() == error("INVALID_QUERY", message, details)


def _nested(count: int) -> str:
    where = "id is not null"
    for _ in range(count - 1):
        where = f"({where} and id is not null)"
    return where


@pytest.mark.parametrize(
    ("text", "details"),
    [
        (
            "select id from Accounts where id is not null limit 2001",
            {"limit": 2000, "clause": "limit"},
        ),
        (
            "select id from Accounts where id is not null limit 2000 offset 98001",
            {"limit": 100000, "clause": "offset"},
        ),
        (f"select id from Accounts where {_nested(26)}", {"limit": 25, "clause": "where"}),
        (
            "select id from Accounts where Account_Name in ("
            + ",".join(f"'n{i}'" for i in range(51))
            + ")",
            {"limit": 50, "clause": "where"},
        ),
        (
            "select " + ",".join(["Phone"] * 51) + " from Accounts where id is not null",
            {"limit": 50, "clause": "select"},
        ),
    ],
)
def test_limits(crm: Crm, text: str, details: dict[str, Any]) -> None:
    answer = coql(crm, text)
    assert answer.status_code == 400
    assert answer.json() == error("LIMIT_EXCEEDED", "limit exceeded", details)


def test_twenty_five_criteria_are_taken(crm: Crm) -> None:
    assert coql(crm, f"select id from Accounts where {_nested(25)}").status_code == 200


def test_credits_follow_the_limit(crm: Crm) -> None:
    before = crm.emulator.coql_credits
    coql(crm, "select id from Accounts where id is not null limit 200")
    coql(crm, "select id from Accounts where id is not null limit 201")
    coql(crm, "select id from Accounts where id is not null limit 2000")
    assert crm.emulator.coql_credits - before == 1 + 2 + 3


def test_a_token_without_the_coql_scope_is_refused(crm: Crm) -> None:
    e = crm.emulator
    params = {
        "grant_type": "authorization_code",
        "client_id": e.client_id,
        "client_secret": e.client_secret,
        "code": e.grant_code("ZohoCRM.modules.ALL"),
    }
    token = crm.http.post(TOKEN_URL, params=params).json()["access_token"]
    answer = coql(crm, "select id from Accounts where id is not null", token=token)
    assert answer.status_code == 401
    assert answer.json() == error("OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")


def test_paths_and_methods_it_does_not_take_answer_as_zoho_does(crm: Crm) -> None:
    answer = crm.post("/coql/run", json={"select_query": "select id from Accounts"})
    assert answer.status_code == 404
    assert answer.json()["code"] == "INVALID_URL_PATTERN"
    answer = crm.get("/coql")
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_REQUEST_METHOD"
    answer = crm.post("/coql", json={})
    assert answer.status_code == 400
    assert answer.json()["code"] == "REQUIRED_PARAM_MISSING"


def test_group_by_and_aggregates(crm: Crm) -> None:
    rows = accounts(crm)
    answer = coql(
        crm,
        "select Account_Status, COUNT(id) as total, MAX(Employees) from Accounts "
        "where id is not null group by Account_Status order by total desc limit 10",
    )
    assert answer.status_code == 200
    data = answer.json()["data"]
    counts: dict[Any, int] = {}
    for r in rows:
        counts[r["Account_Status"]] = counts.get(r["Account_Status"], 0) + 1
    assert {d["Account_Status"]: d["total"] for d in data} == counts
    assert [d["total"] for d in data] == sorted(counts.values(), reverse=True)
    assert set(data[0]) == {"Account_Status", "total", "MAX(Employees)"}
    employees = [r["Employees"] for r in rows if r["Employees"] is not None]
    whole = coql(crm, "select COUNT(id), SUM(Employees) from Accounts where id is not null")
    assert whole.json()["data"] == [{"COUNT(id)": len(rows), "SUM(Employees)": sum(employees)}]


@pytest.mark.parametrize(
    ("text", "code", "details"),
    [
        (
            "select Phone, COUNT(id) from Accounts where id is not null group by Account_Status",
            "INVALID_QUERY",
            {"column_name": "Phone"},
        ),
        (
            "select COUNT(id) as Phone from Accounts where id is not null",
            "INVALID_ALIAS",
            {"alias": "Phone"},
        ),
        (
            "select COUNT(id) as n, MAX(id) as n from Accounts where id is not null",
            "DUPLICATE_ALIAS",
            {"alias": "n"},
        ),
        (
            "select SUM(Account_Name) from Accounts where id is not null",
            "INVALID_QUERY",
            {"column_name": "Account_Name"},
        ),
        (
            "select COUNT(id) from Accounts where id is not null group by Phone, Fax, Rating, "
            "Region, Industry",
            "LIMIT_EXCEEDED",
            {"limit": 4, "clause": "group by"},
        ),
    ],
)
def test_group_by_refusals(crm: Crm, text: str, code: str, details: dict[str, Any]) -> None:
    answer = coql(crm, text)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert answer.json()["details"] == details
