"""The shared HTTP layer: every plugin's calls go through one `HttpClient`, which plugins
configure and never re-implement.

It retries 5xx answers, timeouts and connection errors with exponential backoff and
jitter; waits out rate limits for the whole connection (throttle.py) within a patience;
bounds each attempt by one deadline and each answer by a size cap (httpbody.py); refuses
hosts learned from answers that are not the vendor's or configured (hosts.py); keeps a
per-connection call budget and concurrency limit; refreshes an expired token once, single
flight, then retries; counts every call (reads, writes, auth, retries, seconds waited); and
logs method, host and path only, never headers, query strings or bodies. What a call
returned is an `HttpAnswer` (httpanswer.py): the body read whole, the JSON parsed once.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from integrate.clock import Clock, FakeClock, SystemClock
from integrate.errors import AuthError, ConnectorError
from integrate.hosts import HostTrust
from integrate.httpanswer import HttpAnswer
from integrate.httpbody import BrokenBody, PastDeadline, ResponseTooLarge, read_body
from integrate.httppolicy import CallStats, RetryPolicy
from integrate.throttle import Throttle

if TYPE_CHECKING:
    import httpx

__all__ = [
    "AUTH_EXPIRED",
    "FAIL",
    "OK",
    "RATE_LIMITED",
    "RETRY",
    "Auth",
    "BudgetExhausted",
    "CallStats",
    "Classifier",
    "Clock",
    "FakeClock",
    "HttpAnswer",
    "HttpClient",
    "RetryPolicy",
    "SystemClock",
    "default_classifier",
    "form",
    "retry_after",
]

log = logging.getLogger("integrate.http")

# What a classifier says of an answer.
OK = "ok"  # hand the answer to the plugin (it may still hold per-record errors)
RETRY = "retry"  # a transient failure: try again after a backoff
RATE_LIMITED = "rate_limited"  # slow down: wait (Retry-After if given), then try again
AUTH_EXPIRED = "auth_expired"  # refresh the credentials once, then try again
FAIL = "fail"  # give up: raise ConnectorError (or AuthError)

Classifier = Callable[[HttpAnswer], str]


class Auth(Protocol):
    """Credentials for requests. `refresh(stale)` must be single flight: when the token
    has already changed since `stale` was handed out, it does nothing."""

    def headers(self) -> dict[str, str]: ...

    def token(self) -> str | None: ...

    def refresh(self, stale: str | None) -> None: ...


class BudgetExhausted(ConnectorError):
    """The connection's call budget for this run is spent."""


def default_classifier(response: HttpAnswer) -> str:
    status = response.status_code
    if status == 429:
        return RATE_LIMITED
    if status == 401:
        return AUTH_EXPIRED
    if status in (500, 502, 503, 504):
        return RETRY
    return OK


