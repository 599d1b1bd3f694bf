"""OAuth 2.0 for connectors: the refresh-token grant (with the access token cached in the
state store and reused until it expires), the one-time authorisation-code grant behind
`integrate auth`, and token answers that report errors with HTTP 200."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from integrate.errors import AuthError, ConnectorError
from integrate.http import OK, RATE_LIMITED, RETRY, Clock, HttpClient, form
from integrate.secrets import REDACTOR, Secret, reveal

if TYPE_CHECKING:
    import httpx

# Token answers whose `error` means "slow down" rather than "these credentials are wrong".
THROTTLED = ("access denied", "too many requests", "slow_down")


class TokenCache(Protocol):
    """Where an access token waits between runs (the state store's tokens table)."""

    def load(self) -> dict[str, Any] | None: ...

    def save(self, data: dict[str, Any]) -> None: ...


class MemoryTokenCache:
    def __init__(self) -> None:
        self.data: dict[str, Any] | None = None

    def load(self) -> dict[str, Any] | None:
        return self.data

    def save(self, data: dict[str, Any]) -> None:
        self.data = dict(data)


def token_classifier(response: httpx.Response) -> str:
    """Token endpoints answer errors with HTTP 200 and an `error` body; a throttle is a
    reason to wait, anything else is for the caller to read."""
    if response.status_code == 429:
        return RATE_LIMITED
    if response.status_code >= 500:
        return RETRY
    try:
        body = response.json()
    except ValueError:
        return OK
    if isinstance(body, dict) and "access_token" not in body:
        error = str(body.get("error", "")).lower()
        if any(word in error for word in THROTTLED):
            return RATE_LIMITED
    return OK


class OAuth2:
    """Refresh-token credentials for one connection (implements the HTTP layer's Auth)."""

    def __init__(
        self,
        *,
        connection: str,
        token_url: str,
        client_id: str | Secret,
        client_secret: str | Secret,
        refresh_token: str | Secret | None,
        http: HttpClient,
        clock: Clock,
        cache: TokenCache | None = None,
        header_prefix: str = "Bearer",
        margin: float = 60.0,
        keep: tuple[str, ...] = (),
    ):
        self.connection = connection
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.http = http
        self.clock = clock
        self.cache = cache or MemoryTokenCache()
        self.header_prefix = header_prefix
        self.margin = margin
        self.keep = keep
        self._lock = threading.Lock()
        self._access: str | None = None
        self._expires = 0.0
        self.extra: dict[str, Any] = {}
        self.refreshes = 0
        self._load()

    def _load(self) -> None:
        data = self.cache.load()
        if not data or not data.get("access_token"):
            return
        self._access = str(data["access_token"])
        self._expires = float(data.get("expires_at") or 0)
        self.extra = dict(data.get("extra") or {})
        REDACTOR.register(self._access)

    # ---- Auth ---------------------------------------------------------------------------

    def token(self) -> str | None:
        return self._access

    def headers(self) -> dict[str, str]:
        if self._access is None or self.clock.now() >= self._expires - self.margin:
            self.refresh(self._access)
        assert self._access is not None
        return {"Authorization": f"{self.header_prefix} {self._access}"}

    def refresh(self, stale: str | None) -> None:
        """Get a new access token, unless another caller already did since `stale`."""
        with self._lock:
            if (
                self._access is not None
                and self._access != stale
                and self.clock.now() < self._expires - self.margin
            ):
                return
            if self.refresh_token is None or not reveal(self.refresh_token):
                raise AuthError(
                    f"{self.connection}: there is no refresh token; run `integrate auth {self.connection}`",
                    code="NEEDS_REAUTH",
                )
            body = self._grant(
                {
                    "grant_type": "refresh_token",
                    "client_id": reveal(self.client_id),
                    "client_secret": reveal(self.client_secret),
                    "refresh_token": reveal(self.refresh_token),
                }
            )
            self._accept(body)
            self.refreshes += 1

    # ---- grants ---------------------------------------------------------------------------

    def _grant(self, params: Mapping[str, Any]) -> dict[str, Any]:
        response = self.http.request(
            "POST",
            self.token_url,
            kind="auth",
            label="token",
            data=form(params),
            authenticated=False,
            idempotent=True,
        )
        try:
            body = response.json()
        except ValueError as exc:
            raise ConnectorError(
                f"{self.connection}: the token endpoint answered {response.status_code} without JSON",
                code="BAD_TOKEN_ANSWER",
            ) from exc
        if not isinstance(body, dict) or not body.get("access_token"):
            error = (
                body.get("error", f"HTTP {response.status_code}")
                if isinstance(body, dict)
                else "no JSON object"
            )
            raise AuthError(
                f"{self.connection}: the token endpoint refused: {error}; check the client id and secret, "
                f"the data centre, and authorise again if needed (`integrate auth {self.connection}`)",
                code="NEEDS_REAUTH",
            )
        return body

    def _accept(self, body: Mapping[str, Any]) -> None:
        access = str(body["access_token"])
        REDACTOR.register(access)
        expires_in = float(body.get("expires_in") or 3600)
        self._access = access
        self._expires = self.clock.now() + expires_in
        self.extra.update({k: body[k] for k in self.keep if body.get(k)})
        self.cache.save({"access_token": access, "expires_at": self._expires, "extra": self.extra})

    def exchange_code(self, code: str, redirect_uri: str | None = None) -> dict[str, Any]:
        """The authorisation-code grant: a one-time code for a refresh token (and a first
        access token). Returns the token answer; the refresh token is registered as secret."""
        body = self._grant(
            {
                "grant_type": "authorization_code",
                "client_id": reveal(self.client_id),
                "client_secret": reveal(self.client_secret),
                "redirect_uri": redirect_uri,
                "code": code,
            }
        )
        if body.get("refresh_token"):
            REDACTOR.register(str(body["refresh_token"]))
            self.refresh_token = Secret(str(body["refresh_token"]), "refresh token")
        self._accept(body)
        return body


def consent_url(
    auth_url: str, *, client_id: str, scope: str, redirect_uri: str, state: str, **extra: str
) -> str:
    """The URL an operator opens once to grant access (authorisation-code grant)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "scope": scope,
        "redirect_uri": redirect_uri,
        "state": state,
        **extra,
    }
    return f"{auth_url}?{urllib.parse.urlencode(params)}"
