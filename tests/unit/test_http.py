"""The shared HTTP layer and OAuth, driven through httpx's transport seam with a fake clock
(nothing waits for real)."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from integrate import (
    AuthError,
    CallStats,
    ConnectorContext,
    ConnectorError,
    FakeClock,
    HttpClient,
    OAuth2,
    RetryPolicy,
)
from integrate.http import BudgetExhausted
from integrate.oauth import MemoryTokenCache, token_classifier

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, clock: FakeClock, **kwargs: Any) -> HttpClient:
    return HttpClient(
        httpx.Client(transport=httpx.MockTransport(handler)),
        connection="crm",
        stats=CallStats(),
        clock=clock,
        **kwargs,
    )


def script(*answers: httpx.Response | type[Exception]) -> tuple[Handler, list[float], FakeClock]:
    """A server answering in order; records when (fake time) each call came."""
    clock = FakeClock()
    seen: list[float] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(clock.now())
        answer = queue.pop(0)
        if isinstance(answer, type):
            raise answer("boom", request=request)  # type: ignore[call-arg]
        return answer

    return handle, seen, clock


def test_a_5xx_is_retried_with_growing_backoff() -> None:
    handle, seen, clock = script(
        httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"ok": 1})
    )
    http = client(handle, clock, policy=RetryPolicy(backoff=1.0, jitter=0.0))

    response = http.request("GET", "https://api.example/x")

    assert response.json() == {"ok": 1}
    assert [round(b - a, 3) for a, b in itertools.pairwise(seen)] == [1.0, 2.0]
    assert (http.stats.reads, http.stats.retries, http.stats.waited) == (3, 2, 3.0)


def test_retry_after_is_honoured_at_least_in_seconds_and_as_a_date() -> None:
    handle, seen, clock = script(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}),
        httpx.Response(200),
    )
    http = client(handle, clock, policy=RetryPolicy(backoff=0.1, retry_after_max=30.0))

    http.request("GET", "https://api.example/x")

    assert seen[1] - seen[0] >= 7.0
    assert seen[2] - seen[1] == pytest.approx(30.0)  # a far date is capped


def test_it_gives_up_after_the_last_attempt() -> None:
    handle, seen, clock = script(*[httpx.Response(500)] * 3)
    http = client(handle, clock, policy=RetryPolicy(max_attempts=3, backoff=0.1))

    with pytest.raises(
        ConnectorError, match="gave up after 3 attempts: server error 500"
    ) as caught:
        http.request("GET", "https://api.example/x")

    assert caught.value.code == "RETRIES_EXHAUSTED"
    assert len(seen) == 3


def test_a_post_that_timed_out_after_sending_is_not_blindly_resent() -> None:
    handle, seen, clock = script(httpx.ReadTimeout, httpx.Response(201))
    http = client(handle, clock)

    with pytest.raises(ConnectorError, match="not retried") as caught:
        http.request("POST", "https://api.example/x?token=sekret", json={"a": 1})

    assert caught.value.code == "AMBIGUOUS"
    assert "sekret" not in str(caught.value)
    assert len(seen) == 1


def test_a_connect_error_is_always_safe_to_retry() -> None:
    handle, seen, clock = script(httpx.ConnectError, httpx.Response(201))
    http = client(handle, clock, policy=RetryPolicy(backoff=0.1))

    assert http.request("POST", "https://api.example/x").status_code == 201
    assert len(seen) == 2


def test_a_cut_json_answer_is_retried_when_reading() -> None:
    handle, seen, clock = script(
        httpx.Response(200, content=b'{"data": [1, 2'), httpx.Response(200, json={"data": [1, 2]})
    )
    http = client(handle, clock, policy=RetryPolicy(backoff=0.1))

    assert http.request("GET", "https://api.example/x", expect_json=True).json() == {"data": [1, 2]}
    assert len(seen) == 2


def test_json_the_standard_library_takes_and_orjson_refuses_is_still_json() -> None:
    big = b'{"id": 123456789012345678901234567890, "ratio": NaN}'
    handle, seen, clock = script(httpx.Response(200, content=big))
    http = client(handle, clock)

    body = http.request("GET", "https://api.example/x", expect_json=True).json()

    assert body["id"] == 123456789012345678901234567890
    assert body["ratio"] != body["ratio"]  # NaN
    assert len(seen) == 1


def test_each_json_call_gets_its_own_value() -> None:
    handle, _seen, clock = script(httpx.Response(200, json={"data": [1, 2]}))
    http = client(handle, clock)
    response = http.request("GET", "https://api.example/x", expect_json=True)

    first = response.json()
    first["data"].append(3)

    assert response.json() == {"data": [1, 2]}


class CountingAuth:
    """Credentials that count refreshes (a test double for the Auth protocol)."""

    def __init__(self) -> None:
        self.current = "t1"
        self.refreshes = 0
        self.lock = threading.Lock()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.current}"}

    def token(self) -> str | None:
        return self.current

    def refresh(self, stale: str | None) -> None:
        with self.lock:
            if stale != self.current:
                return
            self.refreshes += 1
            self.current = f"t{self.refreshes + 1}"


def test_an_expired_token_is_refreshed_once_then_the_call_retried() -> None:
    clock = FakeClock()
    auth = CountingAuth()

    def handle(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(200)
            if request.headers["Authorization"] == "Bearer t2"
            else httpx.Response(401)
        )

    http = client(handle, clock, auth=auth)

    assert http.request("GET", "https://api.example/x").status_code == 200
    assert auth.refreshes == 1


def test_credentials_refused_after_a_refresh_need_reauthorisation() -> None:
    clock = FakeClock()
    auth = CountingAuth()
    http = client(lambda r: httpx.Response(401), clock, auth=auth)

    with pytest.raises(AuthError, match="integrate auth") as caught:
        http.request("GET", "https://api.example/x")

    assert caught.value.code == "NEEDS_REAUTH"
    assert auth.refreshes == 1


def test_the_call_budget_stops_a_run() -> None:
    clock = FakeClock()
    http = client(lambda r: httpx.Response(200), clock, max_calls=2)
    http.request("GET", "https://api.example/1")
    http.request("GET", "https://api.example/2")

    with pytest.raises(BudgetExhausted, match="budget of 2 calls"):
        http.request("GET", "https://api.example/3")


def test_calls_are_paced_to_the_rate_asked() -> None:
    clock = FakeClock()
    seen: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(clock.now())
        return httpx.Response(200)

    http = client(handle, clock, calls_per_minute=30)
    for _ in range(4):
        http.request("GET", "https://api.example/x")

    assert [round(b - a, 3) for a, b in itertools.pairwise(seen)] == [2.0, 2.0, 2.0]


def test_the_log_names_host_and_path_only(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    http = client(lambda r: httpx.Response(200), clock)

    with caplog.at_level(logging.DEBUG, logger="integrate.http"):
        http.request(
            "GET",
            "https://api.example/crm/v8/Accounts?access=SECRETQ",
            headers={"Authorization": "Bearer XYZ"},
        )

    text = caplog.text
    assert "api.example/crm/v8/Accounts" in text
    assert "SECRETQ" not in text
    assert "XYZ" not in text


# ---- OAuth ----------------------------------------------------------------------------


def token_server(
    clock: FakeClock, answers: list[dict[str, Any]]
) -> tuple[Handler, list[dict[str, str]]]:
    calls: list[dict[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(dict(httpx.QueryParams(request.content.decode())))
        return httpx.Response(200, json=answers.pop(0) if len(answers) > 1 else answers[0])

    return handle, calls


def oauth(handler: Handler, clock: FakeClock, cache: MemoryTokenCache | None = None) -> OAuth2:
    http = client(
        handler, clock, classify=token_classifier, policy=RetryPolicy(backoff=1.0, jitter=0.0)
    )
    return OAuth2(
        connection="crm",
        token_url="https://accounts.example/oauth/v2/token",
        client_id="cid",
        client_secret="csecret",
        refresh_token="rtoken-1234",
        http=http,
        clock=clock,
        cache=cache or MemoryTokenCache(),
        header_prefix="Zoho-oauthtoken",
        keep=("api_domain",),
    )


def test_the_refresh_grant_sends_the_credentials_and_keeps_the_api_domain() -> None:
    clock = FakeClock()
    handle, calls = token_server(
        clock, [{"access_token": "a1", "expires_in": 3600, "api_domain": "https://www.zohoapis.eu"}]
    )
    auth = oauth(handle, clock)

    assert auth.headers() == {"Authorization": "Zoho-oauthtoken a1"}
    assert calls == [
        {
            "grant_type": "refresh_token",
            "client_id": "cid",
            "client_secret": "csecret",
            "refresh_token": "rtoken-1234",
        }
    ]
    assert auth.extra["api_domain"] == "https://www.zohoapis.eu"


def test_a_token_error_in_an_http_200_is_an_error() -> None:
    clock = FakeClock()
    handle, _calls = token_server(clock, [{"error": "invalid_code"}])

    with pytest.raises(AuthError, match="refused: invalid_code") as caught:
        oauth(handle, clock).headers()

    assert caught.value.code == "NEEDS_REAUTH"


def test_a_token_throttle_in_an_http_200_is_waited_out() -> None:
    clock = FakeClock()
    handle, calls = token_server(
        clock,
        [
            {
                "error": "Access Denied",
                "error_description": "You have made too many requests",
                "status": "failure",
            },
            {"access_token": "a1", "expires_in": 3600},
        ],
    )

    assert oauth(handle, clock).headers()["Authorization"].endswith("a1")
    assert len(calls) == 2
    assert clock.slept[0] >= 1.0


def test_the_access_token_is_reused_from_the_cache_until_it_expires() -> None:
    clock = FakeClock()
    cache = MemoryTokenCache()
    handle, calls = token_server(clock, [{"access_token": "a1", "expires_in": 3600}])
    oauth(handle, clock, cache).headers()

    again = oauth(handle, clock, cache)  # a later run, same state store
    assert again.headers()["Authorization"].endswith("a1")
    assert len(calls) == 1

    clock.advance(3600)
    again.headers()
    assert len(calls) == 2


def test_concurrent_refreshes_are_single_flight() -> None:
    clock = FakeClock()
    handle, calls = token_server(clock, [{"access_token": "a1", "expires_in": 3600}])
    auth = oauth(handle, clock)
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        auth.refresh(None)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert auth.refreshes == 1


def test_connector_context_limits_override_plugin_defaults() -> None:
    context = ConnectorContext(
        connection="crm",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, content=json.dumps({}).encode())
        ),
        clock=FakeClock(),
        limits={"max_calls": 1, "max_attempts": 2},
    )
    http = context.http(max_calls=100)
    http.request("GET", "https://api.example/x")

    assert http.policy.max_attempts == 2
    with pytest.raises(BudgetExhausted):
        http.request("GET", "https://api.example/x")


def test_a_5xx_to_a_post_is_handed_back_not_resent_503_included() -> None:
    # A create answered 503 may have been carried out: resending it blindly can duplicate.
    for status in (500, 503):
        handle, seen, clock = script(httpx.Response(status), httpx.Response(201))
        http = client(handle, clock)

        response = http.request("POST", "https://api.example/x", json={"a": 1})

        assert response.status_code == status
        assert len(seen) == 1
