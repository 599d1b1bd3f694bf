"""The zoho_crm connector: Zoho CRM's REST API v8 in the core's terms.

Reads are by key (keyset.py): each page asks for the records modified at or after the last
second read, sorted by Modified_Time, 200 a page, so records that change while a read pages
are never skipped; the mandatory `fields` go in calls of at most 50, joined by id. The
cursor is that second and a fingerprint of each record read at it: If-Modified-Since is
inclusive, so those come again and are dropped unless they changed. Writes go 100 records a
call and answer per record (see writes.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import (
    AUTH_EXPIRED,
    CREATE,
    GET,
    MOVE,
    OK,
    RATE_LIMITED,
    READ,
    RETRY,
    UPDATE,
    UPSERT,
    AuthError,
    Connector,
    ConnectorContext,
    ConnectorError,
    OAuth2,
    ObjectInfo,
    Page,
    Record,
    RetryPolicy,
    consent_url,
    path_segment,
    reveal,
    token_classifier,
)
from integrate_zoho_crm.datacentres import NAMES, VENDOR_DOMAINS, data_centre
from integrate_zoho_crm.extras import ZohoExtras
from integrate_zoho_crm.keyset import KeysetRead
from integrate_zoho_crm.metadata import METADATA_TTL, ZohoMetadata
from integrate_zoho_crm.writes import ZohoWrites

if TYPE_CHECKING:
    from integrate import HttpAnswer

__version__ = "0.1.0"

API = "/crm/v8"
MAX_FIELDS = 50
MAX_PAGE = 200
MAX_BATCH = 100
API_DOMAIN_SOURCE = "the token answer (api_domain)"
SCOPES = (
    "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,"
    "ZohoCRM.notifications.ALL,ZohoCRM.coql.READ"
)
STANDARD_MODULES = ("Accounts", "Contacts", "Leads", "Deals", "Events", "Notes", "Users")
# Codes that say "these credentials lack the rights" rather than "try again".
DENIED = ("OAUTH_SCOPE_MISMATCH", "NO_PERMISSION", "AUTHORIZATION_FAILED", "NOT_SUPPORTED")

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Zoho CRM (REST API v8), OAuth refresh-token credentials.",
    "required": ["client_id", "client_secret"],
    "additionalProperties": False,
    "properties": {
        "data_center": {
            "enum": NAMES,
            "description": "The Zoho data centre of the CRM org (com, eu, in, com.au, jp, com.cn, ca, sa, uk). Default com.",
        },
        "client_id": {
            "type": "string",
            "minLength": 1,
            "description": "The OAuth client id (api-console.zoho.com).",
        },
        "client_secret": {
            "type": "string",
            "x-secret": True,
            "description": "The OAuth client secret.",
        },
        "refresh_token": {
            "type": "string",
            "x-secret": True,
            "description": "The refresh token `integrate auth` got; where this reference points is where it is stored.",
        },
        "accounts_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "The accounts (OAuth) server, when not the data centre's own (an emulator, a proxy).",
        },
        "environment": {
            "enum": ["production", "sandbox", "developer"],
            "description": "Which environment of the org: the API host of a sandbox or developer org differs. Default production.",
        },
        "scopes": {
            "type": "string",
            "description": f"OAuth scopes to ask for in `integrate auth`. Default {SCOPES}.",
        },
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PAGE,
            "description": "Records per read call (≤ 200).",
        },
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_BATCH,
            "description": "Records per write call (≤ 100).",
        },
        "triggers": {
            "type": "array",
            "items": {"enum": ["workflow", "approval", "blueprint", "pathfinder", "orchestration"]},
            "description": "Automations Zoho runs on our writes. Default: Zoho's default (all); [] runs none.",
        },
        "modules": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
            "description": "Custom modules (by API name) besides the standard ones.",
        },
        "metadata_ttl": {
            "type": "integer",
            "minimum": 0,
            "description": f"Seconds the module and field lists are kept in the state file between runs, shared by every spec on these credentials; 0 reads them on every run. Default {METADATA_TTL}.",
        },
    },
}


def zoho_classifier(response: HttpAnswer) -> str:
    """Token endpoints answer errors in HTTP 200; the API says INVALID_TOKEN (or
    AUTHENTICATION_FAILURE) for an expired token and TOO_MANY_REQUESTS with 429."""
    if "/oauth/" in response.path:
        return token_classifier(response)
    status = response.status_code
    if status == 429:
        return RATE_LIMITED
    if status >= 500:
        return RETRY
    if status == 401 and _code(response) in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE"):
        return AUTH_EXPIRED
    return OK


def _code(response: HttpAnswer) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


class ZohoCrmConnector(ZohoMetadata, ZohoWrites, ZohoExtras, Connector):
    """Zoho CRM v8."""

    plugin = "zoho_crm"
    version = __version__
    config_schema = CONFIG_SCHEMA
    known_objects = STANDARD_MODULES
    oauth_refresh_field = "refresh_token"
    vendor_domains = VENDOR_DOMAINS
    description = "Zoho CRM (REST API v8): Accounts, Contacts, Leads, Deals, Events, Notes, Users and custom modules."

    def __init__(self, config: Mapping[str, Any], context: ConnectorContext):
        super().__init__(config, context)
        accounts, api = data_centre(str(config.get("data_center", "com")))
        self.accounts_url = str(config.get("accounts_url") or accounts).rstrip("/")
        self.default_api = api
        self.http = context.http(
            classify=zoho_classifier,
            policy=RetryPolicy(max_attempts=6, backoff=1.0, backoff_max=60.0),
            concurrency=5,
            headers={"Accept": "application/json"},
        )
        self.auth = OAuth2(
            connection=context.connection,
            token_url=f"{self.accounts_url}/oauth/v2/token",
            client_id=config["client_id"],
            client_secret=config["client_secret"],
            refresh_token=config.get("refresh_token"),
            http=self.http,
            clock=context.clock,
            cache=context.tokens,
            header_prefix="Zoho-oauthtoken",
            keep=("api_domain",),
        )
        self.http.auth = self.auth
        self.page_size = int(config.get("page_size", MAX_PAGE))
        self.batch_size = int(config.get("batch_size", MAX_BATCH))
        self._start_metadata(context, config, self.accounts_url)

    # ---- calls --------------------------------------------------------------------------

    @property
    def api_domain(self) -> str:
        """Always the api_domain the token answer gave (tokens only work there)."""
        if self.auth.token() is None:
            self.auth.headers()
        domain = str(self.auth.extra.get("api_domain") or self.default_api).rstrip("/")
        environment = self.config.get("environment", "production")
        if environment != "production" and "://www." in domain:
            domain = domain.replace("://www.", f"://{environment}.", 1)
        return domain

    def call(
        self,
        method: str,
        path: str | tuple[str, ...],
        *,
        kind: str = "read",
        label: str = "",
        **kwargs: Any,
    ) -> HttpAnswer:
        """One API call. `path` is one segment (a module name) or a tuple of segments; each
        is escaped, so a module name or an id from data never reaches another path."""
        segments = (path,) if isinstance(path, str) else path
        url = f"{self.api_domain}{API}/{'/'.join(path_segment(p) for p in segments)}"
        return self.http.request(
            method,
            url,
            kind=kind,
            label=label,
            expect_json=True,
            learned_from=API_DOMAIN_SOURCE,
            **kwargs,
        )

    def error(self, response: HttpAnswer, what: str) -> ConnectorError:
        """A request-level error as the core's exception, with Zoho's code and message."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = (
            str(body.get("code", response.status_code))
            if isinstance(body, dict)
            else str(response.status_code)
        )
        message = body.get("message", "") if isinstance(body, dict) else ""
        text = f"{self.context.connection}: {what}: {code}{f' ({message})' if message else ''}"
        if code in DENIED or response.status_code == 403:
            return AuthError(
                text
                + "; the connected Zoho user lacks the rights (check its profile and the scopes)",
                code=code,
            )
        return ConnectorError(text, code=code, retriable=response.status_code >= 500)

    # ---- describing ---------------------------------------------------------------------

    def describe(self, object: str) -> ObjectInfo:
        if object == "Users":
            return ObjectInfo(
                "Users", page_size=MAX_PAGE, write_batch=1, operations=frozenset({READ})
            )
        custom = set(self.config.get("modules", ()))
        if object not in custom and not self.has_module(object):
            raise KeyError(object)
        operations = {READ, GET, CREATE, UPDATE}
        if object not in ("Notes", "Attachments"):
            operations.add(UPSERT)
        if object == "Contacts":
            operations.add(MOVE)  # a Lead becomes a Contact by conversion
        fields = self.catalogue(object) if object != "Attachments" else None
        return ObjectInfo(
            name=object,
            id_field="id",
            page_size=min(self.page_size, MAX_PAGE),
            write_batch=min(self.batch_size, MAX_BATCH),
            operations=frozenset(operations),
            fields=fields or None,
            sorted_reads=True,
            modified_field="Modified_Time",
            description=f"Zoho CRM module {object}",
        )

    # ---- reading ------------------------------------------------------------------------

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        if object == "Users":
            yield from self._users(page_size)
            return
        size = min(page_size or self.page_size, MAX_PAGE)
        chunks = self._field_chunks(object, fields)
        params = {
            "fields": ",".join(chunks[0]),
            "per_page": size,
            "sort_by": "Modified_Time",
            "sort_order": "asc",
        }

        def fetch(
            since_time: str | None, page: int, token: str | None
        ) -> tuple[list[Record], dict[str, Any]]:
            query: dict[str, Any] = dict(params)
            if token is not None:
                query["page_token"] = token
            else:
                query["page"] = page
            headers = {"If-Modified-Since": since_time} if since_time else {}
            response = self.call("GET", object, label="list", params=query, headers=headers)
            if response.status_code in (204, 304):
                return [], {}
            body = response.json()
            if response.status_code != 200 or not isinstance(body, dict) or "data" not in body:
                raise self.error(response, f"reading {object}")
            records: list[Record] = body["data"]
            if len(chunks) > 1 and records:
                self._join(object, records, chunks[1:])
            return records, dict(body.get("info") or {})

        def times_of(ids: list[str]) -> dict[str, Any]:
            return {
                str(r.get("id")): r.get("Modified_Time")
                for r in self.get(object, ids, fields=["Modified_Time"])
            }

        where = f"{self.context.connection}: {object}"
        yield from KeysetRead(where, fetch, times_of, size).pages(since)

    def _field_chunks(self, module: str, wanted: Sequence[str] | None) -> list[list[str]]:
        """The fields to ask for, in calls of at most 50 (Modified_Time in the first)."""
        catalogue = self.catalogue(module)
        if wanted is None:
            names = [n for n in catalogue if n != "id"]
        else:
            names = [
                n for n in dict.fromkeys(wanted) if n != "id" and (not catalogue or n in catalogue)
            ]
        names = ["Modified_Time", *(n for n in names if n != "Modified_Time")]
        return [names[i : i + MAX_FIELDS] for i in range(0, len(names), MAX_FIELDS)]

    def _join(self, module: str, records: list[Record], chunks: list[list[str]]) -> None:
        """Fetch the other field chunks for these records (by id) and merge them in."""
        by_id = {str(r["id"]): r for r in records}
        ids = list(by_id)
        for chunk in chunks:
            for start in range(0, len(ids), 100):
                part = ids[start : start + 100]
                response = self.call(
                    "GET",
                    module,
                    label="list",
                    params={"ids": ",".join(part), "fields": ",".join(chunk)},
                )
                if response.status_code in (204, 304):
                    continue
                if response.status_code != 200:
                    raise self.error(response, f"reading more fields of {module}")
                for row in response.json().get("data", []):
                    by_id.get(str(row.get("id")), {}).update(row)

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record]:
        if object == "Users":
            return [
                u
                for page in self._users(None)
                for u in page.records
                if str(u.get("id")) in set(ids)
            ]
        chunks = self._field_chunks(object, fields)
        out: list[Record] = []
        # Zoho reads `ids` as a comma-separated list: an id with a comma (or none at all)
        # names no one record, so it is not sent (it would fetch other records).
        id_list = [str(i) for i in ids if str(i) and "," not in str(i)]
        for start in range(0, len(id_list), 100):
            part = id_list[start : start + 100]
            response = self.call(
                "GET",
                object,
                label="get",
                params={"ids": ",".join(part), "fields": ",".join(chunks[0])},
            )
            if response.status_code in (204, 304):
                continue
            if response.status_code != 200:
                raise self.error(response, f"reading {object} by id")
            rows = response.json().get("data", [])
            if len(chunks) > 1 and rows:
                self._join(object, rows, chunks[1:])
            out.extend(rows)
        return out

    def _users(self, page_size: int | None) -> Iterator[Page]:
        page = 1
        while True:
            response = self.call(
                "GET",
                "users",
                label="users",
                params={"type": "AllUsers", "page": page, "per_page": page_size or MAX_PAGE},
            )
            if response.status_code == 204:
                return
            if response.status_code != 200:
                raise self.error(response, "reading users")
            body = response.json()
            yield Page(body.get("users", []))
            if not body.get("info", {}).get("more_records"):
                return
            page += 1

    # ---- authorisation (integrate auth) ---------------------------------------------------

    def consent_url(self, redirect_uri: str, state: str) -> str:
        return consent_url(
            f"{self.accounts_url}/oauth/v2/auth",
            client_id=str(reveal(self.config["client_id"])),
            scope=str(self.config.get("scopes", SCOPES)),
            redirect_uri=redirect_uri,
            state=state,
            access_type="offline",
            prompt="consent",
        )

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any]:
        return self.auth.exchange_code(code, redirect_uri or None)

    def write_concurrency(self) -> int:
        return self.http.concurrency

    def close(self) -> None:
        self.http.close()
