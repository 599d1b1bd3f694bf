"""Who may call the Ideolve emulator (targets.md §4.3 and the issue's decisions): the three
headers on every call (401 naming the one missing), a wrong Client-Id / Connector-Api-Key pair
answered 500 on every path, the acting user in the path (percent-encoded, without case), the
rate limit of 20 calls a second per Client-Id, and unknown paths."""

from __future__ import annotations

import pytest

from tests.plugins.ideolve.emulator_kit import API, API_KEY, BOT, CLIENT_ID, Ideolve

# Every path of §4.4 with its method, ids that need not exist (auth is checked first).
PATHS = [
    ("POST", "/auth"),
    ("GET", "/workspaces"),
    ("POST", "/workspace"),
    ("POST", "/workspace/ws_1/note"),
    ("PUT", "/workspace/ws_1/note/nt_1"),
    ("GET", "/workspace/ws_1/note/nt_1"),
    ("POST", "/workspace/ws_1/note/nt_1/comment"),
    ("POST", "/workspace/ws_1/note/nt_1/attachment"),
]


def test_the_auth_call_answers_success_with_the_three_headers_and_no_body() -> None:
    io = Ideolve()
    answer = io.call("POST", "/auth")

    assert answer.status_code == 200
    assert answer.json() == {"status": "SUCCESS"}
    assert io.emulator.calls()["auth"] == 1


@pytest.mark.parametrize("missing", ["Client-Id", "Connector-Api-Key", "App-Name"])
@pytest.mark.parametrize(("method", "path"), PATHS)
def test_a_missing_header_is_a_401_that_names_it_on_every_path(
    missing: str, method: str, path: str
) -> None:
    io = Ideolve()
    headers = {k: v for k, v in io.headers.items() if k != missing}

    body = io.refused(method, path, 401, headers=headers)

    assert body == {"status": "UNAUTHORIZED", "reason": f"missing header {missing}"}


@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_header_counts_as_missing(empty: str) -> None:
    io = Ideolve()

    body = io.refused("POST", "/auth", 401, headers={**io.headers, "App-Name": empty})

    assert body["reason"] == "missing header App-Name"


def test_header_names_are_taken_in_any_case_and_app_name_is_free_text() -> None:
    io = Ideolve()
    headers = {
        "client-id": CLIENT_ID,
        "CONNECTOR-API-KEY": API_KEY,
        "app-name": "Zoho CRM (sync) v2",
    }

    assert io.call("POST", "/auth", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("client_id", "api_key"),
    [
        (CLIENT_ID, "wrong-key"),
        ("wrong-client", API_KEY),
        ("wrong-client", "wrong-key"),
        (API_KEY, CLIENT_ID),  # the pair swapped
        (CLIENT_ID, API_KEY + "x"),
        (CLIENT_ID.upper(), API_KEY),  # compared exactly
    ],
    ids=["key", "client", "both", "swapped", "longer-key", "client-case"],
)
def test_a_wrong_pair_is_a_500_error_not_a_401(client_id: str, api_key: str) -> None:
    io = Ideolve()
    headers = {"Client-Id": client_id, "Connector-Api-Key": api_key, "App-Name": "tests"}

    body = io.refused("POST", "/auth", 500, headers=headers)

    assert body == {"status": "ERROR", "reason": "Invalid Client-Id or Connector-Api-Key"}
    assert io.emulator.calls()["refused:500"] == 1


@pytest.mark.parametrize(("method", "path"), [*PATHS, ("GET", "/no/such/path")])
def test_a_wrong_pair_is_a_500_on_every_path_and_changes_nothing(method: str, path: str) -> None:
    io = Ideolve(workspaces="Deals")
    headers = {**io.headers, "Connector-Api-Key": "not-the-key"}

    body = io.refused(method, path, 500, headers=headers, json={"name": "Other"})

    assert body["reason"] == "Invalid Client-Id or Connector-Api-Key"
    assert [w["name"] for w in io.emulator.records("workspaces")] == ["Deals"]


def test_a_refusal_never_quotes_the_key_sent_or_the_right_one() -> None:
    io = Ideolve()
    sent = "attacker-guess-0123456789"
    answers = [
        io.call("GET", "/workspaces", headers={**io.headers, "Connector-Api-Key": sent}),
        io.call("GET", "/workspaces", headers={**io.headers, "Client-Id": sent}),
        io.call("GET", "/workspaces", headers={"Client-Id": CLIENT_ID, "App-Name": "x"}),
    ]

    for answer in answers:
        assert sent not in answer.text
        assert API_KEY not in answer.text
        assert CLIENT_ID not in answer.text


def test_the_key_pair_is_an_option() -> None:
    io = Ideolve(client_id="acme-client", api_key="acme-key")

    io.refused("POST", "/auth", 500)  # the default pair no longer works
    headers = {"Client-Id": "acme-client", "Connector-Api-Key": "acme-key", "App-Name": "x"}
    assert io.call("POST", "/auth", headers=headers).status_code == 200


