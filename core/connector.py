"""What a plugin implements to speak one system's API, in the core's terms.

A connector describes its objects (fields, page size, write batch limit, operations), reads
pages of records with an opaque cursor, and writes batches, answering one result per record.
It never decides what to sync: the engine does.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from integrate.errors import PluginError
from integrate.hosts import HostTrust, configured_origins
from integrate.http import (
    Auth,
    CallStats,
    Classifier,
    Clock,
    HttpClient,
    RetryPolicy,
    SystemClock,
    default_classifier,
)
from integrate.metacache import MetadataCache
from integrate.oauth import TokenCache

if TYPE_CHECKING:
    import httpx

    from integrate.conditions import Condition

Record = dict[str, Any]

# Operations an object may support. Custom actions (comment, attach, convert ...) are listed
# in ObjectInfo.actions instead.
READ = "read"
GET = "get"
CREATE = "create"
UPDATE = "update"
UPSERT = "upsert"
MOVE = "move"

# The code of a write whose outcome is unknown: a create answered with a 5xx, or cut off by a
# timeout or a reset after it was sent. The engine looks for such a record before it creates
# it again (docs/state-and-guarantees.md).
AMBIGUOUS = "AMBIGUOUS"

# A field a connector sets on a record it reads that is no longer in its object: the vendor
# moved it elsewhere (a Zoho Lead converted into a Contact) or removed it. Its value says why,
# in words. The engine writes nothing for such a record; a record linked to it follows its
# successor, the record of the same side that matches it by the flow's key
# (docs/plugins.md, "Records that leave their object").
GONE_FIELD = "$gone"


def merge_values(record: Mapping[str, Any], values: Mapping[str, Any]) -> Record:
    """`record` with an update's values written over it: a nested value changes only what it
    names (`{"address": {"city": "X"}}` keeps the street). What a write's values mean, for a
    plugin that keeps whole records and for the engine's copy of one."""
    out = dict(record)
    for key, value in values.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class FieldInfo:
    """One field of an object's catalogue."""

    name: str
    type: str = "any"
    label: str = ""
    read_only: bool = False
    required: bool = False


@dataclass(frozen=True)
class ObjectInfo:
    """What the engine needs to know about one object of a system."""

    name: str
    id_field: str = "id"
    page_size: int = 200
    write_batch: int = 100
    operations: frozenset[str] = frozenset({READ, CREATE, UPDATE})
    actions: frozenset[str] = frozenset()
    # None means "schemaless": any field name is accepted.
    fields: Mapping[str, FieldInfo] | None = None
    # True when read() yields records in cursor order, so the cursor may be saved per page.
    sorted_reads: bool = False
    # A field holding the record's last-modified time, for the `newest` conflict policy.
    modified_field: str | None = None
    # True when the system takes one record a request (no batch endpoint): the core then
    # sends a batch as that many calls, as many at once as the connection allows.
    one_per_call: bool = False
    description: str = ""

    def supports(self, operation: str) -> bool:
        return operation in self.operations or operation in self.actions


@dataclass(frozen=True)
class BadRecord:
    """A record the system holds but the connector cannot read (bad JSON, a broken CSV row,
    a row the API answers in a form it does not document): where it is, what is wrong, and
    its raw text. The run records it as a failure (stage `read`) and goes on."""

    where: str  # a place the operator can find: "accounts.jsonl:12", "page 3, row 7"
    message: str  # what is wrong, in plain words
    raw: str = ""  # the record as found (the engine keeps at most 64 KiB of it)
    code: str = "BAD_RECORD"


