"""Which hosts a connection may send its credentials to.

Hosts the operator wrote in a connection's config (base URLs, accounts servers) are
trusted: on-premises systems live on private networks. Hosts learned from answers (a token
answer's api_domain, a redirect, a next-page or download URL) must be one of the plugin's
documented vendor domains (over https) or a configured host; anything else is refused
before a connection is opened.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from integrate.errors import ConnectorError
from integrate.secrets import reveal

Origin = tuple[str, str, int]  # scheme, host, port

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an absolute http(s) URL, or None."""
    try:
        parsed = urllib.parse.urlsplit(url.strip())
        port = parsed.port
    except ValueError:
        return None
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parsed.hostname:
        return None
    return scheme, parsed.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme]


def configured_origins(config: Any) -> frozenset[Origin]:
    """Every http(s) URL written in a connection's config (nested values included)."""
    found: set[Origin] = set()
    stack = [config]
    while stack:
        value = reveal(stack.pop())
        if isinstance(value, str):
            origin = origin_of(value)
            if origin is not None:
                found.add(origin)
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return frozenset(found)


class UntrustedHost(ConnectorError):
    """A URL learned from an answer points outside the vendor's domains and the config."""


@dataclass(frozen=True)
class HostTrust:
    """The hosts one connection may call. `vendor` holds host names (`www.zohoapis.com`)
    or suffixes (`*.zohoapis.com`: any subdomain); they are trusted over https only.
    `configured` holds the exact origins written in the config."""

    connection: str = ""
    configured: frozenset[Origin] = frozenset()
    vendor: tuple[str, ...] = ()

    def adding(self, urls: Iterable[str]) -> HostTrust:
        """This trust with more configured origins (a base URL the plugin was given)."""
        more = {o for o in (origin_of(u) for u in urls) if o is not None}
        return HostTrust(self.connection, self.configured | more, self.vendor)

    def allows(self, url: str) -> bool:
        origin = origin_of(url)
        if origin is None:
            return False
        if origin in self.configured:
            return True
        scheme, host, port = origin
        if scheme != "https" or port != 443:
            return False
        for pattern in self.vendor:
            pattern = pattern.lower()
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]):
                    return True
            elif host == pattern:
                return True
        return False

    def check(self, url: str, learned_from: str | None = None) -> None:
        """Raise UntrustedHost (code UNTRUSTED_HOST) unless `url` may be called."""
        if self.allows(url):
            return
        origin = origin_of(url)
        where = f"{origin[0]}://{origin[1]}:{origin[2]}" if origin else "a URL that is not http(s)"
        source = learned_from or "an API answer"
        raise UntrustedHost(
            f"{self.connection}: refused to call {where}, learned from {source}: it is neither a "
            "host written in the connection's config nor one of the system's documented "
            "domains (over https); nothing was sent. If that host is yours, write its URL in "
            "the connection's config",
            code="UNTRUSTED_HOST",
        )
