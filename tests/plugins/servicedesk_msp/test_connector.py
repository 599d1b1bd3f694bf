"""The servicedesk_msp connector against its emulator: list_info paging, writes as
input_data, failures reported inside HTTP 200, both deployments, rate limits."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from integrate import (
    AUTH_EXPIRED,
    FAIL,
    OK,
    RATE_LIMITED,
    RETRY,
    AuthError,
    ConnectorContext,
    ConnectorError,
    FakeClock,
    HttpAnswer,
    WriteItem,
)
from integrate.oauth import MemoryTokenCache
from integrate_servicedesk_msp import ServiceDeskMspConnector
from integrate_servicedesk_msp.connector import sdp_classifier
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator


def open_connector(
    emulator: ServiceDeskMspEmulator, clock: FakeClock, **config: Any
) -> ServiceDeskMspConnector:
    context = ConnectorContext(
        connection="sdp", transport=emulator.transport(), clock=clock, tokens=MemoryTokenCache()
    )
    return ServiceDeskMspConnector({**emulator.connection_config(), **config}, context)


def read_all(connector: ServiceDeskMspConnector, obj: str) -> list[dict[str, Any]]:
    return [r for page in connector.read(obj) for r in page.records]


def test_250_accounts_are_read_in_3_list_calls_of_at_most_100_rows() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock, accounts=250, seed=4)
    connector = open_connector(emulator, clock)

    records = read_all(connector, "accounts")

    assert len(records) == 250
    assert len({r["id"] for r in records}) == 250
    assert emulator.calls_for("accounts")["list"] == math.ceil(250 / 100)
    assert records[0]["default_site"]["name"]  # every account comes with its default site


def test_a_refusal_inside_http_200_fails_only_its_record() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock)
    emulator.seed("accounts", [{"name": "Acme Ltd"}])
    connector = open_connector(emulator, clock)
    items = [
        WriteItem(ref=0, values={"name": "Globex"}),
        WriteItem(ref=1, values={"name": "Acme Ltd"}),  # the name is taken
        WriteItem(ref=2, values={"name": "Initech", "no_such_field": "x"}),
    ]

    results = connector.write("accounts", "create", items)

    assert [r.ok for r in results] == [True, False, False]
    assert results[1].code == "4008"  # not unique
    assert results[2].code == "4000"
    assert "no_such_field" in (results[2].error or "")
    assert sorted(r["name"] for r in emulator.records("accounts")) == ["Acme Ltd", "Globex"]


def test_an_update_sends_only_the_fields_given_and_keeps_the_rest() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock)
    [acme] = emulator.seed("accounts", [{"name": "Acme Ltd", "city": "York", "phone": "1"}])
    connector = open_connector(emulator, clock)

    [result] = connector.write(
        "accounts", "update", [WriteItem(ref=0, values={"city": "Leeds"}, id=acme["id"])]
    )

    assert result.ok, result.error
    [stored] = emulator.records("accounts")
    assert (stored["city"], stored["phone"]) == ("Leeds", "1")


def test_a_requester_goes_under_its_account_with_site_and_department_by_name() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock)
    [acme] = emulator.seed("accounts", [{"name": "Acme Ltd", "default_site": {"name": "HQ"}}])
    site = acme["default_site"]
    emulator.seed("departments", [{"name": "Finance", "site": {"id": site["id"]}}])
    connector = open_connector(emulator, clock)
    values = {
        "name": "Jo Bloggs",
        "email_id": "jo@acme.example",
        "account": {"id": acme["id"]},
        "site": {"id": site["id"]},
        "department": {"name": "Finance"},
        "is_vipuser": True,
    }

    [result] = connector.write("requesters", "create", [WriteItem(ref=0, values=values)])

    assert result.ok, result.error
    [jo] = emulator.records("requesters")
    assert jo["account"]["id"] == acme["id"]
    assert (jo["site"]["name"], jo["department"]["name"], jo["is_vipuser"]) == (
        "HQ",
        "Finance",
        True,
    )


def test_cloud_uses_customers_and_a_zoho_token_refreshed_once_when_it_expires() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock, deployment="cloud", accounts=3, seed=5)
    connector = open_connector(emulator, clock)

    accounts = read_all(connector, "accounts")
    emulator.expire_tokens()
    [result] = connector.write(
        "requesters",
        "create",
        [WriteItem(ref=0, values={"name": "Al", "account": {"id": accounts[0]["id"]}})],
    )

    assert len(accounts) == 3
    assert result.ok, result.error
    assert emulator.calls_for("customers")["list"] == 1
    assert emulator.calls().get("token") == 2  # the first token, and one refresh
    [stored] = [r for r in emulator.records("requesters") if r["name"] == "Al"]
    assert stored["customer"]["id"] == accounts[0]["id"]  # MSP Cloud's own key
    [al] = [r for r in read_all(connector, "requesters") if r["name"] == "Al"]
    assert al["account"]["id"] == accounts[0]["id"]  # specs read it as `account` too


def test_a_wrong_technician_key_says_what_to_check() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock)
    connector = open_connector(emulator, clock, technician_key="not-the-key")

    with pytest.raises(AuthError) as caught:
        read_all(connector, "accounts")

    assert "refused the technician key" in str(caught.value)
    assert "not-the-key" not in str(caught.value)


def test_the_rate_limit_inside_a_429_is_waited_out() -> None:
    # ALL-5
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock, accounts=100, rate_limit_per_minute=5, seed=6)
    connector = open_connector(emulator, clock, page_size=10)

    records = read_all(connector, "accounts")

    assert len(records) == 100
    assert emulator.calls().get("limit:429", 0) >= 5  # refused, waited, tried again
    # 10 calls at 5 a minute: the last 5 wait for the bucket to refill (12 s a call)
    assert sum(s for s in clock.slept if s > 0) >= 5 * 12


def test_search_finds_a_requester_by_email_ignoring_case() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock)
    [acme] = emulator.seed("accounts", [{"name": "Acme Ltd"}])
    emulator.seed(
        "requesters",
        [{"name": "Jo", "email_id": "Jo@Acme.example", "account": {"id": acme["id"]}}],
    )
    connector = open_connector(emulator, clock)

    found = connector.search("requesters", {"email_id": "jo@acme.example"})

    assert [r["name"] for r in found] == ["Jo"]


def test_a_failed_list_call_is_an_error_with_the_vendor_message() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock, accounts=1)
    connector = open_connector(emulator, clock)

    with pytest.raises(ConnectorError) as caught:
        connector.search("accounts", {"no_such_field": "x"})

    assert "4000" in str(caught.value) or caught.value.code == "4000"


def test_departments_are_read_only() -> None:
    clock = FakeClock()
    emulator = ServiceDeskMspEmulator(clock=clock)
    connector = open_connector(emulator, clock)

    info = connector.describe("departments")

    assert sorted(info.operations) == ["get", "read"]


def status(code: int, kind: str = "failed") -> dict[str, Any]:
    return {"response_status": [{"status_code": code, "status": kind}]}


@pytest.mark.parametrize(
    ("code", "body", "authenticated", "verdict"),
    [
        (200, {"accounts": [], **status(2000, "success")}, False, OK),
        (200, status(4015), False, RATE_LIMITED),  # a rate limit inside HTTP 200
        (200, {"accounts": [{"phone": "+1 555 4015"}], **status(2000, "success")}, False, OK),
        (429, None, False, RATE_LIMITED),
        (502, None, False, RETRY),
        (401, status(4022), True, AUTH_EXPIRED),  # a cloud token: refresh it once
        (401, status(4022), False, FAIL),  # the technician key: nothing to refresh
    ],
)
def test_the_sdp_classifier_reads_status_the_codes_inside_and_the_credentials_sent(
    code: int, body: Any, authenticated: bool, verdict: str
) -> None:
    content = json.dumps(body).encode() if body is not None else b""
    url = "https://sdp.example/api/v3/accounts"
    answer = HttpAnswer(code, {}, content, "GET", url, authenticated=authenticated)

    assert sdp_classifier(answer) == verdict
