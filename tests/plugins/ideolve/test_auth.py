"""The auth check (targets.md §4.3, CONFIRMED): once a connection, before its first other
call; a wrong client id / API key pair (Ideolve's HTTP 500) is one AuthError, never retried,
that names the settings to check and never the key; every call carries the three headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrate import AuthError
from tests.plugins.ideolve.kit import Ideolve


@pytest.fixture
def ideolve() -> Iterator[Ideolve]:
    world = Ideolve()
    yield world
    world.close()


def test_the_auth_check_runs_once_before_the_first_call(ideolve: Ideolve) -> None:
    first = ideolve.note("Account: One")
    ideolve.note("Account: Two")
    ideolve.act("comment", first, {"commenthtmltext": "<p>hi</p>"})

    calls = ideolve.emulator.calls()
    assert calls["auth"] == 1
    assert ideolve.paths()[0] == "POST /v4/user/sales.bot%40example.com/auth"
    assert (calls["create"], calls["comment"]) == (2, 1)


def test_every_call_carries_the_three_headers(ideolve: Ideolve) -> None:
    ideolve.connector = ideolve.open(app_name="zoho-sync")

    ideolve.note()

    # the emulator answers 401 to a call missing one: none was refused
    assert ideolve.emulator.calls().get("refused:401", 0) == 0
    assert all(c.status in (200, 201) for c in ideolve.emulator.log)


def test_a_wrong_key_pair_is_one_auth_error_not_retried() -> None:
    world = Ideolve(api_key="not-the-key-0000")
    try:
        with pytest.raises(AuthError) as refused:
            world.note()

        assert refused.value.code == "BAD_CREDENTIALS"
        message = str(refused.value)
        assert "client_id and api_key" in message
        assert "Invalid Client-Id or Connector-Api-Key" in message
        assert "not-the-key-0000" not in message
        assert world.emulator.calls()["refused:500"] == 1, "the 500 of the auth call was retried"
        assert world.notes() == {}
    finally:
        world.close()


def test_an_unknown_user_is_an_auth_error_naming_the_setting() -> None:
    world = Ideolve(user="nobody@example.com")
    try:
        with pytest.raises(AuthError) as refused:
            world.note()

        assert refused.value.code == "UNKNOWN_USER"
        assert "nobody@example.com" in str(refused.value)
        assert "user setting" in str(refused.value)
    finally:
        world.close()