def retry_after(response: HttpAnswer, now: Callable[[], dt.datetime] | None = None) -> float | None:
    """Seconds the answer asks us to wait: Retry-After as seconds or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = now() if now is not None else dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - current).total_seconds())


class HttpClient:
    """One connection's way to its system."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        connection: str,
        stats: CallStats,
        clock: Clock,
        auth: Auth | None = None,
        policy: RetryPolicy | None = None,
        classify: Classifier = default_classifier,
        concurrency: int = 4,
        max_calls: int | None = None,
        calls_per_minute: float | None = None,
        rng: random.Random | None = None,
        trust: HostTrust | None = None,
    ):
        self.client = client
        self.connection = connection
        self.stats = stats
        self.clock = clock
        self.auth = auth
        self.policy = policy or RetryPolicy()
        self.classify = classify
        self.max_calls = max_calls
        self.calls_per_minute = calls_per_minute
        # The hosts this connection may call (None: any; a bare client built by hand).
        self.trust = trust
        self.concurrency = max(1, concurrency)  # calls in flight at once, at most
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._rng = rng or random.Random()
        self.throttle = Throttle(
            clock,
            backoff=self.policy.backoff,
            backoff_max=self.policy.backoff_max,
            retry_after_max=self.policy.retry_after_max,
            jitter=self.policy.jitter,
            rng=self._rng,
        )
        self._bucket_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._next_slot = 0.0
        self._calls = 0

    def close(self) -> None:
        self.client.close()

    def check_host(self, url: str, learned_from: str | None = None) -> None:
        """Refuse (UNTRUSTED_HOST) a URL outside the configured hosts and the vendor's
        domains; for plugins that open a URL by other means (a streamed download)."""
        if self.trust is not None:
            self.trust.check(str(self.client.base_url.join(url)), learned_from)

    # ---- the one way out --------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        kind: str = "read",
        label: str = "",
        idempotent: bool | None = None,
        authenticated: bool = True,
        expect_json: bool = False,
        learned_from: str | None = None,
        **kwargs: Any,
    ) -> HttpAnswer:
        """Send one request, retrying as the policy allows. `kind` is read, write or auth
        (for the counts); `idempotent` (default: not POST) says whether a failure after the
        request may have been sent can be retried safely; with `expect_json`, a body that is
        not whole JSON (a truncated answer) is a transient failure too; `learned_from` says
        where the URL came from when an answer named it (for the refusal of a foreign host).
        Each attempt must end (connect, headers, whole body) within `policy.timeout`."""
        import httpx  # here, not at the top: commands that send nothing never import it

        if idempotent is None:
            idempotent = method.upper() != "POST"
        self.check_host(url, learned_from)
        given = dict(kwargs.pop("headers", None) or {})
        given.setdefault("Accept-Encoding", "gzip, deflate")  # what read_body decodes
        policy = self.policy
        timeout = httpx.Timeout(policy.timeout, connect=min(policy.connect_timeout, policy.timeout))
        what = f"{self.connection}: {method} {_where(url)}"
        attempt = 0
        refreshed = False
        limited = 0.0  # seconds this call spent waiting out rate limits
        while True:
            attempt += 1
            waited, probe = self.throttle.admit()
            limited += waited
            self.stats.waited += waited
            try:
                self._spend(kind, label)
            except BudgetExhausted:
                self.throttle.abandoned(probe)
                raise
            token = self.auth.token() if (self.auth is not None and authenticated) else None
            headers = dict(given)
            if self.auth is not None and authenticated:
                try:
                    headers.update(self.auth.headers())
                except BaseException:
                    self.throttle.abandoned(probe)
                    raise
            sends_credentials = self.auth is not None and authenticated
            request = self.client.build_request(
                method, url, headers=headers, timeout=timeout, **kwargs
            )
            try:
                with self._slots:
                    deadline = time.monotonic() + policy.timeout
                    response = self.client.send(request, stream=True)
                    try:
                        content = read_body(
                            response,
                            limit=policy.max_response_bytes,
                            deadline=deadline,
                            what=what,
                        )
                    finally:
                        response.close()
                answer = HttpAnswer.from_httpx(
                    response, content=content, authenticated=sends_credentials
                )
            except ResponseTooLarge:
                self.throttle.abandoned(probe)
                self.stats.failures += 1
                raise
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server: always safe to try again.
                self.throttle.abandoned(probe)
                self._retry_or_raise(
                    attempt, f"cannot connect to {_host_port(url)} ({_describe(exc)})", None
                )
                continue
            except (PastDeadline, httpx.TimeoutException) as exc:
                self.throttle.abandoned(probe)
                reason = f"no whole answer within limits.timeout ({policy.timeout:g} s)"
                if not isinstance(exc, PastDeadline):
                    reason += f" ({_describe(exc)})"
                self._unsure(what, idempotent, reason, exc)
                self._retry_or_raise(attempt, reason, None, code="DEADLINE")
                continue
            except (httpx.NetworkError, httpx.RemoteProtocolError, BrokenBody) as exc:
                self.throttle.abandoned(probe)
                self._unsure(what, idempotent, _describe(exc), exc)
                self._retry_or_raise(attempt, _describe(exc), None)
                continue
            except BaseException:
                # A streamed request body that raised (an upload cut at its limit, a source
                # download refused): not retried, the rate-limit probe handed on.
                self.throttle.abandoned(probe)
                raise
            log.debug("%s %s %s → %s", self.connection, method, _where(url), answer.status_code)
            verdict = self.classify(answer)
            asked = retry_after(answer)
            pause = self.throttle.answered(probe, verdict == RATE_LIMITED, asked)
            if verdict == OK and expect_json and answer.content and not answer.is_json():
                if idempotent:
                    self._retry_or_raise(
                        attempt, f"a cut or broken JSON answer ({answer.status_code})", None
                    )
                    continue
                self.stats.failures += 1
                raise ConnectorError(
                    f"{what}: the answer is not whole JSON; not retried "
                    "(the request may have been carried out)",
                    code="AMBIGUOUS",
                )
            if verdict == OK:
                return answer
            if (
                verdict == AUTH_EXPIRED
                and self.auth is not None
                and authenticated
                and not refreshed
            ):
                refreshed = True
                self.auth.refresh(token)
                self.stats.retries += 1
                continue
            if verdict == AUTH_EXPIRED:
                self.stats.failures += 1
                raise AuthError(
                    f"{self.connection}: the credentials were refused ({answer.status_code}) even after "
                    "a refresh; authorise again (`integrate auth`)",
                    code="NEEDS_REAUTH",
                )
            if verdict == RATE_LIMITED:
                if limited + pause > policy.rate_limit_patience:
                    self.stats.failures += 1
                    raise ConnectorError(
                        f"{self.connection}: still rate limited ({answer.status_code}) after "
                        f"waiting {limited:,.0f} s; limits.rate_limit_patience "
                        f"({policy.rate_limit_patience:g} s) is spent. Try later, or raise "
                        "the connection's limits.rate_limit_patience",
                        code="RATE_LIMITED",
                        retriable=True,
                    )
                log.info(
                    "%s: rate limited (%s); the connection waits %.2fs",
                    self.connection,
                    answer.status_code,
                    pause,
                )
                self.stats.retries += 1
                continue  # admit() waits the pause out, with every other call
            if verdict == RETRY and idempotent:
                self._retry_or_raise(attempt, f"server error {answer.status_code}", asked)
                continue
            if verdict == RETRY:
                # Not safe to resend, a 503 included (it may have been carried out): the
                # plugin reads what the server said (a create's outcome is then unknown).
                return answer
            self.stats.failures += 1
            raise ConnectorError(
                f"{what} failed with {answer.status_code}",
                code=str(answer.status_code),
            )

    def _unsure(self, what: str, idempotent: bool, reason: str, exc: BaseException) -> None:
        """A failure after the request may have been sent: a write that is not safe to
        send again has an unknown outcome (AMBIGUOUS)."""
        if idempotent:
            return
        self.stats.failures += 1
        raise ConnectorError(
            f"{what}: {reason} after the request was sent; not retried (it may have been "
            "carried out)",
            code="AMBIGUOUS",
            retriable=False,
        ) from exc

    # ---- budget, pacing, retries --------------------------------------------------------

    def _spend(self, kind: str, label: str) -> None:
        with self._count_lock:  # several writes of a connection may be in flight at once
            if self.max_calls is not None and self._calls >= self.max_calls:
                raise BudgetExhausted(
                    f"{self.connection}: the call budget of {self.max_calls} calls for this run is spent",
                    code="BUDGET",
                )
            self._calls += 1
            if kind == "write":
                self.stats.writes += 1
            elif kind == "auth":
                self.stats.auth += 1
            else:
                self.stats.reads += 1
            self.stats.kinds[f"{kind}:{label}" if label else kind] += 1
        if self.calls_per_minute:
            with self._bucket_lock:
                interval = 60.0 / self.calls_per_minute
                now = self.clock.now()
                wait = self._next_slot - now
                self._next_slot = max(now, self._next_slot) + interval
            if wait > 0:
                self._wait(wait)

    def _retry_or_raise(
        self, attempt: int, reason: str, asked: float | None, code: str = "RETRIES_EXHAUSTED"
    ) -> None:
        if attempt >= self.policy.max_attempts:
            self.stats.failures += 1
            raise ConnectorError(
                f"{self.connection}: gave up after {attempt} attempt{'s' * (attempt > 1)}: {reason}",
                code=code,
                retriable=True,
            )
        backoff = min(self.policy.backoff * 2 ** (attempt - 1), self.policy.backoff_max)
        backoff *= 1 + self._rng.uniform(-self.policy.jitter, self.policy.jitter)
        if asked is not None and asked > 0:
            # Exactly what the server asked for (capped): never less.
            backoff = min(asked, self.policy.retry_after_max)
        log.info("%s: %s; retry %d in %.2fs", self.connection, reason, attempt, backoff)
        self.stats.retries += 1
        self._wait(backoff)

    def _wait(self, seconds: float) -> None:
        self.stats.waited += seconds
        self.clock.sleep(seconds)


def _where(url: str) -> str:
    """Host and path of a URL: never its query string."""
    import httpx

    parsed = httpx.URL(url)
    return f"{parsed.host}{parsed.path}" if parsed.host else parsed.path


def _host_port(url: str) -> str:
    """`host:port` a URL connects to (the scheme's port when it names none)."""
    import httpx

    parsed = httpx.URL(url)
    port = parsed.port or {"https": 443, "http": 80}.get(parsed.scheme)
    return f"{parsed.host}:{port}" if port else parsed.host


def _describe(exc: Exception) -> str:
    return type(exc).__name__


def form(values: Mapping[str, Any]) -> dict[str, str]:
    """A form body with None left out and every value as text."""
    return {k: str(v) for k, v in values.items() if v is not None}
