"""The emulation kit: what every vendor's emulator needs and no vendor owns, so that a new
emulator is written from its vendor's behaviour alone.

- `HttpEmulator` (app): the WSGI app, call kinds and log, `Faults` (faults) and a documented
  rate limit (`TokenBucket`, limits), an in-process transport and a loopback server
  (serving), save/restore of the parts an emulator names (saving);
- `Reply` and `Refusal` (replies): what handlers answer, and refusals in the vendor's words;
- `Router` (routing): paths to handlers by pattern;
- `RecordStore` (store): records by module and id, versioned, with index hooks, time windows
  and snapshots;
- `page_of`, `Window`, `PageTokens` (paging);
- `Jobs` (jobs): asynchronous jobs and the files they make;
- `json_object` / `BodyRefused`, `int64`, `quoted` (bodies): what an attacker sends, read
  without harm; `valid_email` (emails);
- `AuthorisationServer` and `AuthorisationSettings` (oauth), `OAuthEmulator` (oauthapp), and
  Zoho's accounts server as settings, `ZOHO_ACCOUNTS` (zoho);
- `ascii_slug` and `seeded_uuid` (samples), for generated e-mail addresses, domains and ids.

Plugins import these names from `integrate`.
"""

from __future__ import annotations

from integrate.emulation.app import Answer, HttpEmulator, Logged
from integrate.emulation.bodies import BodyRefused, int64, json_object, quoted
from integrate.emulation.emails import valid_email
from integrate.emulation.faults import Faults
from integrate.emulation.jobs import Jobs
from integrate.emulation.limits import TokenBucket
from integrate.emulation.oauth import (
    AccessToken,
    AuthorisationServer,
    AuthorisationSettings,
    DataCentre,
)
from integrate.emulation.oauthapp import OAuthEmulator
from integrate.emulation.paging import PageToken, PageTokenRefused, PageTokens, Window, page_of
from integrate.emulation.replies import Refusal, Reply
from integrate.emulation.routing import Route, Router
from integrate.emulation.samples import ascii_slug, seeded_uuid
from integrate.emulation.saving import Saveable
from integrate.emulation.serving import StartResponse
from integrate.emulation.store import RecordStore, StoredRow
from integrate.emulation.zoho import ZOHO_ACCOUNTS, ZOHO_DATA_CENTRES

__all__ = [
    "ZOHO_ACCOUNTS",
    "ZOHO_DATA_CENTRES",
    "AccessToken",
    "Answer",
    "AuthorisationServer",
    "AuthorisationSettings",
    "BodyRefused",
    "DataCentre",
    "Faults",
    "HttpEmulator",
    "Jobs",
    "Logged",
    "OAuthEmulator",
    "PageToken",
    "PageTokenRefused",
    "PageTokens",
    "RecordStore",
    "Refusal",
    "Reply",
    "Route",
    "Router",
    "Saveable",
    "StartResponse",
    "StoredRow",
    "TokenBucket",
    "Window",
    "ascii_slug",
    "int64",
    "json_object",
    "page_of",
    "quoted",
    "seeded_uuid",
    "valid_email",
]