@dataclass
class Page:
    """One page of records and the cursor to resume after it (None: not resumable here),
    and the records of that stretch that could not be read (never dropped silently)."""

    records: list[Record]
    cursor: Any = None
    failures: list[BadRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Channel:
    """A subscription to a system's change notifications (a webhook it calls): which of its
    objects to watch, where to call, the secret token it echoes in every call, and until
    when (epoch seconds). `integrate serve` keeps channels in the state and renews them."""

    id: str
    objects: tuple[str, ...]
    notify_url: str
    token: str
    expires: float


@dataclass(frozen=True)
class Notice:
    """One notification call, read by the connector: the records of one object that changed
    and how. It carries ids only; the engine reads the records through the API. `key` is the
    same for the same call delivered twice (the event ledger applies each once)."""

    channel_id: str
    token: str  # as the call carries it: the core compares it with the channel's own
    object: str
    operation: str  # created | updated | deleted | related (the vendor's words mapped)
    ids: tuple[str, ...]
    key: str


@dataclass
class WriteItem:
    """One record to write. `ref` ties the result back; `id` names the record to change."""

    ref: int
    values: Record
    id: str | None = None
    # For upsert: the target fields that identify an existing record.
    keys: tuple[str, ...] = ()
    # For move: the object the record is in now.
    from_object: str | None = None


@dataclass
class WriteResult:
    """The outcome of one WriteItem."""

    ref: int
    ok: bool
    id: str | None = None
    # The record as the system stored it, when the API answers with it.
    record: Record | None = None
    # For upsert: whether a new record was made.
    created: bool | None = None
    error: str = ""
    code: str = ""
    retriable: bool = False

    @classmethod
    def success(cls, ref: int, id: str | None, **kw: Any) -> WriteResult:
        return cls(ref=ref, ok=True, id=id, **kw)

    @classmethod
    def failure(
        cls, ref: int, error: str, code: str = "", *, retriable: bool = False
    ) -> WriteResult:
        return cls(ref=ref, ok=False, error=error, code=code, retriable=retriable)

    @classmethod
    def ambiguous(cls, ref: int, error: str) -> WriteResult:
        """No clear answer: the record may or may not have been written."""
        return cls(ref=ref, ok=False, error=error, code=AMBIGUOUS)


@dataclass
class ConnectorContext:
    """What the runtime hands a connector: its connection's alias, a logger, the HTTP
    transport to use (an emulator's in tests and sandboxes, the network otherwise), the
    clock, the call counts, the token cache, the metadata cache and the spec's limits for
    this connection."""

    connection: str
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("integrate.connector"))
    transport: httpx.BaseTransport | None = None
    clock: Clock = field(default_factory=SystemClock)
    stats: CallStats = field(default_factory=CallStats)
    tokens: TokenCache | None = None
    # Vendor metadata kept between runs (in the state file during a run; in memory here).
    cache: MetadataCache = field(default_factory=MetadataCache)
    # The connection's `limits` from the spec (max_calls, calls_per_minute, concurrency ...).
    limits: Mapping[str, Any] = field(default_factory=dict)
    # The spec's folder: relative paths in a connection's config start here.
    base_dir: str | None = None
    # A dry run: the connector must change nothing at all, housekeeping included.
    read_only: bool = False
    # The hosts this connection may call: set by Connector.__init__ from the config's URLs
    # and the plugin's vendor_domains (None: unchecked).
    trust: HostTrust | None = None

    def http_client(self, base_url: str = "", **kwargs: Any) -> httpx.Client:
        """A bare httpx client wired to the right transport (no retries, no counting)."""
        import httpx  # here, not at the top: commands that send nothing never import it

        if self.transport is not None:
            kwargs.setdefault("transport", self.transport)
        kwargs.setdefault("timeout", httpx.Timeout(30.0, connect=10.0))
        kwargs.setdefault("follow_redirects", False)
        kwargs.setdefault("trust_env", False)
        return httpx.Client(base_url=base_url, **kwargs)

    def http(
        self,
        base_url: str = "",
        *,
        auth: Auth | None = None,
        classify: Classifier = default_classifier,
        policy: RetryPolicy | None = None,
        concurrency: int = 4,
        max_calls: int | None = None,
        calls_per_minute: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpClient:
        """The shared HTTP layer for this connection: plugins give their defaults; the spec's
        `limits` override them."""
        import httpx

        policy = policy or RetryPolicy()
        limits = self.limits
        if "max_attempts" in limits:
            policy.max_attempts = int(limits["max_attempts"])
        if "timeout" in limits:
            policy.timeout = float(limits["timeout"])
        if "max_response_bytes" in limits:
            policy.max_response_bytes = int(limits["max_response_bytes"])
        if "rate_limit_patience" in limits:
            policy.rate_limit_patience = float(limits["rate_limit_patience"])
        trust = self.trust
        if trust is not None and base_url:
            trust = trust.adding([base_url])
        client = self.http_client(
            base_url,
            timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
            headers=dict(headers or {}),
        )
        return HttpClient(
            client,
            connection=self.connection,
            stats=self.stats,
            clock=self.clock,
            auth=auth,
            policy=policy,
            classify=classify,
            concurrency=int(limits.get("concurrency", concurrency)),
            max_calls=limits.get("max_calls", max_calls),
            calls_per_minute=limits.get("calls_per_minute", calls_per_minute),
            trust=trust,
        )


class Unsupported(PluginError):
    """A connector was asked for a capability its system does not have."""


class Connector(ABC):
    """Base class of every plugin's connector.

    Subclasses set `plugin` (the name specs use), `version`, `config_schema` (JSON Schema of
    the connection's `config`; mark secret properties with "x-secret": true) and implement
    describe / read / write. The other methods are optional capabilities.
    """

    plugin: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    # Objects the system always offers, for `integrate plugins`; empty when they depend on
    # the connection's settings (a folder's files, custom modules).
    known_objects: ClassVar[tuple[str, ...]] = ()
    # The config key of an OAuth refresh token `integrate auth` stores (None: no OAuth).
    oauth_refresh_field: ClassVar[str | None] = None
    config_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}
    # True when `read` may run in a thread of its own while the run writes through the same
    # connector (an HTTP plugin on the shared HttpClient): the core then fetches the next
    # page while this one is handled.
    reads_ahead: ClassVar[bool] = False
    # True when `read` takes `where` (a flow's filter as a Condition) and asks its system for
    # only the records that may meet it; the engine passes `where` to no other connector.
    pushes_filters: ClassVar[bool] = False
    description: ClassVar[str] = ""
    # The vendor's documented hosts (`www.zohoapis.com`, or `*.example.com` for any
    # subdomain): a URL learned from an answer may point there (over https) or at a host
    # written in the config; any other is refused before connecting (UNTRUSTED_HOST).
    vendor_domains: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Mapping[str, Any], context: ConnectorContext):
        self.config = config
        self.context = context
        context.trust = HostTrust(
            context.connection, configured_origins(config), tuple(self.vendor_domains)
        )

    # -- describing ---------------------------------------------------------------------

    def objects(self) -> list[str]:
        """Names of the objects this system offers (may be empty for schemaless systems)."""
        return []

    @abstractmethod
    def describe(self, object: str) -> ObjectInfo:
        """The object's description; raise KeyError if the system has no such object."""

    def forget_description(self, object: str) -> bool:
        """Drop what is cached about the object (its field list ...) so that the next
        describe() asks the system; True when a cached description was dropped. A run calls
        it when the spec names a field the object's catalogue lacks, then checks again."""
        return False

    @classmethod
    def offline_fields(
        cls, config: Mapping[str, Any], object: str
    ) -> Mapping[str, FieldInfo] | None:
        """The object's field catalogue as far as the connection's settings alone tell (no
        I/O; `${...}` references are not resolved), so `integrate validate` can check field
        names offline; None when only the system knows (the default)."""
        return None

    # -- reading ------------------------------------------------------------------------

    @abstractmethod
    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        where: Condition | None = None,
    ) -> Iterator[Page]:
        """Pages of records changed after the cursor `since` (all records when None). With
        `where` (only for a connector that `pushes_filters`), it may leave out the records
        that do not meet it: any superset of those that do is right, the engine filters
        every record it reads again. The cursor must not depend on `where`."""

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record]:
        """The records with these ids (those that exist)."""
        raise Unsupported(f"{self.plugin} cannot read {object} records by id")

    # -- writing ------------------------------------------------------------------------

    @abstractmethod
    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        """Create, update, upsert or move up to describe(object).write_batch records at once,
        answering one result per item (a failed row fails only itself)."""

    def act(self, object: str, action: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        """Run a custom action (comment, attach ...) on target records."""
        raise Unsupported(f"{self.plugin} has no action '{action}' on {object}")

    def related(self, object: str, id: str, related: str) -> Iterator[Page]:
        """Pages of the records in a record's related list."""
        raise Unsupported(f"{self.plugin} cannot read the related list {related} of {object}")

    def download(self, object: str, id: str, attachment_id: str) -> Iterator[bytes]:
        """The bytes of one attachment of a record, in pieces, never held whole; stops with
        ConnectorError (code RESPONSE_TOO_LARGE) past the plugin's download limit. An event
        flow's `attach` action hands them to its target as a FileStream."""
        raise Unsupported(f"{self.plugin} cannot download attachments of {object}")

    # -- notifications (webhooks) -----------------------------------------------------------

    # The longest a channel may live, in seconds (None: the system sends no notifications).
    channel_lifetime: ClassVar[float | None] = None

    def subscribe(self, channel: Channel, *, renew: bool = False) -> float:
        """Ask the system to call `channel.notify_url` on changes to `channel.objects` until
        `channel.expires` (or, with `renew`, to extend the channel of that id, its token and
        URL replaced); answers the expiry the system granted (epoch seconds)."""
        raise Unsupported(f"{self.plugin} sends no change notifications")

    def unsubscribe(self, channel_ids: Sequence[str]) -> None:
        """End these channels (ids the system does not know are ignored)."""
        raise Unsupported(f"{self.plugin} sends no change notifications")

    @classmethod
    def notice(cls, body: bytes, content_type: str) -> Notice:
        """Read one notification call's body (no I/O; the token is checked by the core).
        Raises PluginError for a body that is not a notification of this system."""
        raise Unsupported(f"{cls.plugin} sends no change notifications")

    def consent_url(self, redirect_uri: str, state: str) -> str:
        """The URL an operator opens once to grant access (OAuth plugins)."""
        raise Unsupported(f"{self.plugin} does not authorise with OAuth")

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """Exchange a one-time authorisation code; the answer holds the refresh token."""
        raise Unsupported(f"{self.plugin} does not authorise with OAuth")

    def write_concurrency(self) -> int:
        """How many write calls may be in flight at once on this connection. HTTP plugins
        answer their HttpClient's `concurrency` (the plugin's default for the vendor, or the
        spec's `limits.concurrency`); the default, 1, writes one call at a time in the run's
        own thread (a connector that is not safe to call from several threads)."""
        return 1

    def close(self) -> None:  # noqa: B027  (optional: most connectors hold nothing)
        """Release files, sockets and caches; called once at the end of a run."""
