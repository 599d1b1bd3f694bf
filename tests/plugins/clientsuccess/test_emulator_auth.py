"""The emulator against targets.md §3.2 and §3.6 and the ASSUMED decisions on who may call:
`POST /v1/auth` in all three encodings, the raw token, its expiry, the admin flag, the rate
limit, the errors' shape, and what an attacker learns from them (nothing of a secret)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrate import FakeClock
from integrate_clientsuccess.emulator import ClientSuccessEmulator
from tests.plugins.clientsuccess.emulator_kit import ADMIN, API, READER, START, Cs


@pytest.fixture
def cs() -> Cs:
    return Cs()


# ---- §3.2: POST /v1/auth -------------------------------------------------------------------


def _answered(answer_json: dict[str, object]) -> None:
    assert set(answer_json) == {"access_token", "token_type", "expires_in"}
    assert answer_json["token_type"] == "Bearer"
    assert answer_json["expires_in"] == 43200
    token = str(answer_json["access_token"])
    assert len(token) == 36
    assert token.count("-") == 4


@pytest.mark.parametrize("encoding", ["form", "json", "query"])
def test_auth_takes_the_credentials_as_a_form_as_json_or_in_the_query(
    cs: Cs, encoding: str
) -> None:
    credentials = {"username": ADMIN[0], "password": ADMIN[1]}
    kwargs = {"form": {"data": credentials}, "json": {"json": credentials},
              "query": {"params": credentials}}[encoding]  # fmt: skip
    answer = cs.call("POST", "/auth", token=None, **kwargs)

    assert answer.status_code == 200, answer.text
    _answered(answer.json())
    token = answer.json()["access_token"]
    assert cs.ok("GET", "/client-statuses", token=token)[3]["description"] == "Terminated"


def test_each_login_gets_a_token_of_its_own_and_both_work(cs: Cs) -> None:
    first, second = cs.login(), cs.login()

    assert first != second
    cs.ok("GET", "/clients", token=first)
    cs.ok("GET", "/clients", token=second)


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": ADMIN[0], "password": "wrong"},
        {"username": "nobody@clientsuccess.example", "password": ADMIN[1]},
        {"username": ADMIN[0], "password": ADMIN[1].upper()},
        {"username": ADMIN[0]},
        {},
    ],
    ids=["wrong-password", "unknown-user", "password-case", "no-password", "nothing"],
)
def test_wrong_credentials_are_a_401_that_names_neither(
    cs: Cs, credentials: dict[str, str]
) -> None:
    answer = cs.call("POST", "/auth", token=None, data=credentials)

    assert answer.status_code == 401
    assert answer.json() == {"userMessage": "Invalid username or password"}
    assert "wrong" not in answer.text
    assert ADMIN[1] not in answer.text


def test_the_username_is_compared_without_case(cs: Cs) -> None:
    answer = cs.call(
        "POST", "/auth", token=None, data={"username": ADMIN[0].upper(), "password": ADMIN[1]}
    )

    assert answer.status_code == 200


# ---- §3.2: the token, raw in Authorization ----------------------------------------------------


def test_the_token_is_sent_raw_and_a_bearer_prefix_is_refused(cs: Cs) -> None:
    token = cs.login()

    assert cs.call("GET", "/clients", token=token).status_code == 200
    refused = cs.call("GET", "/clients", token=f"Bearer {token}")
    assert refused.status_code == 401
    assert refused.json() == {"userMessage": "invalidToken"}


@pytest.mark.parametrize("token", [None, "", "0f3c2a1e-0000-4000-8000-000000000000", "x" * 5000])
def test_a_missing_or_unknown_token_is_a_401_invalid_token(cs: Cs, token: str | None) -> None:
    answer = cs.call("GET", "/clients", token=token)

    assert answer.status_code == 401
    assert answer.json() == {"userMessage": "invalidToken"}
    assert "x" * 100 not in answer.text


def test_a_token_expires_after_12_hours_and_a_new_login_carries_on(cs: Cs) -> None:
    token = cs.login()
    cs.clock.advance(43200 - 10)
    assert cs.call("GET", "/clients", token=token).status_code == 200

    cs.clock.advance(10)
    expired = cs.call("GET", "/clients", token=token)
    assert expired.status_code == 401
    assert "invalidToken" in expired.text  # a client re-authenticates on either sign
    assert cs.call("GET", "/clients", token=cs.login()).status_code == 200


def test_token_lifetime_is_a_setting(cs: Cs) -> None:
    short = Cs(token_lifetime=60)
    answer = short.call(
        "POST", "/auth", token=None, data=dict(zip(("username", "password"), ADMIN, strict=True))
    )
    assert answer.json()["expires_in"] == 60
    short.clock.advance(61)
    assert short.call("GET", "/clients", token=answer.json()["access_token"]).status_code == 401


def test_expire_tokens_ends_every_token(cs: Cs) -> None:
    token = cs.login()
    cs.emulator.expire_tokens()

    assert cs.refused("GET", "/clients", 401, token=token) == "invalidToken"


# ---- ASSUMED: the admin flag ----------------------------------------------------------------


def test_a_user_without_admin_rights_reads_but_every_write_is_a_403_that_changes_nothing(
    cs: Cs,
) -> None:
    made = cs.client(externalId="zcrm_1")
    contact = cs.contact(made["id"])
    before = cs.emulator.records("clients"), cs.emulator.records("contacts")
    cid = f"/clients/{made['id']}"

    assert cs.ok("GET", cid, token=READER)["name"] == "Acme Corp"
    assert cs.ok("GET", f"{cid}/contacts", token=READER)[0]["id"] == contact["id"]
    writes = [
        ("POST", "/clients", {"name": "Initech"}),
        ("PUT", cid, {"name": "Renamed"}),
        ("DELETE", cid, None),
        ("PATCH", f"/customfield/value/client/{made['id']}", {"Zoho Owner": "Eve"}),
        ("POST", f"{cid}/contacts", {"firstName": "Eve"}),
        ("PUT", f"{cid}/contacts/{contact['id']}/details", {"firstName": "Eve"}),
        ("DELETE", f"{cid}/contacts/{contact['id']}", None),
    ]
    for method, path, body in writes:
        assert cs.refused(method, path, 403, token=READER, json=body) == "Access is denied", path

    assert (cs.emulator.records("clients"), cs.emulator.records("contacts")) == before


def test_a_token_reads_as_its_own_user_never_as_another(cs: Cs) -> None:
    # The reader logs in after the admin: its token must not act with the admin's rights.
    admin, reader = cs.login(ADMIN), cs.login(READER)

    assert cs.call("POST", "/clients", token=admin, json={"name": "A"}).status_code == 201
    assert cs.call("POST", "/clients", token=reader, json={"name": "B"}).status_code == 403
    made = cs.ok("POST", "/clients", 201, token=admin, json={"name": "C"})
    assert made["createdByEmployeeId"] == 1


# ---- ASSUMED: the rate limit, 10 calls a second per token ----------------------------------------


def test_more_than_ten_calls_in_a_second_are_a_429_without_retry_after() -> None:
    cs = Cs(pace=0)
    token = cs.login()
    answers = [cs.call("GET", "/client-statuses", token=token) for _ in range(11)]

    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert answers[-1].json() == {"userMessage": "Too many requests"}
    assert "Retry-After" not in answers[-1].headers
    assert cs.emulator.calls()["limit:429"] == 1
    cs.clock.advance(0.11)  # a tenth of a second refills one call
    assert cs.call("GET", "/client-statuses", token=token).status_code == 200


def test_the_budget_is_per_token() -> None:
    cs = Cs(pace=0)
    first, second = cs.login(), cs.login(READER)
    for _ in range(10):
        cs.call("GET", "/client-statuses", token=first)

    assert cs.call("GET", "/client-statuses", token=first).status_code == 429
    assert cs.call("GET", "/client-statuses", token=second).status_code == 200


def test_a_client_at_ten_calls_a_second_is_never_limited() -> None:
    cs = Cs(pace=0.1)
    token = cs.login()

    assert {cs.call("GET", "/client-statuses", token=token).status_code for _ in range(50)} == {200}


def test_the_rate_is_a_setting_and_zero_turns_it_off() -> None:
    cs = Cs(pace=0, rate_limit_per_second=0)
    token = cs.login()

    assert {cs.call("GET", "/client-statuses", token=token).status_code for _ in range(40)} == {200}


# ---- §3.6: errors, maintenance, faults --------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/interactions",
        "/clients/1/interactions",
        "/clients/1/to-dos",
        "/products",
        "/nope",
        "/v2/client/search",
    ],
)
def test_an_unknown_path_is_a_404_with_a_user_message(cs: Cs, path: str) -> None:
    assert cs.refused("GET", path, 404) == "Not found"
    assert cs.refused("GET", path, 404, token=None) == "Not found"


def test_a_path_outside_v1_is_a_404(cs: Cs) -> None:
    answer = cs.http.get(
        "https://api.clientsuccess.com/clients", headers={"Authorization": cs.login()}
    )

    assert answer.status_code == 404
    assert answer.json() == {"userMessage": "Not found"}


def test_a_method_the_path_does_not_take_is_a_405(cs: Cs) -> None:
    assert cs.refused("DELETE", "/clients", 405) == "Request method 'DELETE' not supported"
    assert cs.refused("GET", "/auth", 405, token=None).startswith("Request method")


def test_maintenance_answers_every_call_503() -> None:
    cs = Cs(maintenance=True)

    answer = cs.call("POST", "/auth", token=None, data={"username": ADMIN[0], "password": ADMIN[1]})
    assert answer.status_code == 503
    assert answer.json() == {"userMessage": "Service Temporarily Unavailable"}
    cs.emulator.maintenance = False
    assert cs.call("GET", "/clients").status_code == 200


def test_injected_503s_speak_clientsuccess() -> None:
    cs = Cs(faults={"server_error": 1.0, "error_status": 503, "spare": ["auth"]})

    assert cs.refused("GET", "/clients", 503) == "Service Temporarily Unavailable"


# ---- save and restore ------------------------------------------------------------------------


def test_a_restored_emulator_keeps_its_data_and_tokens_and_never_repeats_a_token(
    tmp_path: Path,
) -> None:
    cs = Cs()
    made = cs.client(externalId="zcrm_1")
    before = {cs.login() for _ in range(3)}
    live = next(iter(before))
    cs.emulator.save(tmp_path)
    saved = (tmp_path / "clientsuccess.json").read_text(encoding="utf-8")
    assert json.loads(saved)["settings"]["clients"] == 0

    again = ClientSuccessEmulator.restore(tmp_path, {}, clock=FakeClock(START + 60))
    cs.emulator, cs.http = again, type(cs.http)(transport=again.transport())

    assert cs.ok("GET", "/clients?externalId=zcrm_1", token=live)["id"] == made["id"]
    assert {cs.login() for _ in range(3)}.isdisjoint(before)
    assert cs.client(name="Next")["id"] > made["id"]
    assert API.endswith("/v1")
