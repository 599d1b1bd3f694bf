"""Zoho CRM's side of Zoho's accounts server (§1): the kit's authorisation server with Zoho's
settings (`ZOHO_ACCOUNTS`: data centres, token lifetimes, the refresh throttle, HTTP 200
refusals), the scopes a self client of this emulator holds, and CRM's scope check (§1.7)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from integrate import ZOHO_ACCOUNTS, ZOHO_DATA_CENTRES, AccessToken, AuthorisationServer
from integrate_zoho_crm.emulator.errors import INVALID_TOKEN, SCOPE_MISMATCH, ZohoError

DATA_CENTRES = ZOHO_DATA_CENTRES
ALL_SCOPES = (
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.coql.READ",
    "ZohoCRM.notifications.ALL",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.bulk.read",
)
SCHEMES = ("zoho-oauthtoken", "bearer")  # §1.4: the Singer tap's `Bearer` works too


def data_centre(name: str) -> str:
    """A Zoho data centre's own name, from it or an alias (`us`, `au`, `cn`)."""
    try:
        return ZOHO_ACCOUNTS.data_centre(name)
    except ValueError:
        known = ", ".join(ZOHO_DATA_CENTRES)
        raise ValueError(f"unknown Zoho data centre {name!r} (one of {known})") from None


def accounts_server(
    *,
    seed: int,
    now: Callable[[], float],
    dc: str,
    user_id: str,
    token_lifetime: int,
    refresh_limit: int,
) -> AuthorisationServer:
    """Zoho's accounts server for an org in data centre `dc` whose admin is `user_id`, with
    one self client holding a refresh token for `ALL_SCOPES`."""
    settings = replace(ZOHO_ACCOUNTS, token_lifetime=token_lifetime, refresh_limit=refresh_limit)
    return AuthorisationServer(
        settings, seed=seed, now=now, dc=dc, user_id=user_id, scopes=ALL_SCOPES
    )


def authenticate(
    server: AuthorisationServer, header: str, dc: str, production: bool = True
) -> AccessToken:
    """The access token of an API call, or 401 INVALID_TOKEN (§1.4). Sandbox and developer
    orgs are other orgs: this org's tokens do not work there."""
    access = server.authenticate(header, dc, schemes=SCHEMES)
    if access is None or not production:
        raise ZohoError(401, "INVALID_TOKEN", INVALID_TOKEN)
    return access


def allows(scopes: tuple[str, ...], area: str, item: str = "", write: bool = False) -> bool:
    """Whether a token's scopes cover an API area: `modules` (item: module), `settings`,
    `users` or `notifications` (§1.7). Scope names are compared case-insensitively."""
    have = {s.lower() for s in scopes}
    ops = ("all", "create", "write", "update", "delete") if write else ("all", "read")
    prefix = f"zohocrm.{area}"
    if any(f"{prefix}.{op}" in have for op in ops):
        return True
    return bool(item) and any(f"{prefix}.{item.lower()}.{op}" in have for op in ops)


def require_scope(access: AccessToken, area: str, item: str = "", write: bool = False) -> None:
    if not allows(access.scopes, area, item, write):
        raise ZohoError(401, "OAUTH_SCOPE_MISMATCH", SCOPE_MISMATCH)
