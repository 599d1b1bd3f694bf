"""`AuthorisationServer`: an OAuth 2 authorisation server in process, for emulators of vendors
whose API takes bearer tokens. One registered client with a refresh token; access tokens
minted from refresh tokens and one-time codes (consent or a console's "generate code"),
revocation, and the vendor's quirks as `AuthorisationSettings`: token lifetimes, a refresh
throttle, caps on live tokens and refresh tokens, the status refusals come with, data centres
whose tokens work only at home. `ZOHO_ACCOUNTS` (in `integrate.emulation.zoho`) is Zoho's."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from integrate.emulation.replies import Reply

HTML = "text/html;charset=UTF-8"
GRANTS = ("refresh_token", "authorization_code")


@dataclass(frozen=True)
class DataCentre:
    """One of a vendor's data centres: the host of its accounts (authorisation) server, the
    host of its API, and the `location` its consent redirect names."""

    accounts: str
    api: str
    location: str = ""


@dataclass(frozen=True)
class AuthorisationSettings:
    """A vendor's authorisation server, quirks included. Zero means no limit."""

    token_lifetime: int = 3600  # seconds an access token works (`expires_in`)
    refresh_limit: int = 0  # access tokens one refresh token may mint per `refresh_window`
    refresh_window: float = 600.0  # seconds
    live_tokens: int = 0  # live access tokens per refresh token; the next ends the oldest
    grants_per_user: int = 0  # refresh tokens per user; the next one deletes the oldest
    code_lifetime: float = 180.0  # seconds a one-time authorisation code works
    # The status of every token-endpoint refusal (RFC 6749 §5.2 says 400; Zoho answers 200).
    refusal_status: int = 400
    # The body of the refresh throttle's refusal.
    throttled: Mapping[str, str] = field(default_factory=lambda: {"error": "slow_down"})
    prefix: str = ""  # what client ids and tokens start with ("1000." at Zoho)
    # Data centres by name (the first is the default), and other names for them. Tokens
    # work only in the data centre that issued them; token answers name `api_domain`.
    data_centres: Mapping[str, DataCentre] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def data_centre(self, name: str) -> str:
        """A data centre's own name, from it or an alias; ValueError naming them all."""
        if not self.data_centres:
            return ""
        found = self.aliases.get(name.lower(), name.lower())
        if found not in self.data_centres:
            known = ", ".join(self.data_centres)
            raise ValueError(f"unknown data centre {name!r} (one of {known})")
        return found


@dataclass
class Grant:
    """A refresh token, and the access tokens it minted (when; which are live)."""

    token: str
    dc: str
    scopes: tuple[str, ...]
    user_id: str
    issued: deque[float] = field(default_factory=deque)
    live: deque[str] = field(default_factory=deque)
    revoked: bool = False


@dataclass
class AccessToken:
    """An access token: where it works, for whom, what it may do, until when."""

    token: str
    dc: str
    scopes: tuple[str, ...]
    user_id: str
    expires: float
    grant: str = ""
    revoked: bool = False


@dataclass
class Code:
    """A one-time authorisation code; `offline` codes give a refresh token."""

    dc: str
    scopes: tuple[str, ...]
    expires: float
    offline: bool = True
    used: bool = False


def split_scopes(text: str) -> tuple[str, ...]:
    return tuple(s for s in text.replace(",", " ").split() if s)


