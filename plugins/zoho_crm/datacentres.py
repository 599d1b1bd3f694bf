"""Zoho's data centres: each has its own accounts (OAuth) server and API host, and tokens
only work in the data centre that issued them."""

from __future__ import annotations

# data centre → (accounts server, API domain)
DATA_CENTRES: dict[str, tuple[str, str]] = {
    "com": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in"),
    "com.au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    "com.cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    "uk": ("https://accounts.zoho.uk", "https://www.zohoapis.uk"),
}

ALIASES = {"us": "com", "au": "com.au", "cn": "com.cn"}

NAMES = sorted({*DATA_CENTRES, *ALIASES})


def data_centre(name: str) -> tuple[str, str]:
    """(accounts server, API domain) of a data centre, by its domain suffix or alias."""
    key = ALIASES.get(name, name)
    return DATA_CENTRES[key]


def _vendor_domains() -> tuple[str, ...]:
    """Every documented host of every data centre: accounts servers and API domains,
    with the sandbox and developer variants of each API domain."""
    hosts: list[str] = []
    for accounts, api in DATA_CENTRES.values():
        hosts.append(accounts.removeprefix("https://"))
        api_host = api.removeprefix("https://")
        hosts.append(api_host)
        for environment in ("sandbox", "developer"):
            hosts.append(api_host.replace("www.", f"{environment}.", 1))
    return tuple(hosts)


VENDOR_DOMAINS = _vendor_domains()
