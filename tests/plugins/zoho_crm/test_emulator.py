"""The Zoho CRM emulator behaves like Zoho CRM v8 and its accounts server, awkward parts
included (shared/api/zoho_crm.md). Every call goes through the in-process transport."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrate import FakeClock, Faults
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from integrate_zoho_crm.emulator.paging import PageTokens
from tests.plugins.zoho_crm.emulator_kit import API, START, TOKEN_URL, Crm, error

INVALID_TOKEN = error("INVALID_TOKEN", "invalid oauth token")
ID = re.compile(r"^\d{19}$")


@pytest.fixture
def crm() -> Crm:
    return Crm(
        accounts=6, contacts_per_account=2, deals_per_account=1, events_per_account=1, leads=4
    )


# ---- accounts server (§1) -----------------------------------------------------------------


def test_refresh_answers_a_bearer_token_for_the_data_centre(crm: Crm) -> None:
    body = crm.refresh()
    assert set(body) == {"access_token", "scope", "api_domain", "token_type", "expires_in"}
    assert re.match(r"^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$", body["access_token"])
    assert body["api_domain"] == "https://www.zohoapis.com"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert "ZohoCRM.modules.ALL" in body["scope"].split()


def test_token_parameters_may_come_as_a_form_body(crm: Crm) -> None:
    e = crm.emulator
    answer = crm.http.post(
        TOKEN_URL,
        data={
            "grant_type": "refresh_token",
            "client_id": e.client_id,
            "client_secret": e.client_secret,
            "refresh_token": e.refresh_token,
        },
    )
    assert "access_token" in answer.json()


@pytest.mark.parametrize(
    ("url", "overrides", "expected"),
    [
        (TOKEN_URL, {"client_secret": "nope"}, {"error": "invalid_client"}),
        (TOKEN_URL, {"refresh_token": "1000.abc.def"}, {"error": "invalid_code"}),
        ("https://accounts.zoho.eu/oauth/v2/token", {}, {"error": "invalid_client"}),
    ],
    ids=["bad client", "unknown refresh token", "wrong data centre"],
)
def test_token_errors_are_http_200_with_an_error_key(
    crm: Crm, url: str, overrides: dict[str, str], expected: dict[str, str]
) -> None:
    assert crm.refresh(url, **overrides) == expected


def test_more_than_ten_tokens_per_refresh_token_in_ten_minutes_are_refused(crm: Crm) -> None:
    for _ in range(9):  # the kit's first refresh was the 1st
        assert "access_token" in crm.refresh()
    assert crm.refresh() == {
        "error": "Access Denied",
        "error_description": "You have made too many requests continuously. Please try again after some time.",
        "status": "failure",
    }
    crm.clock.advance(601)
    assert "access_token" in crm.refresh()


def test_refresh_limit_is_configurable() -> None:
    crm = Crm(refresh_limit=2)
    assert "access_token" in crm.refresh()
    assert crm.refresh()["error"] == "Access Denied"


def test_a_grant_code_is_single_use_and_lives_three_minutes(crm: Crm) -> None:
    e = crm.emulator

    def exchange(code: str) -> dict[str, Any]:
        params = {
            "grant_type": "authorization_code",
            "client_id": e.client_id,
            "client_secret": e.client_secret,
            "code": code,
        }
        body: dict[str, Any] = crm.http.post(TOKEN_URL, params=params).json()
        return body

    code = e.grant_code()
    body = exchange(code)
    assert body["refresh_token"] != e.refresh_token
    assert body["scope"] == "ZohoCRM.modules.ALL"
    assert exchange(code) == {"error": "invalid_code"}
    late = e.grant_code()
    crm.clock.advance(181)
    assert exchange(late) == {"error": "invalid_code"}
    fresh = crm.refresh(refresh_token=body["refresh_token"])
    assert (
        crm.get(
            "/Accounts", params={"fields": "Account_Name"}, token=fresh["access_token"]
        ).status_code
        == 200
    )


def test_scopes_are_enforced(crm: Crm) -> None:
    e = crm.emulator
    params = {
        "grant_type": "authorization_code",
        "client_id": e.client_id,
        "client_secret": e.client_secret,
        "code": e.grant_code("ZohoCRM.modules.ALL"),
    }
    token = crm.http.post(TOKEN_URL, params=params).json()["access_token"]
    assert crm.get("/Accounts", params={"fields": "Account_Name"}, token=token).status_code == 200
    answer = crm.get("/users", token=token)
    assert answer.status_code == 401
    assert answer.json() == error("OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")


def test_consent_redirects_with_a_code_and_the_accounts_server(crm: Crm) -> None:
    e = crm.emulator
    answer = crm.http.get(
        "https://accounts.zoho.com/oauth/v2/auth",
        params={
            "scope": "ZohoCRM.modules.ALL",
            "client_id": e.client_id,
            "response_type": "code",
            "access_type": "offline",
            "redirect_uri": "https://app.example/callback",
            "state": "s1",
        },
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.netloc == "app.example"
    assert query["location"] == "us"
    assert query["accounts-server"] == "https://accounts.zoho.com"
    assert query["state"] == "s1"
    body = crm.http.post(
        TOKEN_URL,
        params={
            "grant_type": "authorization_code",
            "client_id": e.client_id,
            "client_secret": e.client_secret,
            "redirect_uri": "https://app.example/callback",
            "code": query["code"],
        },
    ).json()
    assert "refresh_token" in body


def test_revoking_the_refresh_token_ends_it_and_its_access_tokens(crm: Crm) -> None:
    e = crm.emulator
    crm.http.post(f"{TOKEN_URL}/revoke", params={"token": e.refresh_token})
    assert crm.refresh() == {"error": "invalid_code"}
    assert crm.get("/Accounts", params={"fields": "Account_Name"}).json() == INVALID_TOKEN


@pytest.mark.parametrize(
    ("dc", "accounts", "api"),
    [
        ("eu", "accounts.zoho.eu", "www.zohoapis.eu"),
        ("ca", "accounts.zohocloud.ca", "www.zohoapis.ca"),
        ("com.au", "accounts.zoho.com.au", "www.zohoapis.com.au"),
    ],
)
def test_every_data_centre_has_its_own_hosts(dc: str, accounts: str, api: str) -> None:
    e = ZohoCrmEmulator(clock=FakeClock(START), data_center=dc, accounts=1)
    http = httpx.Client(transport=e.transport())
    params = {
        "grant_type": "refresh_token",
        "client_id": e.client_id,
        "client_secret": e.client_secret,
        "refresh_token": e.refresh_token,
    }
    assert http.post(TOKEN_URL, params=params).json() == {"error": "invalid_client"}
    body = http.post(f"https://{accounts}/oauth/v2/token", params=params).json()
    assert body["api_domain"] == f"https://{api}"
    auth = {"Authorization": f"Zoho-oauthtoken {body['access_token']}"}
    fields = {"fields": "Account_Name"}
    assert (
        http.get(f"https://{api}/crm/v8/Accounts", params=fields, headers=auth).status_code == 200
    )
    wrong = http.get(f"{API}/Accounts", params=fields, headers=auth)
    assert (wrong.status_code, wrong.json()) == (401, INVALID_TOKEN)


def test_for_connection_and_connection_config() -> None:
    e = ZohoCrmEmulator.for_connection({"data_center": "eu", "client_id": "ignored"})
    assert e.connection_config() == {
        "data_center": "eu",
        "client_id": e.client_id,
        "client_secret": e.client_secret,
        "refresh_token": e.refresh_token,
    }


def test_for_connection_takes_sandbox_options() -> None:
    e = ZohoCrmEmulator.for_connection(
        {"data_center": "eu"}, accounts=3, leads=2, faults={"rate_limit": 0.5, "spare": ["token"]}
    )
    assert (e.data_center, len(e.records("Accounts")), len(e.records("Leads"))) == ("eu", 3, 2)
    assert (e.faults.rate_limit, e.faults.spare) == (0.5, frozenset({"token"}))


def test_save_and_restore_keep_the_org(tmp_path: Path) -> None:
    crm = Crm(
        accounts=4,
        contacts_per_account=1,
        deals_per_account=1,
        unique_fields={"Contacts": ["Email"]},
    )
    e = crm.emulator
    deal = crm.ids("Deals")[0]
    [file] = e.seed(
        "Attachments", [{"Parent_Id": {"id": deal}, "File_Name": "a.txt", "content": "hallo"}]
    )
    e.delete("Contacts", crm.ids("Contacts")[0])
    _subscribe(crm)
    e.save(tmp_path)
    again = ZohoCrmEmulator.restore(tmp_path, {"data_center": "com"}, clock=crm.clock)
    modules = ("Accounts", "Contacts", "Deals", "Notes", "Attachments", "Leads")
    assert {m: again.records(m) for m in modules} == {m: e.records(m) for m in modules}
    assert again.connection_config() == e.connection_config()
    http = httpx.Client(transport=again.transport())
    auth = {"Authorization": f"Zoho-oauthtoken {crm.token}"}  # still within its hour
    assert (
        http.get(f"{API}/Deals/{deal}/Attachments/{file['id']}", headers=auth).content == b"hallo"
    )
    assert http.get(f"{API}/Contacts/deleted", headers=auth).json()["data"][0]["type"] == "recycle"
    assert http.get(f"{API}/actions/watch", headers=auth).status_code in (200, 204)
    [added] = again.seed("Accounts", [{"Account_Name": "Nach dem Neustart"}])
    assert added["id"] not in crm.ids("Accounts") + crm.ids("Contacts") + crm.ids("Deals")


# ---- authentication on the API (§1.4) -------------------------------------------------------


def test_missing_unknown_and_expired_tokens_are_401_invalid_token(crm: Crm) -> None:
    params = {"fields": "Account_Name"}
    missing = crm.http.get(f"{API}/Accounts", params=params)
    assert (missing.status_code, missing.json()) == (401, INVALID_TOKEN)
    assert crm.get("/Accounts", params=params, token="1000.x.y").status_code == 401
    assert crm.get("/Accounts", params=params).status_code == 200
    crm.clock.advance(3600)
    assert crm.get("/Accounts", params=params).json() == INVALID_TOKEN


def test_sandbox_and_foreign_hosts(crm: Crm) -> None:
    params = {"fields": "Account_Name"}
    sandbox = crm.get("/Accounts", params=params, api="https://sandbox.zohoapis.com/crm/v8")
    assert (sandbox.status_code, sandbox.json()) == (401, INVALID_TOKEN)
    foreign = crm.get("/Accounts", params=params, api="https://crm.zoho.com/crm/v8")
    assert (foreign.status_code, foreign.json()["code"]) == (400, "INVALID_HOST")
    local = crm.get("/Accounts", params=params, api="http://127.0.0.1:8080/crm/v8")
    assert local.status_code == 200  # a loopback host is the emulator's own data centre


def test_expire_tokens_ends_every_token_issued_so_far(crm: Crm) -> None:
    crm.emulator.expire_tokens()
    assert crm.get("/Accounts", params={"fields": "Account_Name"}).status_code == 401
    crm.token = crm.refresh()["access_token"]
    assert crm.get("/Accounts", params={"fields": "Account_Name"}).status_code == 200


def test_bearer_is_accepted_too(crm: Crm) -> None:
    answer = crm.http.get(
        f"{API}/Accounts",
        params={"fields": "Account_Name"},
        headers={"Authorization": f"Bearer {crm.token}"},
    )
    assert answer.status_code == 200


def test_the_sixteenth_live_token_ends_the_oldest(crm: Crm) -> None:
    tokens = [crm.token]
    for n in range(15):
        if n % 9 == 8:
            crm.clock.advance(601)  # stay under the refresh limit
        tokens.append(crm.refresh()["access_token"])
    params = {"fields": "Account_Name"}
    assert crm.get("/Accounts", params=params, token=tokens[0]).status_code == 401
    assert crm.get("/Accounts", params=params, token=tokens[1]).status_code == 200


# ---- reading (§2) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {},
            error(
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "fields"},
            ),
        ),
        (
            {"fields": ",".join(["Account_Name"] * 51)},
            error(
                "LIMIT_EXCEEDED", "Max field limit exceeded", {"limit": 50, "param_name": "fields"}
            ),
        ),
        (
            {"fields": "Account_Name,Nope"},
            error("INVALID_DATA", "invalid data", {"api_name": "Nope", "param_name": "fields"}),
        ),
        (
            {"fields": "Account_Name", "per_page": "250"},
            error("INVALID_DATA", "invalid data", {"param_name": "per_page"}),
        ),
        (
            {"fields": "Account_Name", "page": "11", "per_page": "200"},
            error(
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "You can only get the first 2000 records without using page_token param",
                {"limit": 2000},
            ),
        ),
        (
            {"fields": "Account_Name", "sort_by": "Account_Name"},
            error("INVALID_DATA", "invalid data", {"param_name": "sort_by"}),
        ),
    ],
    ids=["no fields", "51 fields", "unknown field", "per_page 250", "page 11", "bad sort_by"],
)
def test_list_refusals(crm: Crm, params: dict[str, str], expected: dict[str, Any]) -> None:
    answer = crm.get("/Accounts", params=params)
    assert (answer.status_code, answer.json()) == (400, expected)


def test_a_list_returns_only_the_fields_asked_for_and_id(crm: Crm) -> None:
    body = crm.get("/Contacts", params={"fields": "Last_Name,Account_Name,Owner"}).json()
    record = body["data"][0]
    assert set(record) - {"$editable", "$state"} == {"Last_Name", "Account_Name", "Owner", "id"}
    assert set(record["Account_Name"]) == {"name", "id"}
    assert set(record["Owner"]) == {"name", "id", "email"}
    assert body["info"] | {"next_page_token": None, "page_token_expiry": None} == {
        "per_page": 200,
        "count": 12,
        "page": 1,
        "sort_by": "id",
        "sort_order": "desc",
        "more_records": False,
        "next_page_token": None,
        "previous_page_token": None,
        "page_token_expiry": None,
        "call": False,
        "email": False,
    }
    ids = [r["id"] for r in body["data"]]
    assert ids == sorted(ids, reverse=True)  # default order: id, descending


def test_5000_accounts_take_10_page_calls_then_15_page_token_calls() -> None:
    crm = Crm(accounts=5000)
    seen: list[str] = []
    params: dict[str, str] = {"fields": "Account_Name,Modified_Time", "per_page": "200"}
    token = None
    for page in range(1, 11):
        info = _page(crm, params | {"page": str(page)}, seen)
        token = info["next_page_token"]
    while token:
        info = _page(crm, params | {"page_token": token}, seen)
        token = info["next_page_token"] if info["more_records"] else None
    assert crm.emulator.calls()["list"] == 25
    assert len(seen) == len(set(seen)) == 5000
    assert set(seen) == set(crm.ids("Accounts"))


def _page(crm: Crm, params: dict[str, str], seen: list[str]) -> dict[str, Any]:
    answer = crm.get("/Accounts", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    seen.extend(r["id"] for r in body["data"])
    info: dict[str, Any] = body["info"]
    return info


def test_page_token_refusals() -> None:
    crm = Crm(accounts=450)
    params = {"fields": "Account_Name", "per_page": "200"}
    token = crm.get("/Accounts", params=params).json()["info"]["next_page_token"]
    garbage = crm.get("/Accounts", params=params | {"page_token": "garbage"})
    assert (garbage.status_code, garbage.json()) == (
        400,
        error("INVALID_DATA", "invalid data", {"param_name": "page_token"}),
    )
    both = crm.get("/Accounts", params=params | {"page_token": token, "page": "2"})
    assert both.json()["code"] == "AMBIGUITY_DURING_PROCESSING"
    changed = crm.get("/Accounts", params=params | {"page_token": token, "fields": "Phone"})
    assert changed.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"
    assert crm.get("/Accounts", params=params | {"page_token": token}).status_code == 200
    crm.clock.advance(86_401)
    crm.token = crm.refresh()["access_token"]
    expired = crm.get("/Accounts", params=params | {"page_token": token})
    assert (expired.status_code, expired.json()["code"]) == (400, "EXPIRED_VALUE")


def test_page_tokens_stop_at_row_100000() -> None:
    tokens = PageTokens(seed=0)
    token, _ = tokens.issue("sig", 100_000, START)
    with pytest.raises(Exception, match="PAGINATION_LIMIT_EXCEEDED"):
        tokens.redeem(token, "sig", START)
    below, _ = tokens.issue("sig", 99_800, START)
    assert tokens.redeem(below, "sig", START).offset == 99_800


def test_an_empty_list_is_204_with_no_body() -> None:
    crm = Crm(accounts=2)
    answer = crm.get("/Leads", params={"fields": "Last_Name"})
    assert (answer.status_code, answer.content) == (204, b"")


def test_if_modified_since_is_inclusive_and_answers_304_when_nothing_changed(crm: Crm) -> None:
    account = crm.ids("Accounts")[0]
    crm.clock.advance(60)
    changed = crm.emulator.change("Accounts", account, {"Phone": "+41 44 000 00 00"})
    since = {"If-Modified-Since": changed["Modified_Time"]}
    body = crm.get("/Accounts", params={"fields": "Phone"}, headers=since).json()
    assert [r["id"] for r in body["data"]] == [account]
    crm.clock.advance(1)
    later = {"If-Modified-Since": "2026-09-21T14:14:21+00:00"}
    answer = crm.get("/Accounts", params={"fields": "Phone"}, headers=later)
    assert (answer.status_code, answer.content) == (304, b"")


def test_sorting_by_modified_time(crm: Crm) -> None:
    params = {"fields": "Modified_Time", "sort_by": "Modified_Time", "sort_order": "asc"}
    times = [r["Modified_Time"] for r in crm.get("/Accounts", params=params).json()["data"]]
    assert times == sorted(times)


def test_converted_leads_are_hidden_unless_asked_for(crm: Crm) -> None:
    lead = crm.ids("Leads")[0]
    assert crm.post(f"/Leads/{lead}/actions/convert", json={"data": [{}]}).status_code == 200
    fields = {"fields": "Last_Name,Converted__s"}
    default = {r["id"] for r in crm.get("/Leads", params=fields).json()["data"]}
    converted = crm.get("/Leads", params=fields | {"converted": "true"}).json()["data"]
    both = crm.get("/Leads", params=fields | {"converted": "both"}).json()["data"]
    assert lead not in default
    assert [r["id"] for r in converted] == [lead]
    assert converted[0]["Converted__s"] is True
    assert len(both) == 4
    assert lead in crm.ids("Leads")


def test_one_record_has_every_field_and_an_unknown_id_is_204(crm: Crm) -> None:
    account = crm.ids("Accounts")[0]
    record = crm.get(f"/Accounts/{account}").json()["data"][0]
    assert {
        "Account_Status",
        "Sync_with_ClientSuccess",
        "Customer_Start_Date",
        "Billing_City",
    } <= set(record)
    assert crm.get("/Accounts/5725767000009999999").status_code == 204
    assert crm.emulator.calls()["get"] == 2


# ---- writing (§3) -------------------------------------------------------------------------


def test_insert_answers_201_and_the_server_sets_system_fields(crm: Crm) -> None:
    crm.clock.advance(30)
    answer = crm.post(
        "/Accounts",
        json={
            "data": [
                {"Account_Name": "Łódź Logistics", "Created_Time": "2020-01-01T00:00:00+00:00"}
            ]
        },
    )
    assert answer.status_code == 201
    [result] = answer.json()["data"]
    details = result["details"]
    assert (result["code"], result["message"], result["status"]) == (
        "SUCCESS",
        "record added",
        "success",
    )
    assert ID.match(details["id"])
    assert details["Created_Time"] == details["Modified_Time"] == "2026-09-21T14:13:50+00:00"
    assert details["Created_By"]["name"] == "Amelia Hartmann"
    stored = next(r for r in crm.emulator.records("Accounts") if r["id"] == details["id"])
    assert stored["Owner"]["id"] == details["Created_By"]["id"]
    assert stored["Created_Time"] == "2026-09-21T14:13:50+00:00"


def test_mixed_results_are_207_in_request_order(crm: Crm) -> None:
    account = crm.ids("Accounts")[0]
    rows = [
        {"Last_Name": "Nowak", "Account_Name": {"id": account}},
        {"First_Name": "Ana"},
        {"Last_Name": "Silva", "Date_of_Birth": "21/09/1990"},
        {"Last_Name": "Kim", "Email": "kim@example.test"},
    ]
    answer = crm.post("/Contacts", json={"data": rows})
    assert answer.status_code == 207
    data = answer.json()["data"]
    assert [r["status"] for r in data] == ["success", "error", "error", "success"]
    assert data[1] == error(
        "MANDATORY_NOT_FOUND",
        "required field not found",
        {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"},
    )
    assert data[2] == error(
        "INVALID_DATA",
        "invalid data",
        {
            "api_name": "Date_of_Birth",
            "json_path": "$.data[2].Date_of_Birth",
            "expected_data_type": "date",
        },
    )


def test_all_rows_failing_is_400(crm: Crm) -> None:
    answer = crm.post(
        "/Deals", json={"data": [{"Deal_Name": "No stage"}, {"Stage": "Qualification"}]}
    )
    assert answer.status_code == 400
    assert [r["details"]["api_name"] for r in answer.json()["data"]] == ["Stage", "Deal_Name"]


@pytest.mark.parametrize(
    ("row", "field", "extra"),
    [
        (
            {"Customer_Start_Date": "2026-13-01"},
            "Customer_Start_Date",
            {"expected_data_type": "date"},
        ),
        (
            {"Sync_with_ClientSuccess": "true"},
            "Sync_with_ClientSuccess",
            {"expected_data_type": "boolean"},
        ),
        ({"Employees": "12"}, "Employees", {"expected_data_type": "integer"}),
        ({"Employees": 1_000_000_000}, "Employees", {"expected_data_type": "integer"}),
        ({"Website": "x" * 256}, "Website", {"maximum_length": 255}),
        (
            {"Parent_Account": {"id": "5725767000009999999"}},
            "Parent_Account",
            {"expected_data_type": "lookup", "id": "5725767000009999999"},
        ),
        (
            {"Parent_Account": "5725767000001000001"},
            "Parent_Account",
            {"expected_data_type": "jsonobject"},
        ),
        ({"Nope": 1}, "Nope", {}),
    ],
    ids=[
        "date",
        "boolean",
        "integer as text",
        "integer too long",
        "too long",
        "lookup unknown",
        "lookup not object",
        "unknown field",
    ],
)
def test_values_zoho_refuses(
    crm: Crm, row: dict[str, Any], field: str, extra: dict[str, Any]
) -> None:
    answer = crm.post("/Accounts", json={"data": [{"Account_Name": "Ørsted", **row}]})
    assert answer.status_code == 400
    details = {"api_name": field, "json_path": f"$.data[0].{field}", **extra}
    assert answer.json()["data"] == [error("INVALID_DATA", "invalid data", details)]


def test_datetimes_need_an_offset_and_emails_a_shape(crm: Crm) -> None:
    account = crm.ids("Accounts")[0]
    event = {"Event_Title": "Kick-off", "What_Id": {"id": account}, "$se_module": "Accounts"}
    naive = crm.post(
        "/Events",
        json={
            "data": [
                event
                | {
                    "Start_DateTime": "2026-10-01T10:00:00",
                    "End_DateTime": "2026-10-01T11:00:00+02:00",
                }
            ]
        },
    )
    assert naive.json()["data"][0]["details"]["expected_data_type"] == "datetime"
    good = crm.post(
        "/Events",
        json={
            "data": [
                event
                | {
                    "Start_DateTime": "2026-10-01T10:00:00+02:00",
                    "End_DateTime": "2026-10-01T11:00:00+02:00",
                }
            ]
        },
    )
    assert good.status_code == 201
    stored = crm.get(f"/Events/{good.json()['data'][0]['details']['id']}").json()["data"][0]
    assert stored["Start_DateTime"] == "2026-10-01T08:00:00+00:00"
    assert stored["What_Id"]["id"] == account
    assert stored["$se_module"] == "Accounts"
    bad = crm.post("/Contacts", json={"data": [{"Last_Name": "X", "Email": "not-an-email"}]})
    assert bad.json()["data"][0]["details"]["expected_data_type"] == "email"


def test_more_than_100_rows_are_refused(crm: Crm) -> None:
    answer = crm.post("/Accounts", json={"data": [{"Account_Name": f"A{i}"} for i in range(101)]})
    assert (answer.status_code, answer.json()["code"]) == (400, "LIMIT_EXCEEDED")
    assert len(crm.emulator.records("Accounts")) == 6
    deleting = crm.delete("/Accounts", params={"ids": ",".join(["5725767000001000001"] * 101)})
    assert (deleting.status_code, deleting.json()["code"]) == (400, "LIMIT_EXCEEDED")


def test_update_moves_modified_time_and_refuses_unknown_ids(crm: Crm) -> None:
    first, second = crm.ids("Accounts")[:2]
    crm.clock.advance(120)
    answer = crm.put(
        "/Accounts",
        json={
            "data": [
                {"id": first, "Phone": "+48 42 000"},
                {"id": "5725767000009999999", "Phone": "1"},
                {"Phone": "2"},
            ]
        },
    )
    assert answer.status_code == 207
    ok, unknown, no_id = answer.json()["data"]
    assert ok["message"] == "record updated"
    assert ok["details"]["Modified_Time"] == "2026-09-21T14:15:20+00:00"
    assert unknown == error(
        "INVALID_DATA", "the id given seems to be invalid", {"id": "5725767000009999999"}
    )
    assert no_id["code"] == "MANDATORY_NOT_FOUND"
    one = crm.put(f"/Accounts/{second}", json={"data": [{"Account_Status": "Churned"}]})
    assert one.status_code == 200
    stored = {r["id"]: r for r in crm.emulator.records("Accounts")}
    assert stored[first]["Phone"] == "+48 42 000"
    assert stored[second]["Account_Status"] == "Churned"


def test_upsert_matches_the_system_duplicate_field_by_default(crm: Crm) -> None:
    existing = crm.emulator.records("Accounts")[0]
    rows = [
        {"Account_Name": existing["Account_Name"].upper(), "Phone": "+1 555 0100"},
        {"Account_Name": "Brand New GmbH"},
        {"Phone": "no name"},
    ]
    answer = crm.post("/Accounts/upsert", json={"data": rows, "trigger": []})
    assert answer.status_code == 207
    updated, inserted, failed = answer.json()["data"]
    assert (updated["action"], updated["duplicate_field"], updated["details"]["id"]) == (
        "update",
        "Account_Name",
        existing["id"],
    )
    assert (inserted["action"], inserted["duplicate_field"], inserted["message"]) == (
        "insert",
        None,
        "record added",
    )
    assert failed["code"] == "MANDATORY_NOT_FOUND"
    assert crm.emulator.triggers[-1] == ("Accounts", "upsert", [])


def test_upsert_with_duplicate_check_fields(crm: Crm) -> None:
    contact = next(c for c in crm.emulator.records("Contacts") if c["Email"])
    rows = [{"Last_Name": "Renamed", "Email": contact["Email"]}]
    answer = crm.post("/Contacts/upsert", json={"data": rows, "duplicate_check_fields": ["Email"]})
    assert answer.status_code == 200
    assert answer.json()["data"][0]["details"]["id"] == contact["id"]
    bad = crm.post("/Contacts/upsert", json={"data": rows, "duplicate_check_fields": ["Nope"]})
    assert bad.json()["code"] == "INVALID_DATA"


def test_unique_fields_refuse_duplicates() -> None:
    crm = Crm(accounts=2, contacts_per_account=1, unique_fields={"Contacts": ["Email"]})
    rows = [
        {"Last_Name": "A", "Email": "same@example.test"},
        {"Last_Name": "B", "Email": "SAME@example.test"},
    ]
    answer = crm.post("/Contacts", json={"data": rows})
    assert answer.status_code == 207
    duplicate = answer.json()["data"][1]
    first = answer.json()["data"][0]["details"]["id"]
    assert duplicate["code"] == "DUPLICATE_DATA"
    assert duplicate["details"]["duplicate_record"]["id"] == first
    assert duplicate["details"]["api_name"] == "Email"
    meta = crm.get("/settings/fields", params={"module": "Contacts"}).json()["fields"]
    assert next(f for f in meta if f["api_name"] == "Email")["unique"] == {"casesensitive": False}


def test_delete_puts_records_in_the_recycle_bin(crm: Crm) -> None:
    first, second = crm.ids("Deals")[:2]
    answer = crm.delete("/Deals", params={"ids": f"{first},5725767000009999999"})
    assert answer.status_code == 207
    assert answer.json()["data"] == [
        {
            "code": "SUCCESS",
            "details": {"id": first},
            "message": "record deleted",
            "status": "success",
        },
        error("INVALID_DATA", "record not deleted", {"id": "5725767000009999999"}),
    ]
    crm.emulator.delete("Deals", second)
    body = crm.get("/Deals/deleted", params={"type": "recycle"}).json()
    assert [(d["id"], d["type"]) for d in body["data"]] == [(second, "recycle"), (first, "recycle")]
    assert body["data"][0]["deleted_time"] == "2026-09-21T14:13:20+00:00"
    assert crm.get("/Deals/deleted", params={"type": "permanent"}).status_code == 204
    crm.clock.advance(61 * 86_400)
    crm.token = crm.refresh()["access_token"]
    aged = crm.get("/Deals/deleted", params={"type": "all"}).json()["data"]
    assert {(d["type"], d["display_name"]) for d in aged} == {("permanent", None)}
    missing = crm.delete("/Deals")
    assert missing.json() == error(
        "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "ids"}
    )


def test_deleted_records_honour_if_modified_since(crm: Crm) -> None:
    crm.emulator.delete("Accounts", crm.ids("Accounts")[0])
    later = {"If-Modified-Since": "2026-09-21T14:13:21+00:00"}
    assert crm.get("/Accounts/deleted", headers=later).status_code == 304


# ---- search, related lists, attachments, notes (§2.2, §5) ---------------------------------


def test_search_by_criteria_email_and_nothing_found(crm: Crm) -> None:
    contact = next(c for c in crm.emulator.records("Contacts") if c["Email"] and c["First_Name"])
    criteria = f"((Email:equals:{contact['Email'].upper()})and(First_Name:starts_with:{contact['First_Name'][:2]}))"
    found = crm.get("/Contacts/search", params={"criteria": criteria}).json()["data"]
    assert [c["id"] for c in found] == [contact["id"]]
    by_email = crm.get("/Contacts/search", params={"email": contact["Email"]}).json()["data"]
    assert contact["id"] in [c["id"] for c in by_email]
    none = crm.get("/Contacts/search", params={"criteria": "(Email:equals:nobody@nowhere.test)"})
    assert (none.status_code, none.content) == (204, b"")
    either = f"((Last_Name:equals:{contact['Last_Name']})or(Email:equals:nobody@nowhere.test))"
    assert contact["id"] in [
        c["id"] for c in crm.get("/Contacts/search", params={"criteria": either}).json()["data"]
    ]
    assert (
        crm.get("/Contacts/search", params={"criteria": "(Nope:equals:1)"}).json()["code"]
        == "INVALID_QUERY"
    )
    deep = crm.get("/Contacts/search", params={"criteria": criteria, "page": "11"})
    assert deep.json()["code"] == "LIMIT_REACHED"
    assert crm.emulator.calls()["search"] == 6


def test_related_records_of_an_account(crm: Crm) -> None:
    account = crm.ids("Accounts")[2]
    contacts = crm.get(
        f"/Accounts/{account}/Contacts", params={"fields": "Last_Name,Account_Name"}
    ).json()["data"]
    assert len(contacts) == 2
    assert {c["Account_Name"]["id"] for c in contacts} == {account}
    events = crm.get(f"/Accounts/{account}/Events", params={"fields": "Event_Title"}).json()["data"]
    assert len(events) == 1
    missing = crm.get(f"/Accounts/{account}/Contacts")
    assert missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    bad = crm.get(f"/Accounts/{account}/Nope", params={"fields": "id"})
    assert bad.json() == error(
        "INVALID_DATA", "The relation name given seems to be invalid", {"resource_path_index": 2}
    )
    empty = crm.get(f"/Accounts/{crm.ids('Accounts')[0]}/Notes", params={"fields": "Note_Title"})
    assert empty.status_code == 204
    assert crm.emulator.calls()["related"] == 5


def test_attachments_list_and_download(crm: Crm) -> None:
    account = crm.ids("Accounts")[3]  # the generator gives every tenth account a file
    fields = {"fields": "id,File_Name,$file_id"}
    [item] = crm.get(f"/Accounts/{account}/Attachments", params=fields).json()["data"]
    assert {
        "id",
        "File_Name",
        "Size",
        "$file_id",
        "Parent_Id",
        "Created_Time",
        "Modified_Time",
    } <= set(item)
    assert item["Parent_Id"]["id"] == account
    unknown = crm.get(f"/Accounts/{account}/Attachments", params={"fields": "id,Nope"})
    assert (unknown.status_code, unknown.json()["details"]) == (
        400,
        {"api_name": "Nope", "param_name": "fields"},
    )
    content = crm.get(f"/Accounts/{account}/Attachments/{item['id']}")
    assert content.headers["Content-Type"] == "application/octet-stream"
    assert len(content.content) == int(item["Size"])
    again = Crm(
        accounts=6, contacts_per_account=2, deals_per_account=1, events_per_account=1, leads=4
    )
    assert again.get(f"/Accounts/{account}/Attachments/{item['id']}").content == content.content
    assert (
        crm.get(
            f"/Accounts/{crm.ids('Accounts')[0]}/Attachments", params={"fields": "id"}
        ).status_code
        == 204
    )
    assert crm.emulator.calls()["attachments"] == 3
    assert crm.emulator.calls()["download"] == 1


def test_seeded_attachments_keep_their_bytes(crm: Crm) -> None:
    deal = crm.ids("Deals")[0]
    [attached] = crm.emulator.seed(
        "Attachments",
        [{"Parent_Id": {"id": deal}, "File_Name": "Präsentation.pdf", "content": b"%PDF-1.4"}],
    )
    assert crm.get(f"/Deals/{deal}/Attachments/{attached['id']}").content == b"%PDF-1.4"


def test_notes_create_list_update(crm: Crm) -> None:
    account = crm.ids("Accounts")[0]
    parent = {"module": {"api_name": "Accounts"}, "id": account}
    answer = crm.post(
        "/Notes",
        json={
            "data": [
                {"Note_Title": "Anruf", "Note_Content": "Angebot geschickt", "Parent_Id": parent},
                {"Note_Title": "empty", "Parent_Id": parent},
            ]
        },
    )
    assert answer.status_code == 207
    created, missing = answer.json()["data"]
    assert missing["details"]["api_name"] == "Note_Content"
    note = created["details"]["id"]
    listed = crm.get("/Notes", params={"fields": "Note_Title,Parent_Id"}).json()["data"]
    mine = next(n for n in listed if n["id"] == note)
    assert mine["Parent_Id"]["module"]["api_name"] == "Accounts"
    assert mine["Parent_Id"]["id"] == account
    assert (
        crm.put(
            f"/Notes/{note}", json={"data": [{"Note_Content": "Angebot angenommen"}]}
        ).status_code
        == 200
    )
    related = crm.get(f"/Accounts/{account}/Notes", params={"fields": "Note_Content"}).json()[
        "data"
    ]
    assert [n["Note_Content"] for n in related] == ["Angebot angenommen"]
    assert crm.emulator.calls()["notes"] == 3


def test_lead_conversion(crm: Crm) -> None:
    lead = next(r for r in crm.emulator.records("Leads") if r["Company"])
    deal = {"Deal_Name": "Pilot", "Stage": "Qualification", "Closing_Date": "2026-12-01"}
    answer = crm.post(f"/Leads/{lead['id']}/actions/convert", json={"data": [{"Deals": deal}]})
    assert answer.status_code == 200
    [result] = answer.json()["data"]
    assert result["message"] == "The record has been converted successfully"
    made = result["details"]
    assert made["Accounts"]["name"] == lead["Company"]
    assert made["Contacts"]["name"] == lead["Full_Name"]
    contact = crm.get(f"/Contacts/{made['Contacts']['id']}").json()["data"][0]
    assert contact["Account_Name"]["id"] == made["Accounts"]["id"]
    deal_record = crm.get(f"/Deals/{made['Deals']['id']}").json()["data"][0]
    assert deal_record["Contact_Name"]["id"] == contact["id"]
    again = crm.post(f"/Leads/{lead['id']}/actions/convert", json={"data": [{}]})
    assert (again.status_code, again.json()) == (
        400,
        error("ID_ALREADY_CONVERTED", "id already converted", {"resource_path_index": 1}),
    )
    assert crm.emulator.calls()["convert"] == 2


def test_conversion_into_an_existing_account_without_a_deal(crm: Crm) -> None:
    lead = crm.ids("Leads")[1]
    account = crm.ids("Accounts")[0]
    answer = crm.post(
        f"/Leads/{lead}/actions/convert", json={"data": [{"Accounts": {"id": account}}]}
    )
    details = answer.json()["data"][0]["details"]
    assert details["Accounts"]["id"] == account
    assert details["Deals"] is None
    refused = crm.post(
        f"/Leads/{crm.ids('Leads')[2]}/actions/convert",
        json={"data": [{"Deals": {"Deal_Name": "x"}}]},
    )
    assert refused.status_code == 400
    assert refused.json()["data"][0]["details"] == {
        "api_name": "Stage",
        "json_path": "$.data[0].Deals.Stage",
    }


# ---- users, metadata, count ------------------------------------------------------------------


def test_users(crm: Crm) -> None:
    body = crm.get("/users", params={"type": "AllUsers"}).json()
    assert [u["full_name"] for u in body["users"]] == [
        "Amelia Hartmann",
        "Søren Østergaard",
        "Priya Raghunathan",
    ]
    assert body["info"] == {"per_page": 200, "count": 3, "page": 1, "more_records": False}
    current = crm.get("/users", params={"type": "CurrentUser"}).json()["users"]
    assert [u["email"] for u in current] == ["ameliahartmann@zylker.com"]
    owners = {r["Owner"]["id"] for r in crm.emulator.records("Accounts")}
    assert owners <= {u["id"] for u in body["users"]}


def test_metadata_comes_from_the_catalogue(crm: Crm) -> None:
    modules = {m["api_name"]: m for m in crm.get("/settings/modules").json()["modules"]}
    assert {"Accounts", "Contacts", "Leads", "Deals", "Events", "Notes"} <= set(modules)
    assert modules["Leads"]["convertable"] is True
    fields = {
        f["api_name"]: f
        for f in crm.get("/settings/fields", params={"module": "Accounts"}).json()["fields"]
    }
    assert (fields["Account_Status"]["data_type"], fields["Account_Status"]["custom_field"]) == (
        "picklist",
        True,
    )
    assert fields["Sync_with_ClientSuccess"]["json_type"] == "boolean"
    assert fields["Customer_Start_Date"]["data_type"] == "date"
    assert fields["Account_Name"]["system_mandatory"] is True
    assert fields["Parent_Account"]["lookup"]["module"]["api_name"] == "Accounts"
    assert fields["Modified_Time"]["read_only"] is True
    site = next(
        f
        for f in crm.get("/settings/fields", params={"module": "Contacts"}).json()["fields"]
        if f["api_name"] == "Site"
    )
    assert (site["data_type"], site["custom_field"]) == ("text", True)
    unknown = crm.get("/settings/fields", params={"module": "Nope"})
    assert unknown.json()["code"] == "INVALID_MODULE"
    assert crm.emulator.calls()["modules"] == 1
    assert crm.emulator.calls()["fields"] == 3


def test_a_field_an_admin_adds_is_listed_written_and_read_in_that_org_only(crm: Crm) -> None:
    added = crm.emulator.add_field("Accounts", "Tier", "Tier", "text", 40)

    fields = crm.get("/settings/fields", params={"module": "Accounts"}).json()["fields"]
    tier = next(f for f in fields if f["api_name"] == "Tier")
    assert (tier["id"], tier["data_type"], tier["custom_field"], tier["length"]) == (
        added["id"],
        "text",
        True,
        40,
    )
    assert len({f["id"] for f in fields}) == len(fields)
    body = {"data": [{"Account_Name": "Tiered Ltd", "Tier": "Gold"}]}
    assert crm.post("/Accounts", json=body).status_code == 201
    listed = crm.get("/Accounts", params={"fields": "Account_Name,Tier"}).json()["data"]
    assert {r["Account_Name"]: r["Tier"] for r in listed}["Tiered Ltd"] == "Gold"
    with pytest.raises(ValueError, match="already has a field Tier"):
        crm.emulator.add_field("Accounts", "Tier", "Tier")

    other = Crm()  # another org: the default catalogue
    names = [
        f["api_name"]
        for f in other.get("/settings/fields", params={"module": "Accounts"}).json()["fields"]
    ]
    assert "Tier" not in names
    refused = other.post("/Accounts", json=body).json()["data"][0]
    assert (refused["code"], refused["details"]["api_name"]) == ("INVALID_DATA", "Tier")


def test_count_is_a_string(crm: Crm) -> None:
    assert crm.get("/Accounts/actions/count").json() == {"count": "6"}


# ---- watch (§9) ---------------------------------------------------------------------------


def _subscribe(crm: Crm, **overrides: Any) -> httpx.Response:
    channel = {
        "channel_id": "1000000068001",
        "events": ["Accounts.all", "Deals.create"],
        "notify_url": "http://127.0.0.1:9/zoho/hook?tenant=42",
        "token": "shared-secret",
        "return_affected_field_values": True,
        **overrides,
    }
    return crm.post("/actions/watch", json={"watch": [channel]})


def test_watch_channels_queue_callbacks(crm: Crm) -> None:
    answer = _subscribe(crm)
    assert answer.status_code == 201
    events = answer.json()["watch"][0]["details"]["events"]
    assert {e["resource_name"] for e in events} == {"Accounts", "Deals"}
    assert events[0]["channel_expiry"] == "2026-09-21T15:13:20+00:00"
    account = crm.ids("Accounts")[0]
    crm.post("/Accounts", json={"data": [{"Account_Name": "Neu AG"}]})
    crm.put(f"/Accounts/{account}", json={"data": [{"Phone": "+41 1"}]})
    deal = crm.get(f"/Deals/{crm.ids('Deals')[0]}").json()["data"][0]
    # Deals.edit is not watched, but the deal's account hears of it (a related action)
    crm.put(f"/Deals/{deal['id']}", json={"data": [{"Amount": 5.0}]})
    crm.emulator.delete("Accounts", account)
    callbacks = crm.emulator.notifications()
    assert [(c["module"], c["operation"]) for c in callbacks] == [
        ("Accounts", "insert"),
        ("Accounts", "update"),
        ("Accounts", "update"),
        ("Accounts", "delete"),
    ]
    assert callbacks[2]["ids"] == [deal["Account_Name"]["id"]]
    assert callbacks[2]["affected_fields"] == [{deal["Account_Name"]["id"]: []}]
    update = callbacks[1]
    assert update["ids"] == [account]
    assert update["token"] == "shared-secret"
    assert update["channel_id"] == "1000000068001"
    assert update["query_params"] == {"tenant": "42"}
    assert update["resource_uri"] == "https://www.zohoapis.com/crm/v2/Accounts"
    assert update["affected_fields"] == [{account: ["Phone"]}]
    assert update["affected_values"] == [{"record_id": account, "values": {"Phone": "+41 1"}}]
    assert crm.emulator.notifications() == []


@pytest.mark.parametrize(
    ("overrides", "api_name"),
    [
        ({"token": "x" * 51}, "token"),
        ({"channel_expiry": "2026-09-29T14:13:21+00:00"}, "channel_expiry"),
        ({"events": ["Accounts.explode"]}, "events"),
    ],
)
def test_watch_refusals(crm: Crm, overrides: dict[str, Any], api_name: str) -> None:
    answer = _subscribe(crm, **overrides)
    assert answer.status_code == 400
    [refused] = answer.json()["watch"]
    assert (refused["code"], refused["details"]["api_name"]) == ("INVALID_DATA", api_name)


def test_watch_channels_expire_and_can_be_changed_and_removed(crm: Crm) -> None:
    _subscribe(crm, channel_expiry="2026-09-28T14:13:20+00:00")
    patched = crm.patch(
        "/actions/watch",
        json={
            "watch": [
                {"channel_id": "1000000068001", "events": ["Deals.create"], "_delete_events": True}
            ]
        },
    )
    assert patched.json()["watch"][0]["message"] == "Successfully removed the subscribe details"
    listed = crm.get("/actions/watch").json()["watch"]
    assert [(w["resource_name"], w["events"]) for w in listed] == [("Accounts", ["Accounts.all"])]
    crm.clock.advance(7 * 86_400)
    crm.token = crm.refresh()["access_token"]
    crm.emulator.change("Accounts", crm.ids("Accounts")[0], {"Phone": "1"})
    assert crm.emulator.notifications() == []
    assert crm.get("/actions/watch").status_code == 204
    _subscribe(crm)
    gone = crm.delete("/actions/watch", params={"channel_ids": "1000000068001,42"})
    assert gone.status_code == 207
    assert [w["status"] for w in gone.json()["watch"]] == ["success", "error"]
    assert crm.emulator.calls()["watch"] == 6


# ---- routing, faults, the generator -----------------------------------------------------


def test_routing_refusals(crm: Crm) -> None:
    assert (
        crm.get("/accounts", params={"fields": "Account_Name"}).status_code == 200
    )  # case-insensitive
    assert crm.get("/Nope", params={"fields": "x"}).json() == error(
        "INVALID_MODULE", "The module name given seems to be invalid", {"resource_path_index": 0}
    )
    wrong = crm.patch("/Accounts/upsert")
    assert wrong.json() == error(
        "INVALID_REQUEST_METHOD", "The http request method type is not a valid one"
    )
    unknown = crm.get("/Accounts/1/a/b/c")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "INVALID_URL_PATTERN")


def test_faults_speak_zoho() -> None:
    limited = Crm(faults=Faults(rate_limit=1.0, spare=frozenset({"token"})))
    answer = limited.get("/Accounts", params={"fields": "Account_Name"})
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "1")
    assert answer.json()["code"] == "TOO_MANY_REQUESTS"
    broken = Crm(faults=Faults(server_error=1.0, spare=frozenset({"token"})))
    failed = broken.get("/Accounts", params={"fields": "Account_Name"})
    assert (failed.status_code, failed.json()["code"]) == (500, "INTERNAL_ERROR")


def test_the_accounts_server_throttles_with_http_200() -> None:
    e = ZohoCrmEmulator(clock=FakeClock(START), faults=Faults(rate_limit=1.0))
    http = httpx.Client(transport=e.transport())
    answer = http.post(
        TOKEN_URL,
        params={
            "grant_type": "refresh_token",
            "client_id": e.client_id,
            "client_secret": e.client_secret,
            "refresh_token": e.refresh_token,
        },
    )
    assert (answer.status_code, answer.json()["error"]) == (200, "Access Denied")


def _org(seed: int) -> dict[str, list[dict[str, Any]]]:
    e = ZohoCrmEmulator(
        seed=seed,
        clock=FakeClock(START),
        accounts=40,
        contacts_per_account=2,
        deals_per_account=1,
        events_per_account=1,
        leads=20,
    )
    return {
        m: e.records(m)
        for m in ("Accounts", "Contacts", "Deals", "Events", "Leads", "Notes", "Attachments")
    }


def test_generation_is_deterministic() -> None:
    assert _org(7) == _org(7)
    assert _org(7)["Accounts"] != _org(8)["Accounts"]


def test_generated_data_is_realistic() -> None:
    org = _org(3)
    accounts = {a["id"]: a for a in org["Accounts"]}
    assert all(ID.match(i) for i in accounts)
    names = [a["Account_Name"] for a in accounts.values()]
    assert any(not n.isascii() for n in names)
    assert len(set(names)) == len(names)
    assert any(a["Phone"] is None for a in accounts.values())
    assert any(a["Account_Status"] is None for a in accounts.values())
    assert any(c["Email"] is None for c in org["Contacts"])
    for contact in org["Contacts"]:
        assert (
            contact["Account_Name"]["name"]
            == accounts[contact["Account_Name"]["id"]]["Account_Name"]
        )
    for deal in org["Deals"]:
        assert deal["Account_Name"]["id"] in accounts
    for event in org["Events"]:
        assert event["$se_module"] == "Accounts"
        assert event["What_Id"]["id"] in accounts
    assert len({a["Owner"]["id"] for a in accounts.values()}) == 3
    assert org["Attachments"]
    assert org["Notes"]


def test_seed_change_and_records(crm: Crm) -> None:
    crm.clock.advance(10)
    [stored] = crm.emulator.seed(
        "Contacts",
        [
            {
                "First_Name": "Zoë",
                "Last_Name": "Ní Bhriain",
                "Account_Name": {"id": crm.ids("Accounts")[0]},
            }
        ],
    )
    assert ID.match(stored["id"])
    assert stored["Full_Name"] == "Zoë Ní Bhriain"
    assert stored["Created_Time"] == "2026-09-21T14:13:30+00:00"
    crm.clock.advance(10)
    changed = crm.emulator.change("Contacts", stored["id"], {"Title": "CFO"})
    assert (changed["Title"], changed["Modified_Time"]) == ("CFO", "2026-09-21T14:13:40+00:00")
    with pytest.raises(ValueError, match="MANDATORY_NOT_FOUND"):
        crm.emulator.seed("Contacts", [{"First_Name": "No last name"}])
    with pytest.raises(KeyError):
        crm.emulator.change("Contacts", "5725767000009999999", {"Title": "x"})