class AuthorisationServer:
    """The token endpoint, revocation, consent and bearer-token checks of one vendor. The
    emulator routes its accounts paths here and answers the `Reply`s; its API handlers call
    `authenticate`. `now` is the emulator's clock; `dc` the data centre it lives in."""

    def __init__(
        self,
        settings: AuthorisationSettings,
        *,
        seed: int,
        now: Callable[[], float],
        dc: str = "",
        user_id: str = "",
        scopes: tuple[str, ...] = (),
    ):
        self.settings = settings
        self._rng = random.Random(seed + 7)
        self.now = now
        self.dc = settings.data_centre(dc) if dc else next(iter(settings.data_centres), "")
        self.user_id = user_id
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        self.client_id = settings.prefix + "".join(self._rng.choices(alphabet, k=30))
        self.client_secret = self._hex(42)
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.codes: dict[str, Code] = {}
        self.refresh_token = self._grant(self.dc, scopes).token
        self.api_domain: str | None = None  # the served base URL, once served
        self.accounts_url: str | None = None

    # ---- minting ------------------------------------------------------------------------

    def _hex(self, n: int) -> str:
        return "".join(self._rng.choices("0123456789abcdef", k=n))

    def _token(self) -> str:
        return f"{self.settings.prefix}{self._hex(32)}.{self._hex(32)}"

    def _grant(self, dc: str, scopes: tuple[str, ...]) -> Grant:
        grant = Grant(self._token(), dc, scopes, self.user_id)
        most = self.settings.grants_per_user
        mine = [g for g in self.grants.values() if g.user_id == grant.user_id and not g.revoked]
        if most and len(mine) >= most:
            self._revoke_grant(mine[0])
        self.grants[grant.token] = grant
        return grant

    def _revoke_grant(self, grant: Grant) -> None:
        grant.revoked = True
        for token in grant.live:
            access = self.tokens.get(token)
            if access is not None:
                access.revoked = True

    def _mint(self, grant: Grant) -> AccessToken:
        now = self.now()
        for gone in [t for t, a in self.tokens.items() if a.expires <= now]:
            del self.tokens[gone]  # expired: answered like an unknown token from now on
        access = AccessToken(
            self._token(),
            grant.dc,
            grant.scopes,
            grant.user_id,
            now + self.settings.token_lifetime,
            grant.token,
        )
        self.tokens[access.token] = access
        grant.issued.append(now)
        grant.live.append(access.token)
        most = self.settings.live_tokens
        while most and len(grant.live) > most:
            self.tokens.pop(grant.live.popleft(), None)  # the oldest ends
        return access

    def _throttled(self, grant: Grant) -> bool:
        limit = self.settings.refresh_limit
        now = self.now()
        while grant.issued and grant.issued[0] <= now - self.settings.refresh_window:
            grant.issued.popleft()
        return bool(limit) and len(grant.issued) >= limit

    def api_domain_for(self, dc: str) -> str:
        """The API's base URL a token answer names: the served one, else the data centre's."""
        if self.api_domain:
            return self.api_domain
        centre = self.settings.data_centres.get(dc)
        return f"https://{centre.api}" if centre else ""

    def accounts_url_for(self, dc: str) -> str:
        if self.accounts_url:
            return self.accounts_url
        centre = self.settings.data_centres.get(dc)
        return f"https://{centre.accounts}" if centre else ""

    # ---- endpoints ----------------------------------------------------------------------

    def _refused(self, error: str) -> Reply:
        return Reply(self.settings.refusal_status, {"error": error})

    def throttled(self) -> Reply:
        """The refresh throttle's refusal (also the vendor's answer to a rate-limited call
        to the accounts server)."""
        return Reply(self.settings.refusal_status, dict(self.settings.throttled))

    def token(
        self, params: Mapping[str, str], dc: str | None = None, *, grants: tuple[str, ...] = GRANTS
    ) -> Reply:
        """POST …/token: the `grants` the emulator serves of the refresh and authorisation-
        code grants (parameters from the query or the form alike), at the accounts server of
        data centre `dc` (None: home)."""
        dc = self.dc if dc is None else dc
        grant_type = params.get("grant_type", "")
        if grant_type not in grants or grant_type not in GRANTS:
            return self._refused("unsupported_grant_type")
        if (
            params.get("client_id") != self.client_id
            or params.get("client_secret") != self.client_secret
            or dc != self.dc
        ):
            return self._refused("invalid_client")
        if grant_type == "refresh_token":
            grant = self.grants.get(params.get("refresh_token", ""))
            if grant is None or grant.revoked or grant.dc != dc:
                return self._refused("invalid_code")
            if self._throttled(grant):
                return self.throttled()
            return Reply(200, self._answer(self._mint(grant), dc))
        code = self.codes.get(params.get("code", ""))
        if code is None or code.used or code.expires <= self.now() or code.dc != dc:
            return self._refused("invalid_code")
        code.used = True
        grant = self._grant(dc, code.scopes)
        body = self._answer(self._mint(grant), dc)
        if code.offline:
            body = {"access_token": body["access_token"], "refresh_token": grant.token, **body}
        else:
            grant.revoked = True  # an online grant gives no refresh token to use later
        return Reply(200, body)

    def _answer(self, access: AccessToken, dc: str) -> dict[str, object]:
        body: dict[str, object] = {"access_token": access.token}
        if access.scopes:
            body["scope"] = " ".join(access.scopes)
        if self.settings.data_centres:
            body["api_domain"] = self.api_domain_for(dc)
        body["token_type"] = "Bearer"
        body["expires_in"] = self.settings.token_lifetime
        return body

    def revoke(self, params: Mapping[str, str]) -> Reply:
        """POST …/revoke?token=: a refresh token (and its access tokens) or one access token.
        Unknown tokens are answered the same way."""
        token = params.get("token", "")
        if token in self.grants:
            self._revoke_grant(self.grants[token])
        elif token in self.tokens:
            self.tokens[token].revoked = True
        return Reply(200, {"status": "success"})

    def consent(self, params: Mapping[str, str], dc: str | None = None) -> Reply:
        """GET …/auth: the user approves at once; back to `redirect_uri` with a code (and,
        with data centres, the `location` and `accounts-server` to exchange it at)."""
        dc = self.dc if dc is None else dc
        redirect = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or dc != self.dc or not redirect:
            return Reply(400, raw=b"Invalid Client", content_type=HTML)
        query: dict[str, str] = {}
        if params.get("response_type", "code") != "code":
            query["error"] = "unsupported_response_type"
        else:
            offline = params.get("access_type", "online").lower() == "offline"
            query["code"] = self.grant_code(params.get("scope", ""), dc, offline=offline)
            centre = self.settings.data_centres.get(dc)
            if centre is not None:
                query["location"] = centre.location
                query["accounts-server"] = self.accounts_url_for(dc)
        if "state" in params:
            query["state"] = params["state"]
        glue = "&" if "?" in redirect else "?"
        return Reply(302, headers={"Location": f"{redirect}{glue}{urlencode(query)}"})

    def grant_code(self, scope: str, dc: str | None = None, *, offline: bool = True) -> str:
        """A one-time authorisation code for `scope`, as a console's "generate code" gives."""
        code = self._token()
        expires = self.now() + self.settings.code_lifetime
        self.codes[code] = Code(
            self.dc if dc is None else dc, split_scopes(scope), expires, offline
        )
        return code

    # ---- the API's side -----------------------------------------------------------------

    def authenticate(
        self, header: str, dc: str | None = None, *, schemes: tuple[str, ...] = ("bearer",)
    ) -> AccessToken | None:
        """The live access token an `Authorization` header carries for the API of data
        centre `dc` (None: home), with one of `schemes` (lower case); None if there is none."""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() not in schemes:
            return None
        access = self.tokens.get(token.strip())
        if (
            access is None
            or access.revoked
            or access.expires <= self.now()
            or access.dc != (self.dc if dc is None else dc)
        ):
            return None
        return access

    def expire_all(self) -> None:
        """Every access token issued so far stops working now."""
        now = self.now()
        for access in self.tokens.values():
            access.expires = min(access.expires, now)

    # ---- save and restore ---------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        version, internal, gauss = self._rng.getstate()
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "grants": [
                asdict(g) | {"issued": list(g.issued), "live": list(g.live)}
                for g in self.grants.values()
            ],
            "tokens": [asdict(t) for t in self.tokens.values()],
            "codes": {code: asdict(c) for code, c in self.codes.items()},
            # where the token generator stands: a restored server mints no token again
            "random": [version, list(internal), gauss],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.client_id = str(state["client_id"])
        self.client_secret = str(state["client_secret"])
        self.refresh_token = str(state["refresh_token"])
        self.grants = {}
        for saved in state["grants"]:
            grant = Grant(
                **(
                    saved
                    | {
                        "scopes": tuple(saved["scopes"]),
                        "issued": deque(saved["issued"]),
                        "live": deque(saved["live"]),
                    }
                )
            )
            self.grants[grant.token] = grant
        self.tokens = {
            t["token"]: AccessToken(**(t | {"scopes": tuple(t["scopes"])})) for t in state["tokens"]
        }
        self.codes = {
            code: Code(**(c | {"scopes": tuple(c["scopes"])})) for code, c in state["codes"].items()
        }
        version, internal, gauss = state["random"]
        self._rng.setstate((version, tuple(internal), gauss))