# ---- the user in the path -------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "sales.bot%40example.com",  # encoded, as the document's example
        "sales.bot@example.com",  # not encoded: the server decodes the same path
        "Sales.Bot%40Example.COM",  # another case
        "%73ales.bot%40example.com",  # any character encoded
    ],
)
def test_the_user_is_the_email_percent_encoded_and_compared_without_case(written: str) -> None:
    io = Ideolve()
    url = f"{API}/user/{written}/workspace"

    made = io.http.post(url, headers=io.headers, json={"name": "Deals"})

    assert made.status_code == 200, made.text
    (workspace,) = io.emulator.records("workspaces")
    assert workspace["owner"] == BOT  # the org's spelling, whatever the path's


@pytest.mark.parametrize(
    "user",
    ["nobody@example.com", "sales.bot@example.org", "sales.bot", "presales-experts", "%00"],
)
def test_an_unknown_user_is_a_404_user_not_found(user: str) -> None:
    io = Ideolve()

    body = io.refused("GET", "/workspaces", 404, user=user)

    assert body == {"status": "NOT_FOUND", "reason": "user not found"}


def test_an_unknown_user_changes_nothing() -> None:
    io = Ideolve()

    io.refused("POST", "/workspace", 404, user="mallory@example.com", json={"name": "X"})

    assert io.emulator.records("workspaces") == []


def test_a_slash_encoded_in_the_user_is_no_user_but_another_path() -> None:
    io = Ideolve()
    url = f"{API}/user/sales.bot%2F..%2Fanna.expert%40example.com/workspaces"

    answer = io.http.get(url, headers=io.headers)

    assert answer.status_code == 404
    assert answer.json()["status"] == "NOT_FOUND"


# ---- the rate limit -------------------------------------------------------------------------


def test_twenty_calls_a_second_pass_and_the_next_is_a_429_without_retry_after() -> None:
    io = Ideolve(pace=0)
    for _ in range(20):
        assert io.call("GET", "/workspaces").status_code == 200

    limited = io.call("GET", "/workspaces")

    assert limited.status_code == 429
    assert limited.json() == {"status": "ERROR", "reason": "rate limit exceeded"}
    assert "Retry-After" not in limited.headers
    assert io.emulator.calls()["limit:429"] == 1


def test_the_budget_refills_on_the_clock() -> None:
    io = Ideolve(pace=0)
    for _ in range(20):
        io.call("POST", "/auth")
    assert io.call("POST", "/auth").status_code == 429

    io.clock.advance(0.06)  # one call's worth (a twentieth of a second) and a bit
    assert io.call("POST", "/auth").status_code == 200
    assert io.call("POST", "/auth").status_code == 429
    io.clock.advance(1)
    assert [io.call("POST", "/auth").status_code for _ in range(20)] == [200] * 20


def test_a_call_refused_by_the_limit_changes_nothing() -> None:
    io = Ideolve(pace=0)
    for _ in range(20):
        io.call("POST", "/auth")

    io.refused("POST", "/workspace", 429, json={"name": "Deals"})

    assert io.emulator.records("workspaces") == []


def test_the_limit_is_an_option_and_zero_turns_it_off() -> None:
    slow = Ideolve(pace=0, rate_limit_per_second=2)
    assert [slow.call("POST", "/auth").status_code for _ in range(3)] == [200, 200, 429]

    free = Ideolve(pace=0, rate_limit_per_second=0)
    assert {free.call("POST", "/auth").status_code for _ in range(100)} == {200}


def test_calls_with_a_wrong_pair_do_not_spend_the_budget() -> None:
    io = Ideolve(pace=0)
    for _ in range(30):
        io.call("POST", "/auth", headers={**io.headers, "Client-Id": "other"})

    assert io.call("POST", "/auth").status_code == 200


# ---- unknown paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v4/user/sales.bot%40example.com/notes"),
        ("GET", "/v4/user/sales.bot%40example.com"),
        ("GET", "/v4"),
        ("GET", "/v3/user/sales.bot%40example.com/workspaces"),
        ("GET", "/user/sales.bot%40example.com/workspaces"),  # no /v4
        ("DELETE", "/v4/user/sales.bot%40example.com/workspace/ws_1/note/nt_1"),  # no DELETE
        ("GET", "/v4/user/sales.bot%40example.com/auth"),  # auth is a POST
        ("POST", "/v4/user/sales.bot%40example.com/workspaces"),
        ("PATCH", "/v4/user/sales.bot%40example.com/workspace/ws_1/note/nt_1"),
        ("GET", "/v4/user/sales.bot%40example.com/workspace/ws_1/note/nt_1/comment/x"),
    ],
)
def test_an_unknown_path_or_method_is_a_404_no_such_path(method: str, path: str) -> None:
    io = Ideolve()
    answer = io.http.request(method, "https://api.ideolve.com" + path, headers=io.headers)

    assert answer.status_code == 404
    assert answer.json() == {"status": "NOT_FOUND", "reason": "no such path"}
    assert io.emulator.calls()["unknown"] == 1


def test_an_unknown_path_without_headers_is_a_401_first() -> None:
    io = Ideolve()

    body = io.refused("GET", "/nothing/here", 401, user=None, headers={})

    assert body["status"] == "UNAUTHORIZED"
