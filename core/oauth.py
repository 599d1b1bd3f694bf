"""OAuth 2.0 for connectors: the refresh-token grant (with the access token cached in the
state store and reused until it expires), the one-time authorisation-code grant behind
`integrate auth`, and token answers that report errors with HTTP 200."""

from __future__ import annotations

import hashlib
import threading
import urllib.parse
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from integrate.errors import AuthError, ConnectorError
from integrate.http import OK, RATE_LIMITED, RETRY, Clock, HttpAnswer, HttpClient, form
from integrate.secrets import REDACTOR, Secret, reveal

# Token answers whose `error` means "slow down" rather than "these credentials are wrong".
THROTTLED = ("access denied", "too many requests", "slow_down")


class TokenCache(Protocol):
    """Where access tokens wait between runs (the state file), keyed by a digest of the
    credential they were minted for. `lock(key)` is held around a refresh: the cache is read
    again inside it, so concurrent holders of one credential refresh once."""

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, data: dict[str, Any]) -> None: ...

    def lock(self, key: str) -> AbstractContextManager[Any]: ...


class MemoryTokenCache:
    """A TokenCache for one process (tests, commands that keep nothing)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def save(self, key: str, data: dict[str, Any]) -> None:
        self.data[key] = dict(data)

    def lock(self, key: str) -> AbstractContextManager[Any]:
        return self._lock


def credential_key(token_url: str, client_id: str | Secret, refresh_token: str | Secret) -> str:
    """The name an access token is cached under: a digest of the token URL, the client id
    and the refresh token (never the secret itself)."""
    text = "\n".join((token_url, str(reveal(client_id)), str(reveal(refresh_token))))
    return "oauth2:" + hashlib.sha256(text.encode()).hexdigest()


def token_classifier(response: HttpAnswer) -> str:
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

    def _key(self) -> str | None:
        if self.refresh_token is None or not reveal(self.refresh_token):
            return None
        return credential_key(self.token_url, self.client_id, self.refresh_token)

    def _load(self) -> None:
        key = self._key()
        data = self.cache.load(key) if key is not None else None
        if data and data.get("access_token"):
            self._adopt(data)

    def _adopt(self, data: Mapping[str, Any]) -> None:
        self._access = str(data["access_token"])
        self._expires = float(data.get("expires_at") or 0)
        self.extra = dict(data.get("extra") or {})
        REDACTOR.register(self._access)

    def _fresh(self, expires: float) -> bool:
        return self.clock.now() < expires - self.margin

    # ---- Auth ---------------------------------------------------------------------------

    def token(self) -> str | None:
        return self._access

    def headers(self) -> dict[str, str]:
        if self._access is None or not self._fresh(self._expires):
            self.refresh(self._access)
        assert self._access is not None
        return {"Authorization": f"{self.header_prefix} {self._access}"}

    def refresh(self, stale: str | None) -> None:
        """Get a new access token, unless another caller (a thread here, or another process
        sharing the state file) already did since `stale` was handed out."""
        with self._lock:
            if self._access is not None and self._access != stale and self._fresh(self._expires):
                return
            key = self._key()
            if key is None:
                raise AuthError(
                    f"{self.connection}: there is no refresh token; run `integrate auth {self.connection}`",
                    code="NEEDS_REAUTH",
                )
            with self.cache.lock(key):
                cached = self.cache.load(key)
                if (
                    cached
                    and cached.get("access_token")
                    and cached["access_token"] != stale
                    and self._fresh(float(cached.get("expires_at") or 0))
                ):
                    self._adopt(cached)
                    return
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
        key = self._key()
        if key is not None:
            data = {"access_token": access, "expires_at": self._expires, "extra": self.extra}
            self.cache.save(key, data)

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
