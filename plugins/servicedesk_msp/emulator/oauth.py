"""Zoho's accounts server for SDP MSP Cloud (§1.3): one registered client with one refresh
token, access tokens that live an hour on the emulator's clock, at most 10 minted per
refresh token in 10 minutes, and every refusal answered with HTTP 200 and an `error` key.

Only the refresh grant is served (what a connector needs; the code grant belongs to
`integrate auth` against the real Zoho).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

LIFETIME = 3600
REFRESH_WINDOW = 600
REFRESH_LIMIT = 10
API_DOMAIN = "https://www.zohoapis.com"
THROTTLED = {
    "error": "Access Denied",
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "status": "failure",
}


class AccountsServer:
    def __init__(self, *, seed: int, now: Callable[[], float]):
        self._rng = random.Random(seed + 7)
        self.now = now
        self.client_id = "1000." + "".join(
            self._rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=30)
        )
        self.client_secret = self._hex(42)
        self.refresh_token = self._token()
        self.tokens: dict[str, float] = {}  # access token -> expiry (clock seconds)
        self.issued: list[float] = []  # when access tokens were minted (the 10/10-min rule)

    def _hex(self, n: int) -> str:
        return "".join(self._rng.choices("0123456789abcdef", k=n))

    def _token(self) -> str:
        return f"1000.{self._hex(32)}.{self._hex(32)}"

    def token(self, params: Mapping[str, str]) -> dict[str, Any]:
        """POST /oauth/v2/token with the refresh grant (parameters in the query or form)."""
        if params.get("grant_type") != "refresh_token":
            return {"error": "unsupported_grant_type"}
        if (
            params.get("client_id") != self.client_id
            or params.get("client_secret") != self.client_secret
        ):
            return {"error": "invalid_client"}
        if params.get("refresh_token") != self.refresh_token:
            return {"error": "invalid_code"}
        now = self.now()
        self.issued = [t for t in self.issued if t > now - REFRESH_WINDOW]
        if len(self.issued) >= REFRESH_LIMIT:
            return dict(THROTTLED)
        self.issued.append(now)
        access = self._token()
        self.tokens[access] = now + LIFETIME
        for old in [t for t, expiry in self.tokens.items() if expiry <= now]:
            del self.tokens[old]
        return {
            "access_token": access,
            "expires_in": LIFETIME,
            "api_domain": API_DOMAIN,
            "token_type": "Bearer",
        }

    def valid(self, header: str) -> bool:
        """Whether `Authorization: Zoho-oauthtoken <token>` holds a live token."""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "zoho-oauthtoken":
            return False
        expiry = self.tokens.get(token.strip())
        return expiry is not None and expiry > self.now()

    def expire_all(self) -> None:
        now = self.now()
        self.tokens = {t: min(expiry, now) for t, expiry in self.tokens.items()}

    # ---- keeping it between runs --------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "tokens": self.tokens,
            "issued": self.issued,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        self.client_id = str(state["client_id"])
        self.client_secret = str(state["client_secret"])
        self.refresh_token = str(state["refresh_token"])
        self.tokens = {str(t): float(e) for t, e in state["tokens"].items()}
        self.issued = [float(t) for t in state["issued"]]
