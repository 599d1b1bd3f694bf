"""The shared HTTP layer and OAuth, driven through httpx's transport seam with a fake clock
(nothing waits for real)."""

from __future__ import annotations

import itertools
import json
import logging
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import (
    AuthError,
    CallStats,
    Connector,
    ConnectorContext,
    ConnectorError,
    FakeClock,
    HttpClient,
    OAuth2,
    ObjectInfo,
    Page,
    RetryPolicy,
    WriteResult,
)
from integrate.http import BudgetExhausted
from integrate.oauth import MemoryTokenCache, TokenCache, credential_key, token_classifier
from integrate.state import StateStore
from integrate.tokencache import StateTokenCache

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


def oauth(handler: Handler, clock: FakeClock, cache: TokenCache | None = None) -> OAuth2:
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


def test_connector_context_passes_the_new_limits_on() -> None:
    context = ConnectorContext(
        connection="crm",
        clock=FakeClock(),
        limits={"timeout": 2.5, "max_response_bytes": 4096, "rate_limit_patience": 30},
    )
    policy = context.http().policy

    assert (policy.timeout, policy.max_response_bytes, policy.rate_limit_patience) == (
        2.5,
        4096,
        30.0,
    )


# ---- rate limits: waited out for the whole connection, within a patience -------------------


def test_429s_without_retry_after_back_off_doubling_to_a_cap_beyond_max_attempts() -> None:
    handle, seen, clock = script(*[httpx.Response(429)] * 9, httpx.Response(200))
    http = client(
        handle, clock, policy=RetryPolicy(max_attempts=3, backoff=1.0, backoff_max=60, jitter=0)
    )

    assert http.request("GET", "https://api.example/x").status_code == 200

    gaps = [round(b - a, 3) for a, b in itertools.pairwise(seen)]
    assert gaps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert http.stats.waited == pytest.approx(sum(gaps))


def test_backoff_jitter_stays_within_its_fraction_and_under_the_cap() -> None:
    handle, seen, clock = script(*[httpx.Response(429)] * 8, httpx.Response(200))
    policy = RetryPolicy(backoff=1.0, backoff_max=60, jitter=0.2)
    http = client(handle, clock, policy=policy, rng=random.Random(3))

    http.request("GET", "https://api.example/x")

    gaps = [b - a for a, b in itertools.pairwise(seen)]
    for n, gap in enumerate(gaps):
        plain = 2.0**n
        assert min(plain * 0.8, 60) <= gap <= min(plain * 1.2, 60)


def test_a_rate_limit_longer_than_the_patience_gives_up_with_rate_limited() -> None:
    handle, seen, clock = script(*[httpx.Response(429, headers={"Retry-After": "40"})] * 10)
    http = client(handle, clock, policy=RetryPolicy(rate_limit_patience=100))

    with pytest.raises(
        ConnectorError, match=r"after waiting 80 s; limits.rate_limit_patience"
    ) as caught:
        http.request("GET", "https://api.example/x")

    assert caught.value.code == "RATE_LIMITED"
    assert len(seen) == 3  # waited 40 + 40; a third wait would pass 100 s
    assert http.stats.failures == 1


def test_a_503_with_retry_after_still_counts_against_max_attempts() -> None:
    handle, seen, clock = script(*[httpx.Response(503, headers={"Retry-After": "2"})] * 3)
    http = client(handle, clock, policy=RetryPolicy(max_attempts=3))

    with pytest.raises(ConnectorError, match="gave up after 3 attempts: server error 503"):
        http.request("GET", "https://api.example/x")

    assert [round(b - a, 3) for a, b in itertools.pairwise(seen)] == [2.0, 2.0]


# ---- deadlines, cut answers and the size cap, through the transport seam -------------------


def test_a_read_that_keeps_timing_out_fails_with_deadline() -> None:
    handle, seen, clock = script(httpx.ReadTimeout, httpx.ReadTimeout)
    http = client(handle, clock, policy=RetryPolicy(max_attempts=2, timeout=5))

    with pytest.raises(
        ConnectorError, match=r"no whole answer within limits.timeout \(5 s\)"
    ) as caught:
        http.request("GET", "https://api.example/x")

    assert caught.value.code == "DEADLINE"
    assert len(seen) == 2


