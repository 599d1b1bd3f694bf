"""The zoho_crm connector: Zoho CRM's REST API v8 in the core's terms.

Composed of parts that each get what they need passed in, never the connector: a ZohoApi
(api.py: the HTTP client, OAuth, the api_domain, Zoho's errors) that the others share;
Metadata (modules and field lists, kept between runs), Reads (by key, keyset.py), Writes
(100 records a call, answered per record), Extras (related lists, attachments, deleted
records, search) and Notifications (the watch API). The connector builds them from the
connection's config and answers each Connector method by handing it to its part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import (
    CREATE,
    GET,
    MOVE,
    READ,
    UPDATE,
    UPSERT,
    Channel,
    Condition,
    Connector,
    ConnectorContext,
    Notice,
    OAuth2,
    ObjectInfo,
    Page,
    Record,
    RetryPolicy,
    WriteItem,
    WriteResult,
    consent_url,
    reveal,
)
from integrate_zoho_crm.api import ZohoApi, zoho_classifier
from integrate_zoho_crm.datacentres import NAMES, VENDOR_DOMAINS, data_centre
from integrate_zoho_crm.extras import MAX_ATTACHMENT, Extras
from integrate_zoho_crm.metadata import METADATA_TTL, Metadata, cache_of
from integrate_zoho_crm.notifications import (
    Notification,
    Notifications,
    parse_notification,
    read_notice,
)
from integrate_zoho_crm.reads import MAX_PAGE, Reads
from integrate_zoho_crm.writes import MAX_BATCH, Writes

if TYPE_CHECKING:
    from integrate import FieldInfo, MetadataCache

__version__ = "0.1.0"

SCOPES = (
    "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,"
    "ZohoCRM.notifications.ALL,ZohoCRM.coql.READ"
)
STANDARD_MODULES = ("Accounts", "Contacts", "Leads", "Deals", "Events", "Notes", "Users")

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
        "api_domain": {
            "type": "string",
            "pattern": "^(https?://|$)",
            "description": "The API host to call instead of the one the token answer names (a proxy in front of Zoho's API); empty: the token answer's.",
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


class ZohoCrmConnector(Connector):
    """Zoho CRM v8."""

    plugin = "zoho_crm"
    version = __version__
    config_schema = CONFIG_SCHEMA
    known_objects = STANDARD_MODULES
    oauth_refresh_field = "refresh_token"
    reads_ahead = True
    pushes_filters = True  # a flow's filter, said in COQL where it can be (coql.py)
    vendor_domains = VENDOR_DOMAINS
    description = "Zoho CRM (REST API v8): Accounts, Contacts, Leads, Deals, Events, Notes, Users and custom modules."

    def __init__(self, config: Mapping[str, Any], context: ConnectorContext):
        super().__init__(config, context)
        accounts, api_host = data_centre(str(config.get("data_center", "com")))
        self.accounts_url = str(config.get("accounts_url") or accounts).rstrip("/")
        self.default_api = api_host
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
        # The metadata cache of these credentials (shared by every spec on them), and how
        # long what it keeps is good for.
        self.metadata: MetadataCache = cache_of(context, config, self.accounts_url)
        self.metadata_ttl = int(config.get("metadata_ttl", METADATA_TTL))

        self.api = ZohoApi(
            self.http,
            self.auth,
            connection=context.connection,
            default_domain=api_host,
            environment=str(config.get("environment", "production")),
            configured_domain=str(reveal(config.get("api_domain") or "")),
        )
        # The parts, each handed what it needs; the methods below delegate to them, and
        # the calls themselves go through self.api.
        self.org = Metadata(self.api, self.metadata, self.metadata_ttl)  # modules, fields
        self.reads = Reads(self.api, self.org, self.page_size, context.logger)
        self.writes = Writes(self.api, self.org, config.get("triggers"))
        self.extras = Extras(self.api, self.org, context)
        self.notifications = Notifications(self.api)

    # ---- describing ---------------------------------------------------------------------

    def objects(self) -> list[str]:
        return self.org.objects()

    def has_module(self, module: str) -> bool:
        """Whether the org has the module (see Metadata.has_module)."""
        return self.org.has_module(module)

    def catalogue(self, module: str) -> dict[str, FieldInfo]:
        """The module's fields (see Metadata.catalogue)."""
        return self.org.catalogue(module)

    def forget_description(self, object: str) -> bool:
        return self.org.forget(object)

    def describe(self, object: str) -> ObjectInfo:
        if object == "Users":
            return ObjectInfo(
                "Users", page_size=MAX_PAGE, write_batch=1, operations=frozenset({READ})
            )
        custom = set(self.config.get("modules", ()))
        if object not in custom and not self.org.has_module(object):
            raise KeyError(object)
        operations = {READ, GET, CREATE, UPDATE}
        if object not in ("Notes", "Attachments"):
            operations.add(UPSERT)
        if object == "Contacts":
            operations.add(MOVE)  # a Lead becomes a Contact by conversion
        fields = self.org.catalogue(object) if object != "Attachments" else None
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

    # ---- records ------------------------------------------------------------------------

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        where: Condition | None = None,
    ) -> Iterator[Page]:
        return self.reads.read(object, since=since, fields=fields, page_size=page_size, where=where)

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record]:
        return self.reads.get(object, ids, fields)

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        return self.writes.write(object, operation, items)

    def related(self, object: str, id: str, related: str) -> Iterator[Page]:
        return self.extras.related(object, id, related)

    def download(
        self, object: str, id: str, attachment_id: str, *, limit: int = MAX_ATTACHMENT
    ) -> Iterator[bytes]:
        """An attachment's bytes, streamed (see Extras.download)."""
        return self.extras.download(object, id, attachment_id, limit=limit)

    def deleted(self, object: str, since: str | None = None) -> Iterator[Page]:
        """Records deleted (recycle bin and permanently), newest first, since a time."""
        return self.extras.deleted(object, since)

    def search(
        self, object: str, criteria: Mapping[str, Any], fields: Sequence[str] | None = None
    ) -> list[Record]:
        """Records whose fields equal the criteria (Zoho's search API; at most 2,000)."""
        return self.extras.search(object, criteria, fields)

    # ---- notifications (watch) ----------------------------------------------------------

    channel_lifetime = 7 * 24 * 3600.0  # a week (v4 and later, zoho_crm.md §9)

    def subscribe(self, channel: Channel, *, renew: bool = False) -> float:
        """Watch every event of the channel's modules (`Accounts.all` ...) until its expiry:
        POST to enable, PUT to renew (Zoho replaces the channel's details)."""
        events = [f"{module}.all" for module in channel.objects]
        expiry = dt.datetime.fromtimestamp(channel.expires, dt.UTC)
        send = self.notifications.renew if renew else self.notifications.subscribe
        details = send(channel.id, events, channel.notify_url, channel.token, expiry)
        granted = [
            e.get("channel_expiry") for e in details.get("events", []) if e.get("channel_expiry")
        ]
        if not granted:
            return channel.expires
        return min(dt.datetime.fromisoformat(str(g)).timestamp() for g in granted)

    def unsubscribe(self, channel_ids: Sequence[str]) -> None:
        self.notifications.unsubscribe(channel_ids)

    @classmethod
    def notice(cls, body: bytes, content_type: str) -> Notice:
        """A callback's body read (zoho_crm.md §9); the token is checked by the core."""
        return read_notice(body, content_type)

    @staticmethod
    def parse_notification(body: Mapping[str, Any], expected_token: str) -> Notification:
        """Check a callback's channel token and read it (see notifications.py)."""
        return parse_notification(body, expected_token)

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
