"""clientsuccess logins and refusals against the emulator: a token sent raw, a new login
once when it is refused (401 or invalidToken) or near its end, a refused login and a user
without admin rights (CS-8) stopping the writes with one line that says what to do, rate
limits waited out, and the password in no message or log."""

from __future__ import annotations

import logging

import pytest

from integrate import AUTH_EXPIRED, OK, RATE_LIMITED, RETRY, AuthError, HttpAnswer
from integrate_clientsuccess.emulator.app import READER
from tests.plugins.clientsuccess.kit import account, connect, item, read


def test_an_expired_token_brings_one_new_login_and_the_call_goes_through() -> None:
    emulator, clock = account(clients=2, contacts_per_client=0)
    connector = connect(emulator, clock)
    read(connector, fields=["id"])
    emulator.expire_tokens()

    [result] = connector.write(
        "clients", "update", [item(id=emulator.records("clients")[0]["id"], city="Re-auth")]
    )
    records, _c = read(connector, fields=["id"])

    assert result.ok, result.error
    assert len(records) == 2
    assert emulator.calls()["auth"] == 2
    assert [c.status for c in emulator.log].count(401) == 1


def test_a_token_near_its_end_is_replaced_before_it_is_refused() -> None:
    emulator, clock = account(clients=1, contacts_per_client=0)
    connector = connect(emulator, clock)
    read(connector, fields=["id"])
    clock.advance(43200 - 30)  # inside the last minute of a 12-hour token

    read(connector, fields=["id"])

    assert emulator.calls()["auth"] == 2
    assert 401 not in [c.status for c in emulator.log]


def test_a_short_lived_token_is_used_until_a_tenth_of_its_life_is_left() -> None:
    emulator, clock = account(clients=1, contacts_per_client=0, token_lifetime=100)
    connector = connect(emulator, clock)
    read(connector, fields=["id"])
    clock.advance(85)
    read(connector, fields=["id"])
    logins_at_85 = emulator.calls()["auth"]
    clock.advance(6)  # 91 s: inside the last 10 s

    read(connector, fields=["id"])

    assert logins_at_85 == 1
    assert emulator.calls()["auth"] == 2
    assert 401 not in [c.status for c in emulator.log]


def test_invalid_token_in_any_refusal_means_log_in_again() -> None:
    emulator, clock = account(clients=0)
    connector = connect(emulator, clock)
    classify = connector.api.classify

    def answer(status: int, body: bytes, authenticated: bool = True) -> HttpAnswer:
        return HttpAnswer(
            status, {"Content-Type": "application/json"}, body, "GET",
            "https://api.clientsuccess.com/v1/clients", authenticated=authenticated,
        )  # fmt: skip

    assert classify(answer(400, b'{"userMessage": "invalidToken"}')) == AUTH_EXPIRED
    assert classify(answer(401, b'{"userMessage": "invalidToken"}')) == AUTH_EXPIRED
    assert classify(answer(401, b'{"userMessage": "Invalid username or password"}', False)) == OK
    assert classify(answer(400, b'{"userMessage": "Client name is required"}')) == OK
    assert classify(answer(429, b'{"userMessage": "Too many requests"}')) == RATE_LIMITED
    assert classify(answer(503, b'{"userMessage": "Service Temporarily Unavailable"}')) == RETRY


def test_a_refused_login_stops_the_run_naming_the_user_never_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator, clock = account(clients=1)
    connector = connect(emulator, clock, password="wrong-Pa55word")

    with pytest.raises(AuthError) as refused:
        read(connector, fields=["id"])

    message = str(refused.value)
    assert refused.value.code == "LOGIN_REFUSED"
    assert "api@clientsuccess.example" in message
    assert "Invalid username or password" in message
    assert "Check the username and password" in message
    assert "wrong-Pa55word" not in message
    assert "wrong-Pa55word" not in caplog.text


def test_a_user_without_admin_rights_reads_but_a_write_stops_with_the_cs8_message() -> None:
    emulator, clock = account(clients=2, contacts_per_client=0)
    connector = connect(emulator, clock, username=READER[0], password=READER[1])
    records, _c = read(connector, fields=["id", "name"])
    target = records[0]["id"]

    with pytest.raises(AuthError) as refused:
        connector.write("clients", "update", [item(0, id=target, city="A")])
    calls = sum(emulator.calls().values())
    with pytest.raises(AuthError) as again:
        connector.write("clients", "create", [item(0, name="B"), item(1, name="C")])

    message = str(refused.value)
    assert len(records) == 2
    assert refused.value.code == "NO_ADMIN_RIGHTS"
    assert READER[0] in message
    assert "lacks admin rights" in message
    assert "CS-8" in message
    assert "Access is denied" in message
    assert str(again.value) == message
    assert sum(emulator.calls().values()) == calls  # the later writes sent nothing
    assert {c["city"] for c in emulator.records("clients")} != {"A"}


def test_the_no_admin_signal_is_a_setting() -> None:
    emulator, clock = account(clients=1, contacts_per_client=0)
    connector = connect(
        emulator, clock, username=READER[0], password=READER[1], no_admin_messages=["other words"]
    )
    target = emulator.records("clients")[0]["id"]

    [result] = connector.write("clients", "update", [item(0, id=target, city="A")])

    assert not result.ok
    assert result.code == "403"
    assert "Access is denied" in result.error


def test_the_vendors_rate_limit_is_waited_out() -> None:
    emulator, clock = account(clients=25, contacts_per_client=0)
    connector = connect(emulator, clock, requests_per_second=1000)  # faster than its 10 a second

    records, _c = read(connector)  # 1 listing + 25 details, within a fake second

    assert len(records) == 25
    assert emulator.calls().get("limit:429", 0) >= 1


def test_the_password_is_a_secret_everywhere() -> None:
    emulator, clock = account(clients=0)
    connector = connect(emulator, clock)

    assert emulator.connection_config()["password"] not in repr(connector.settings)
    assert connector.config_schema["properties"]["password"]["x-secret"] is True
