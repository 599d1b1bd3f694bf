"""Calls to ClientSuccess's v1 API (targets.md §3.2, §3.6): a login (`POST /auth`, the
username and password form-encoded) gives a token sent raw in `Authorization`; errors carry
`userMessage`.

A 401, or an answer whose userMessage says `invalidToken`, makes the shared HTTP layer log in
again once (single flight) and resend the call; 429 is waited out for the whole connection;
500/502/503/504 are retried when the call is safe to resend. A write refused for lack of admin
rights (`no_admin_status`, 403 by default: ASSUMED) raises AuthError with what to do (CS-8),
and every later write of the connection raises it again without a call. Any other refusal
raises `Refused`, which writes turn into the record's failure and reads into a stopped run.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from integrate import (
    AUTH_EXPIRED,
    OK,
    RATE_LIMITED,
    RETRY,
    AuthError,
    ConnectorError,
    RetryPolicy,
    Secret,
)
from integrate_clientsuccess.settings import Settings

if TYPE_CHECKING:
    from integrate import ConnectorContext, HttpAnswer

HEADERS = {"Accept": "application/json"}
MARGIN = 60.0  # seconds before a token's end that a new one is fetched (a tenth of a short one)


class Refused(ConnectorError):
    """ClientSuccess refused one call: its HTTP status and userMessage."""

    def __init__(self, message: str, *, status: int, user_message: str):
        super().__init__(message, code=str(status))
        self.status = status
        self.user_message = user_message


def mentions(text: str, words: tuple[str, ...]) -> bool:
    folded = text.casefold()
    return any(w.casefold() in folded for w in words)


class Login:
    """The HTTP layer's `Auth`: a token from `POST /auth`, kept until shortly before it
    expires and fetched again, single flight, when the server refuses it."""

    def __init__(self, api: ClientSuccessApi):
        self.api = api
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._expires = 0.0
        self._lifetime = api.settings.token_lifetime
        self._margin = MARGIN
        self.logins = 0

    def token(self) -> str | None:
        return self._token.reveal() if self._token is not None else None

    def headers(self) -> dict[str, str]:
        if self._token is None:
            self._kept()
        if self._token is None or self.api.context.clock.now() >= self._expires - self._margin:
            self.refresh(self.token())
        assert self._token is not None
        return {"Authorization": self._token.reveal()}

    def refresh(self, stale: str | None) -> None:
        with self._lock:
            current = self.token()
            fresh = self.api.context.clock.now() < self._expires - self._margin
            if current is not None and current != stale and fresh:
                return  # another thread logged in meanwhile
            self._login()
            self._keep()

    @property
    def _key(self) -> str:
        """The name the token is kept under in the state: a digest of the address and the
        credentials, never the credentials themselves."""
        settings = self.api.settings
        text = f"{settings.base_url}\n{settings.username}\n{settings.password.reveal()}"
        return "clientsuccess:" + hashlib.sha256(text.encode()).hexdigest()

    def _kept(self) -> None:
        """The token a run (or `serve`'s look) before this one kept, while it lasts: a token
        lives 12 hours, so runs and looks share one login instead of making one each."""
        cache = self.api.context.tokens
        data = cache.load(self._key) if cache is not None else None
        if not data or not data.get("access_token"):
            return
        expires = float(data.get("expires_at") or 0)
        lifetime = float(data.get("lifetime") or self.api.settings.token_lifetime)
        margin = min(MARGIN, lifetime / 10)
        if self.api.context.clock.now() < expires - margin:
            self._token = Secret(str(data["access_token"]), "clientsuccess token")
            self._expires, self._lifetime, self._margin = expires, lifetime, margin

    def _keep(self) -> None:
        cache = self.api.context.tokens
        if cache is None or self._token is None:
            return
        token = self._token.reveal()
        cache.save(
            self._key,
            {"access_token": token, "expires_at": self._expires, "lifetime": self._lifetime},
        )

    def _login(self) -> None:
        api = self.api
        settings = api.settings
        answer = api.http.request(
            "POST",
            f"{settings.base_url}/auth",
            kind="auth",
            label="auth",
            authenticated=False,
            idempotent=True,
            data={"username": settings.username, "password": settings.password.reveal()},
        )
        body: Any = None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise AuthError(
                f"{api.context.connection}: ClientSuccess did not log in {settings.username} at "
                f"{settings.base_url}/auth ({answer.status_code}: "
                f"{answer.message('userMessage') or 'no message'}). Check the username and "
                "password settings",
                code="LOGIN_REFUSED",
            )
        self._token = Secret(str(body["access_token"]), "clientsuccess token")
        lifetime = body.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
            else settings.token_lifetime
        )
        self._expires = api.context.clock.now() + seconds
        self._lifetime = seconds
        self._margin = min(MARGIN, seconds / 10)
        self.logins += 1


class ClientSuccessApi:
    """One connection's way to ClientSuccess: the login, the HTTP layer, the refusals."""

    def __init__(self, settings: Settings, context: ConnectorContext):
        self.settings = settings
        self.context = context
        self.http = context.http(
            classify=self.classify,
            policy=RetryPolicy(max_attempts=6, backoff=1.0, backoff_max=60.0),
            concurrency=settings.concurrency,
            calls_per_minute=settings.requests_per_second * 60,
            headers=HEADERS,
        )
        self.login = Login(self)
        self.http.auth = self.login
        self.no_admin: str | None = None  # the CS-8 message, once a write was refused so

    # ---- the HTTP layer's view ------------------------------------------------------------

    def classify(self, answer: HttpAnswer) -> str:
        """429 waits; 5xx is retried; a refused token (401, or `invalidToken` in the body of
        a call that carried one) logs in again once; the rest goes to the caller."""
        status = answer.status_code
        if status == 429:
            return RATE_LIMITED
        if status in (500, 502, 503, 504):
            return RETRY
        if not answer.authenticated:
            return OK  # the login itself: the caller says what was refused
        if status == 401:
            return AUTH_EXPIRED
        invalid = self.settings.invalid_token_messages
        if status >= 400 and mentions(answer.message("userMessage"), invalid):
            return AUTH_EXPIRED
        return OK

    # ---- calls ------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        label: str,
        what: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        text: bool = False,
    ) -> Any:
        """Send one call to `{base_url}{path}`; its JSON body (its text with `text`). A refusal
        raises Refused (AuthError for a user without admin rights, CS-8)."""
        connection = self.context.connection
        writes = method != "GET"
        if writes and self.no_admin is not None:
            raise AuthError(self.no_admin, code="NO_ADMIN_RIGHTS")
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = dict(params)
        if json is not None:
            kwargs["json"] = json
        try:
            answer = self.http.request(
                method,
                f"{self.settings.base_url}{path}",
                kind=kind,
                label=label,
                expect_json=not text,
                **kwargs,
            )
        except AuthError as exc:
            if exc.code != "NEEDS_REAUTH":
                raise
            raise AuthError(
                f"{connection}: {what}: ClientSuccess refused the token of a fresh login as "
                f"{self.settings.username}; check that the user is active and allowed the API",
                code="TOKEN_REFUSED",
            ) from exc
        status = answer.status_code
        if status >= 400:
            message = answer.message("userMessage") or "no message"
            if status == self.settings.no_admin_status and (
                not self.settings.no_admin_messages
                or mentions(message, self.settings.no_admin_messages)
            ):
                self.no_admin = (
                    f"{connection}: ClientSuccess refused {what} to {self.settings.username} "
                    f"({status}: {message}): that user lacks admin rights. Connect with an "
                    "admin user (ClientSuccess recommends a dedicated admin 'API access' user), "
                    "or give this one admin rights (CS-8)"
                )
                raise AuthError(self.no_admin, code="NO_ADMIN_RIGHTS")
            raise Refused(
                f"{connection}: {what}: ClientSuccess answered {status}: {message}",
                status=status,
                user_message=message,
            )
        if text:
            return answer.text
        if not answer.content:
            return None
        try:
            return answer.json()
        except ValueError as exc:
            raise ConnectorError(
                f"{connection}: {what}: ClientSuccess answered {status} with a body that is "
                "not JSON",
                code="NO_JSON",
            ) from exc

    def close(self) -> None:
        self.http.close()