def test_an_answer_over_the_cap_is_refused_and_not_retried() -> None:
    handle, seen, clock = script(httpx.Response(200, content=b"x" * 5000))
    http = client(handle, clock, policy=RetryPolicy(max_response_bytes=4096))

    with pytest.raises(
        ConnectorError, match=r"limits.max_response_bytes \(4,096 bytes\)"
    ) as caught:
        http.request("GET", "https://api.example/x?secret=1")

    assert caught.value.code == "RESPONSE_TOO_LARGE"
    assert "secret" not in str(caught.value)
    assert len(seen) == 1


def test_a_body_that_does_not_decode_is_retried_like_a_cut_one() -> None:
    broken = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=Chunks([b"nope"]))
    handle, seen, clock = script(broken, httpx.Response(200, json={"ok": True}))
    http = client(handle, clock, policy=RetryPolicy(backoff=0.1))

    assert http.request("GET", "https://api.example/x").json() == {"ok": True}
    assert len(seen) == 2


class Chunks(httpx.SyncByteStream):
    """A streamed body, as a socket gives it (not read yet)."""

    def __init__(self, chunks: list[bytes]):
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


# ---- learned hosts -------------------------------------------------------------------------


def test_a_plugin_declared_vendor_domain_and_its_config_decide_the_trusted_hosts() -> None:
    class Acme(Connector):
        plugin = "acme"
        vendor_domains = ("api.acme.example", "*.files.acme.example")

        def describe(self, object: str) -> ObjectInfo:
            raise KeyError(object)

        def read(self, object: str, **kwargs: Any) -> Iterator[Page]:
            return iter(())

        def write(self, object: str, operation: str, items: Any) -> list[WriteResult]:
            return []

    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    context = ConnectorContext(connection="acme", transport=httpx.MockTransport(handle))
    Acme({"url": "http://10.1.2.3:8080/base", "token": "not a url"}, context)
    http = context.http("http://127.0.0.1:7000")

    for url in (
        "/relative/to/the/base",
        "http://10.1.2.3:8080/from/the/config",
        "https://api.acme.example/v1",
        "https://eu.files.acme.example/f/1",
    ):
        http.request("GET", url)
    with pytest.raises(ConnectorError) as caught:
        http.request("GET", "https://api.acme.example.evil.test/v1", learned_from="a next-page URL")
    assert caught.value.code == "UNTRUSTED_HOST"
    assert "https://api.acme.example.evil.test:443, learned from a next-page URL" in str(
        caught.value
    )
    assert len(seen) == 4


# ---- tokens shared across runs and processes through the state file -----------------------


def test_two_integrations_on_one_state_file_share_one_access_token(tmp_path: Path) -> None:
    clock = FakeClock()
    handle, calls = token_server(
        clock, [{"access_token": "a1", "expires_in": 3600}, {"access_token": "a2"}]
    )
    path = tmp_path / "state.db"
    first = StateStore(path, "crm-to-desk", lock=True)
    second = StateStore(path, "crm-to-files", lock=True)
    try:
        assert (
            oauth(handle, clock, StateTokenCache(first)).headers()["Authorization"].endswith("a1")
        )
        other = oauth(handle, clock, StateTokenCache(second))
        assert other.headers()["Authorization"].endswith("a1")  # read, not refreshed
        assert len(calls) == 1

        late = oauth(handle, clock, StateTokenCache(first))  # a run that started earlier

        # The token dies early (revoked, expired by the server): both see a 401 with a1.
        other.refresh("a1")
        late.refresh("a1")
        assert late.token() == "a2"
        assert len(calls) == 2  # one refresh for both
    finally:
        first.close()
        second.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"rtoken-1234" not in stored
    assert b"csecret" not in stored
    lock = tmp_path / "state.db.tokens.lock"
    assert oct(lock.stat().st_mode & 0o777) == "0o600"


def test_tokens_of_other_credentials_are_kept_apart() -> None:
    one = credential_key("https://accounts.zoho.com/oauth/v2/token", "cid", "rtoken-1")
    assert one != credential_key("https://accounts.zoho.com/oauth/v2/token", "cid", "rtoken-2")
    assert one != credential_key("https://accounts.zoho.eu/oauth/v2/token", "cid", "rtoken-1")
    assert "rtoken" not in one
    assert "cid" not in one
