"""Zoho's accounts server as `AuthorisationSettings` (zoho_crm.md §1): the data centres and
their hosts, access tokens of an hour, at most 10 minted per refresh token in 10 minutes, 15
live at once, 20 refresh tokens per user, codes of 3 minutes, and every refusal answered with
HTTP 200 and an `error` key. Zoho CRM and ServiceDesk Plus Cloud both sign in here."""

from __future__ import annotations

from types import MappingProxyType

from integrate.emulation.oauth import AuthorisationSettings, DataCentre

# data centre -> accounts host, API host, `location` in the consent redirect (§1.1)
ZOHO_DATA_CENTRES = MappingProxyType(
    {
        "com": DataCentre("accounts.zoho.com", "www.zohoapis.com", "us"),
        "eu": DataCentre("accounts.zoho.eu", "www.zohoapis.eu", "eu"),
        "in": DataCentre("accounts.zoho.in", "www.zohoapis.in", "in"),
        "com.au": DataCentre("accounts.zoho.com.au", "www.zohoapis.com.au", "au"),
        "jp": DataCentre("accounts.zoho.jp", "www.zohoapis.jp", "jp"),
        "com.cn": DataCentre("accounts.zoho.com.cn", "www.zohoapis.com.cn", "cn"),
        "ca": DataCentre("accounts.zohocloud.ca", "www.zohoapis.ca", "ca"),
        "sa": DataCentre("accounts.zoho.sa", "www.zohoapis.sa", "sa"),
        "uk": DataCentre("accounts.zoho.uk", "www.zohoapis.uk", "uk"),
    }
)

ZOHO_ACCOUNTS = AuthorisationSettings(
    token_lifetime=3600,
    refresh_limit=10,
    refresh_window=600.0,
    live_tokens=15,  # the 16th live access token of a refresh token ends the oldest (§1.5)
    grants_per_user=20,  # the 21st refresh token of a user and client deletes the oldest
    code_lifetime=180.0,
    refusal_status=200,  # §1.3: errors come back as HTTP 200 with an `error` key
    throttled=MappingProxyType(
        {
            "error": "Access Denied",
            "error_description": "You have made too many requests continuously. Please try again after some time.",
            "status": "failure",
        }
    ),
    prefix="1000.",
    data_centres=ZOHO_DATA_CENTRES,
    aliases=MappingProxyType({"us": "com", "au": "com.au", "cn": "com.cn"}),
)
