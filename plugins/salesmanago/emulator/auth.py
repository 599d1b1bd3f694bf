"""Who may call (§2.3): the authentication block every body carries, checked against the
account's client id and secret, on the account's own server (§2.8 gotcha 7).

`sha` must be the lowercase hex SHA-1 of apiKey + clientId + apiSecret; `apiKey` any
non-empty text the caller chose; `requestTime` a UNIX time in milliseconds or in seconds
(both accepted, not checked for freshness: the sha does not cover it, gotcha 2). Any miss is
answered as SALESmanago answers it: HTTP 200, `success: false`, "Not authenticated".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from integrate_salesmanago.emulator.contacts import Refused

NOT_AUTHENTICATED = "Not authenticated"
DOMAINS = ("salesmanago.com", "salesmanago.pl")  # .pl hosts are in use too (§2.2)
LOOPBACK = ("localhost", "::1", "[::1]")


def sha_of(api_key: str, client_id: str, api_secret: str) -> str:
    return hashlib.sha1((api_key + client_id + api_secret).encode("utf-8")).hexdigest()


def check(body: Mapping[str, Any], host: str, *, client_id: str, secret: str, server: str) -> None:
    """Refused("Not authenticated") unless the body authenticates on this account's server."""
    if not on_server(host, server):
        raise Refused(NOT_AUTHENTICATED)
    given_id, api_key, sha = body.get("clientId"), body.get("apiKey"), body.get("sha")
    if not (isinstance(given_id, str) and isinstance(api_key, str) and isinstance(sha, str)):
        raise Refused(NOT_AUTHENTICATED)
    if not api_key or not _a_time(body.get("requestTime")):
        raise Refused(NOT_AUTHENTICATED)
    expected = sha_of(api_key, client_id, secret)
    if not hmac.compare_digest(given_id.encode(), client_id.encode()) or not hmac.compare_digest(
        sha.encode(), expected.encode()
    ):
        raise Refused(NOT_AUTHENTICATED)


def on_server(host: str, server: str) -> bool:
    """Whether the Host header names this account's server: `{server}.salesmanago.com` (or
    `.pl`); a loopback host is the emulator's own address, so its own server too."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower().rstrip(".")
    if name in LOOPBACK or name.startswith("127."):
        return True
    for domain in DOMAINS:
        if name.endswith("." + domain):
            return name[: -len(domain) - 1] == server.lower()
    return False


def _a_time(value: Any) -> bool:
    """A UNIX time, in milliseconds or seconds (a number, possibly sent as digits)."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 < value < 2**63  # NaN compares false
