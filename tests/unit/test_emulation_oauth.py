"""The kit's authorisation server, with a vendor's quirks as settings: the refresh throttle,
token lifetimes, caps on live tokens and refresh tokens, one-time codes, revocation, data
centres; Zoho's accounts server as one preset; and what a save keeps."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from integrate import (
    ZOHO_ACCOUNTS,
    AuthorisationServer,
    AuthorisationSettings,
    DataCentre,
    FakeClock,
)

START = 1_790_000_000.0
PLAIN = AuthorisationSettings(token_lifetime=600, refresh_limit=3, refresh_window=60)


def server(settings: AuthorisationSettings = PLAIN, **options: Any) -> tuple[Any, FakeClock]:
    clock = FakeClock(START)
    return AuthorisationServer(settings, seed=1, now=clock.now, **options), clock


def refresh(auth: AuthorisationServer, **overrides: str) -> tuple[int, dict[str, Any]]:
    params = {
        "grant_type": "refresh_token",
        "client_id": auth.client_id,
        "client_secret": auth.client_secret,
        "refresh_token": auth.refresh_token,
        **overrides,
    }
    reply = auth.token(params)
    return reply.status, reply.body


def bearer(body: dict[str, Any]) -> str:
    return f"Bearer {body['access_token']}"


def test_a_refresh_gives_a_bearer_token_that_works_for_its_lifetime() -> None:
    auth, clock = server()
    status, body = refresh(auth)

    assert status == 200
    assert set(body) == {"access_token", "token_type", "expires_in"}  # no scopes, no domain
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 600)
    assert auth.authenticate(bearer(body)) is not None
    assert auth.authenticate(f"Token {body['access_token']}") is None  # scheme not taken
    clock.advance(600)
    assert auth.authenticate(bearer(body)) is None


def test_refusals_come_with_the_settings_status() -> None:
    auth, _clock = server()
    zoho, _ = server(ZOHO_ACCOUNTS)

    assert refresh(auth, client_secret="nope") == (400, {"error": "invalid_client"})
    assert refresh(auth, refresh_token="nope") == (400, {"error": "invalid_code"})
    assert refresh(auth, grant_type="password") == (400, {"error": "unsupported_grant_type"})
    assert refresh(zoho, client_secret="nope") == (200, {"error": "invalid_client"})


def test_the_refresh_throttle_counts_minted_tokens_in_its_window() -> None:
    auth, clock = server()
    minted = [refresh(auth)[0] for _ in range(3)]
    status, body = refresh(auth)

    assert minted == [200, 200, 200]
    assert (status, body) == (400, {"error": "slow_down"})
    clock.advance(60)
    assert "access_token" in refresh(auth)[1]


def test_the_next_token_past_the_live_limit_ends_the_oldest() -> None:
    auth, _clock = server(replace(PLAIN, refresh_limit=0, live_tokens=2))
    first, second, third = (refresh(auth)[1] for _ in range(3))

    assert auth.authenticate(bearer(first)) is None
    assert auth.authenticate(bearer(second)) is not None
    assert auth.authenticate(bearer(third)) is not None


def test_a_code_is_used_once_before_it_expires_and_gives_a_refresh_token_if_offline() -> None:
    auth, clock = server(scopes=("read",))
    client = {"client_id": auth.client_id, "client_secret": auth.client_secret}
    code = auth.grant_code("read write")
    online = auth.grant_code("read", offline=False)
    late = auth.grant_code("read")

    exchanged = auth.token({**client, "grant_type": "authorization_code", "code": code}).body
    again = auth.token({**client, "grant_type": "authorization_code", "code": code}).body
    plain = auth.token({**client, "grant_type": "authorization_code", "code": online}).body
    clock.advance(181)
    expired = auth.token({**client, "grant_type": "authorization_code", "code": late}).body

    assert exchanged["scope"] == "read write"
    assert "refresh_token" in exchanged
    assert again == {"error": "invalid_code"}
    assert "refresh_token" not in plain
    assert "access_token" in plain
    assert expired == {"error": "invalid_code"}
    refresh_only = auth.token(
        {**client, "grant_type": "authorization_code", "code": auth.grant_code("read")},
        grants=("refresh_token",),
    )
    assert refresh_only.body == {"error": "unsupported_grant_type"}  # an emulator's choice
    assert refresh(auth, refresh_token=exchanged["refresh_token"])[0] == 200


def test_grants_past_the_limit_per_user_delete_the_oldest_with_its_tokens() -> None:
    auth, _clock = server(replace(PLAIN, grants_per_user=2), user_id="u1")
    client = {"client_id": auth.client_id, "client_secret": auth.client_secret}
    first_access = refresh(auth)[1]
    for _ in range(2):  # the second and third refresh tokens of the user
        code = auth.grant_code("read")
        auth.token({**client, "grant_type": "authorization_code", "code": code})

    assert refresh(auth) == (400, {"error": "invalid_code"})
    assert auth.authenticate(bearer(first_access)) is None


def test_revoking_a_refresh_token_ends_it_and_every_token_it_minted() -> None:
    auth, _clock = server()
    body = refresh(auth)[1]
    other = refresh(auth)[1]
    auth.revoke({"token": other["access_token"]})
    assert auth.authenticate(bearer(body)) is not None
    assert auth.authenticate(bearer(other)) is None

    assert auth.revoke({"token": auth.refresh_token}).body == {"status": "success"}
    assert auth.authenticate(bearer(body)) is None
    assert refresh(auth) == (400, {"error": "invalid_code"})
    assert auth.revoke({"token": "unknown"}).body == {"status": "success"}


def test_tokens_work_only_in_the_data_centre_that_issued_them() -> None:
    settings = replace(
        PLAIN,
        data_centres={
            "one": DataCentre("auth.one.example", "api.one.example", "1"),
            "two": DataCentre("auth.two.example", "api.two.example", "2"),
        },
        aliases={"first": "one"},
    )
    auth, _clock = server(settings, dc="first")
    status, body = refresh(auth)

    assert (status, body["api_domain"]) == (200, "https://api.one.example")
    assert auth.authenticate(bearer(body), "one") is not None
    assert auth.authenticate(bearer(body), "two") is None
    assert refresh(auth, client_id=auth.client_id)[0] == 200
    two = {"grant_type": "refresh_token", "client_id": auth.client_id}
    assert auth.token(two | {"client_secret": auth.client_secret}, "two").body == {
        "error": "invalid_client"  # another data centre's accounts server knows no such client
    }
    with pytest.raises(ValueError, match="one, two"):
        settings.data_centre("three")


def test_consent_sends_the_user_back_with_a_code_and_the_accounts_server() -> None:
    auth, _clock = server(ZOHO_ACCOUNTS, dc="eu")
    reply = auth.consent(
        {"client_id": auth.client_id, "redirect_uri": "https://app.example/cb", "state": "s"}
    )
    location = reply.headers["Location"]

    assert reply.status == 302
    assert location.startswith("https://app.example/cb?code=1000.")
    assert "location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu&state=s" in location
    assert auth.consent({"client_id": "x", "redirect_uri": "r"}).status == 400


def test_zohos_preset_is_zohos_documented_limits() -> None:
    # zoho_crm.md §1.5: 1-hour tokens, 10 per refresh token in 10 minutes, 15 live, 20
    # refresh tokens per user, codes of 3 minutes; §1.3: refusals are HTTP 200.
    auth, clock = server(ZOHO_ACCOUNTS)
    bodies = [refresh(auth)[1] for _ in range(11)]

    assert [("access_token" in b) for b in bodies] == [True] * 10 + [False]
    assert bodies[-1]["error"] == "Access Denied"
    assert bodies[0]["api_domain"] == "https://www.zohoapis.com"
    assert auth.client_id.startswith("1000.")
    assert len(auth.client_id) == 35
    clock.advance(600)
    assert "access_token" in refresh(auth)[1]
    assert ZOHO_ACCOUNTS.data_centre("au") == "com.au"


def test_a_restored_server_keeps_its_tokens_and_mints_none_it_minted_before() -> None:
    auth, clock = server(ZOHO_ACCOUNTS)
    minted = [refresh(auth)[1]["access_token"] for _ in range(3)]
    auth.revoke({"token": minted[0]})

    again = AuthorisationServer(ZOHO_ACCOUNTS, seed=1, now=clock.now)
    again.restore(json.loads(json.dumps(auth.snapshot())))
    more = [refresh(again)[1]["access_token"] for _ in range(3)]

    assert (again.client_id, again.refresh_token) == (auth.client_id, auth.refresh_token)
    assert again.authenticate(f"Bearer {minted[0]}") is None
    assert again.authenticate(f"Bearer {minted[1]}") is not None
    assert set(more).isdisjoint(minted)
