"""Zoho's accounts server (§1): one registered client, refresh tokens, access tokens bound
to their data centre, one-time grant codes, and Zoho's habit of answering token errors
with HTTP 200 and an `error` key."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from integrate_zoho_crm.emulator.errors import INVALID_TOKEN, SCOPE_MISMATCH, Reply, ZohoError

# data centre -> (accounts host, API host, `location` in the consent redirect) (§1.1)
DATA_CENTRES = {
    "com": ("accounts.zoho.com", "www.zohoapis.com", "us"),
    "eu": ("accounts.zoho.eu", "www.zohoapis.eu", "eu"),
    "in": ("accounts.zoho.in", "www.zohoapis.in", "in"),
    "com.au": ("accounts.zoho.com.au", "www.zohoapis.com.au", "au"),
    "jp": ("accounts.zoho.jp", "www.zohoapis.jp", "jp"),
    "com.cn": ("accounts.zoho.com.cn", "www.zohoapis.com.cn", "cn"),
    "ca": ("accounts.zohocloud.ca", "www.zohoapis.ca", "ca"),
    "sa": ("accounts.zoho.sa", "www.zohoapis.sa", "sa"),
    "uk": ("accounts.zoho.uk", "www.zohoapis.uk", "uk"),
}
ALIASES = {"us": "com", "au": "com.au", "cn": "com.cn"}
GRANT_CODE_SECONDS = 180
REFRESH_WINDOW = 600  # at most `refresh_limit` access tokens per refresh token in 10 minutes
LIVE_TOKENS = 15  # the 16th live access token of a refresh token ends the oldest (§1.5)
GRANTS_PER_USER = 20  # the 21st refresh token of a user and client deletes the oldest
ALL_SCOPES = (
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.coql.READ",
    "ZohoCRM.notifications.ALL",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.bulk.read",
)
THROTTLED = {
    "error": "Access Denied",
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "status": "failure",
}


def data_centre(name: str) -> str:
    dc = ALIASES.get(name.lower(), name.lower())
    if dc not in DATA_CENTRES:
        raise ValueError(f"unknown Zoho data centre {name!r} (one of {', '.join(DATA_CENTRES)})")
    return dc


@dataclass
class Grant:
    """A refresh token."""

    token: str
    dc: str
    scopes: tuple[str, ...]
    user_id: str
    issued: deque[float] = field(default_factory=deque)  # access tokens minted, when
    live: deque[str] = field(default_factory=deque)
    revoked: bool = False


@dataclass
class Access:
    token: str
    dc: str
    scopes: tuple[str, ...]
    user_id: str
    expires: float
    grant: str = ""
    revoked: bool = False


@dataclass
class Code:
    dc: str
    scopes: tuple[str, ...]
    expires: float
    offline: bool = True
    used: bool = False


def split_scopes(text: str) -> tuple[str, ...]:
    return tuple(s for s in text.replace(",", " ").split() if s)


def allows(scopes: tuple[str, ...], area: str, item: str = "", write: bool = False) -> bool:
    """Whether a token's scopes cover an API area: `modules` (item: module), `settings`,
    `users` or `notifications` (§1.7). Scope names are compared case-insensitively."""
    have = {s.lower() for s in scopes}
    ops = ("all", "create", "write", "update", "delete") if write else ("all", "read")
    prefix = f"zohocrm.{area}"
    if any(f"{prefix}.{op}" in have for op in ops):
        return True
    return bool(item) and any(f"{prefix}.{item.lower()}.{op}" in have for op in ops)


class AccountsServer:
    def __init__(
        self,
        *,
        seed: int,
        now: Callable[[], float],
        dc: str,
        user_id: str,
        token_lifetime: int,
        refresh_limit: int,
    ):
        self._rng = random.Random(seed + 7)
        self.now = now
        self.dc = dc
        self.user_id = user_id
        self.lifetime = token_lifetime
        self.refresh_limit = refresh_limit
        self.client_id = "1000." + "".join(
            self._rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=30)
        )
        self.client_secret = self._hex(42)
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Access] = {}
        self.codes: dict[str, Code] = {}
        self.refresh_token = self._grant(dc, ALL_SCOPES).token
        self.api_domain: str | None = None  # the served base URL, once served
        self.accounts_url: str | None = None

    def _hex(self, n: int) -> str:
        return "".join(self._rng.choices("0123456789abcdef", k=n))

    def _token(self) -> str:
        return f"1000.{self._hex(32)}.{self._hex(32)}"

    def _grant(self, dc: str, scopes: tuple[str, ...]) -> Grant:
        grant = Grant(self._token(), dc, scopes, self.user_id)
        mine = [g for g in self.grants.values() if g.user_id == grant.user_id and not g.revoked]
        if len(mine) >= GRANTS_PER_USER:
            self._revoke_grant(mine[0])
        self.grants[grant.token] = grant
        return grant

    def _revoke_grant(self, grant: Grant) -> None:
        grant.revoked = True
        for token in grant.live:
            self.tokens[token].revoked = True

    def _mint(self, grant: Grant) -> Access:
        now = self.now()
        access = Access(
            self._token(), grant.dc, grant.scopes, grant.user_id, now + self.lifetime, grant.token
        )
        self.tokens[access.token] = access
        grant.issued.append(now)
        grant.live.append(access.token)
        while len(grant.live) > LIVE_TOKENS:
            self.tokens[grant.live.popleft()].revoked = True
        return access

    def _throttled(self, grant: Grant) -> bool:
        now = self.now()
        while grant.issued and grant.issued[0] <= now - REFRESH_WINDOW:
            grant.issued.popleft()
        return len(grant.issued) >= self.refresh_limit

    def api_domain_for(self, dc: str) -> str:
        return self.api_domain or f"https://{DATA_CENTRES[dc][1]}"

    def accounts_url_for(self, dc: str) -> str:
        return self.accounts_url or f"https://{DATA_CENTRES[dc][0]}"

    # ---- endpoints ----------------------------------------------------------------------

    def token(self, params: Mapping[str, str], dc: str) -> Reply:
        """POST /oauth/v2/token; every refusal is HTTP 200 with an `error` key (§1.3)."""
        grant_type = params.get("grant_type", "")
        if grant_type not in ("refresh_token", "authorization_code"):
            return Reply(200, {"error": "unsupported_grant_type"})
        if (
            params.get("client_id") != self.client_id
            or params.get("client_secret") != self.client_secret
            or dc != self.dc
        ):
            return Reply(200, {"error": "invalid_client"})
        if grant_type == "refresh_token":
            grant = self.grants.get(params.get("refresh_token", ""))
            if grant is None or grant.revoked or grant.dc != dc:
                return Reply(200, {"error": "invalid_code"})
            if self._throttled(grant):
                return Reply(200, dict(THROTTLED))
            return Reply(200, self._answer(self._mint(grant), dc))
        code = self.codes.get(params.get("code", ""))
        if code is None or code.used or code.expires <= self.now() or code.dc != dc:
            return Reply(200, {"error": "invalid_code"})
        code.used = True
        grant = self._grant(dc, code.scopes)
        body = self._answer(self._mint(grant), dc)
        if code.offline:
            body = {"access_token": body["access_token"], "refresh_token": grant.token, **body}
        else:
            grant.revoked = True  # an online grant gives no refresh token to use later
        return Reply(200, body)

    def _answer(self, access: Access, dc: str) -> dict[str, object]:
        return {
            "access_token": access.token,
            "scope": " ".join(access.scopes),
            "api_domain": self.api_domain_for(dc),
            "token_type": "Bearer",
            "expires_in": self.lifetime,
        }

    def revoke(self, params: Mapping[str, str]) -> Reply:
        """POST /oauth/v2/token/revoke?token=: a refresh token (and its access tokens) or
        one access token. Unknown tokens are answered the same way (ASSUMED)."""
        token = params.get("token", "")
        if token in self.grants:
            self._revoke_grant(self.grants[token])
        elif token in self.tokens:
            self.tokens[token].revoked = True
        return Reply(200, {"status": "success"})

    def consent(self, params: Mapping[str, str], dc: str) -> Reply:
        """GET /oauth/v2/auth: the user approves at once; back to redirect_uri with a code."""
        redirect = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or dc != self.dc or not redirect:
            return Reply(400, raw=b"Invalid Client", content_type="text/html;charset=UTF-8")
        query: dict[str, str] = {}
        if params.get("response_type", "code") != "code":
            query["error"] = "unsupported_response_type"
        else:
            offline = params.get("access_type", "online").lower() == "offline"
            query["code"] = self.grant_code(params.get("scope", ""), dc, offline=offline)
            query["location"] = DATA_CENTRES[dc][2]
            query["accounts-server"] = self.accounts_url_for(dc)
        if "state" in params:
            query["state"] = params["state"]
        glue = "&" if "?" in redirect else "?"
        return Reply(302, headers={"Location": f"{redirect}{glue}{urlencode(query)}"})

    def grant_code(self, scope: str, dc: str, *, offline: bool = True) -> str:
        code = self._token()
        self.codes[code] = Code(dc, split_scopes(scope), self.now() + GRANT_CODE_SECONDS, offline)
        return code

    # ---- the API's side ---------------------------------------------------------------

    def authenticate(self, header: str, dc: str, production: bool = True) -> Access:
        """The access token of an API call, or 401 INVALID_TOKEN (§1.4)."""
        scheme, _, token = header.strip().partition(" ")
        access = None
        if scheme.lower() in ("zoho-oauthtoken", "bearer"):
            access = self.tokens.get(token.strip())
        if (
            access is None
            or access.revoked
            or access.expires <= self.now()
            or access.dc != dc
            or not production
        ):
            raise ZohoError(401, "INVALID_TOKEN", INVALID_TOKEN)
        return access

    def expire_all(self) -> None:
        now = self.now()
        for access in self.tokens.values():
            access.expires = min(access.expires, now)


def require_scope(access: Access, area: str, item: str = "", write: bool = False) -> None:
    if not allows(access.scopes, area, item, write):
        raise ZohoError(401, "OAUTH_SCOPE_MISMATCH", SCOPE_MISMATCH)
