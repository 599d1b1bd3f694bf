"""The clientsuccess connector: ClientSuccess's v1 REST API (targets.md §3) for the objects
`clients` and `contacts` (read, get, create, update; clients also upsert on externalId), and
the read-only reference lists `client_segments`, `client_statuses` and `employees` (for
`lookup('cs.client_segments', ...)`).

Reads are in reads.py, writes in writes.py, the record shapes in records.py, the login and
the refusals in api.py. Custom fields are fields named from their labels (`cf_...`,
records.py); the labels are the `client_custom_fields` / `contact_custom_fields` settings
and, when a spec names one those lack, what ClientSuccess lists (kept `metadata_ttl`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from integrate import (
    CREATE,
    GET,
    READ,
    UPDATE,
    UPSERT,
    Condition,
    Connector,
    ConnectorContext,
    FieldInfo,
    ObjectInfo,
    Page,
    PluginError,
    Record,
    WriteItem,
    WriteResult,
)
from integrate_clientsuccess.api import ClientSuccessApi
from integrate_clientsuccess.reads import REFERENCE_PATHS, Reads
from integrate_clientsuccess.records import (
    CLIENT_FIELDS,
    CONTACT_FIELDS,
    SEGMENT_FIELDS,
    STATUS_FIELDS,
    is_custom,
    labels_of,
    with_custom,
)
from integrate_clientsuccess.settings import CONFIG_SCHEMA, Settings
from integrate_clientsuccess.writes import Writes

__version__ = "0.1.0"

OBJECTS = ("clients", "contacts", "client_segments", "client_statuses", "employees")
VENDOR_DOMAINS = ("api.clientsuccess.com",)
PAGE_SIZE = 100  # records a page (the listings are unpaged; pages are cut client-side)
WRITE_BATCH = 20  # records a write() call, each its own request (no batch endpoint)
REFERENCE_FIELDS: dict[str, Mapping[str, FieldInfo] | None] = {
    "client_segments": SEGMENT_FIELDS,
    "client_statuses": STATUS_FIELDS,
    "employees": None,  # §3 gives no shape: any field name
}


class OpenCatalogue(dict[str, FieldInfo]):
    """A catalogue that also holds every custom field name (`cf_...`): offline, the custom
    fields are not known, so they are checked when a run starts."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (isinstance(name, str) and is_custom(name))

    def __missing__(self, name: str) -> FieldInfo:
        if is_custom(name):
            return FieldInfo(name, type="text")
        raise KeyError(name)


class ClientSuccessConnector(Connector):
    """ClientSuccess clients and contacts, and its reference lists."""

    plugin = "clientsuccess"
    version = __version__
    config_schema = CONFIG_SCHEMA
    known_objects = OBJECTS
    reads_ahead = True
    vendor_domains = VENDOR_DOMAINS
    description = (
        "ClientSuccess (v1 API): clients, contacts, client segments and statuses, employees."
    )

    def __init__(self, config: Mapping[str, Any], context: ConnectorContext):
        super().__init__(config, context)
        self.settings = Settings.of(config)
        self.api = ClientSuccessApi(self.settings, context)
        self.reads = Reads(self.api)
        self.writes = Writes(self.api, self.reads)
        self._ask: set[str] = set()  # objects whose custom fields are asked of ClientSuccess
        self._asked: set[str] = set()

    # ---- describing ---------------------------------------------------------------------

    def objects(self) -> list[str]:
        return list(OBJECTS)

    @classmethod
    def offline_fields(
        cls, config: Mapping[str, Any], object: str
    ) -> Mapping[str, FieldInfo] | None:
        if object in REFERENCE_FIELDS:
            return REFERENCE_FIELDS[object]
        if object not in ("clients", "contacts"):
            return None
        base = CLIENT_FIELDS if object == "clients" else CONTACT_FIELDS
        key = "client_custom_fields" if object == "clients" else "contact_custom_fields"
        return OpenCatalogue(with_custom(base, [str(x) for x in config.get(key) or []]))

    def describe(self, object: str) -> ObjectInfo:
        if object in REFERENCE_FIELDS:
            return ObjectInfo(
                name=object,
                operations=frozenset({READ, GET}),
                fields=REFERENCE_FIELDS[object],
                page_size=PAGE_SIZE,
                description=f"ClientSuccess {object.replace('_', ' ')} (GET {REFERENCE_PATHS[object]})",
            )
        if object == "clients":
            return ObjectInfo(
                name="clients",
                page_size=PAGE_SIZE,
                write_batch=WRITE_BATCH,
                operations=frozenset({READ, GET, CREATE, UPDATE, UPSERT}),
                fields=with_custom(CLIENT_FIELDS, self.custom_labels("clients")),
                modified_field="lastModifiedDate",
                one_per_call=True,
                description="ClientSuccess clients",
            )
        if object == "contacts":
            return ObjectInfo(
                name="contacts",
                page_size=PAGE_SIZE,
                write_batch=WRITE_BATCH,
                operations=frozenset({READ, GET, CREATE, UPDATE}),
                fields=with_custom(CONTACT_FIELDS, self.custom_labels("contacts")),
                one_per_call=True,
                description="ClientSuccess contacts (read in full every time: no change date)",
            )
        raise KeyError(object)

    def forget_description(self, object: str) -> bool:
        """A spec names a field the catalogue lacks: ask ClientSuccess for its custom fields
        (once a run)."""
        if object not in ("clients", "contacts") or object in self._asked:
            return False
        self._ask.add(object)
        return True

    def custom_labels(self, object: str) -> list[str]:
        """The custom field labels of clients or contacts: the settings', those kept from an
        earlier run, and (when asked for) ClientSuccess's own."""
        settings = self.settings
        own = (
            settings.client_custom_fields if object == "clients" else settings.contact_custom_fields
        )
        key = f"{object}:custom-fields"
        kept = self.context.cache.get(key)
        labels = [*own, *(kept if isinstance(kept, list) else [])]
        if object in self._ask and object not in self._asked:
            self._asked.add(object)
            found = self._ask_labels(object)
            self.context.cache.put(key, found, settings.metadata_ttl)
            labels += found
        if object == "clients":
            labels += list(self.writes.client_labels.values())
        return list(dict.fromkeys(str(x) for x in labels))

    def _ask_labels(self, object: str) -> list[str]:
        """ClientSuccess's custom field labels: the contact definitions (1 call), or the
        custom values of one client's detail (2 calls; none while there is no client)."""
        if object == "contacts":
            found = self.api.call(
                "GET",
                "/contact-custom-fields",
                kind="read",
                label="contact custom fields",
                what="listing contact custom fields",
            )
            items = found if isinstance(found, list) else []
            return [str(i["label"]) for i in items if isinstance(i, dict) and i.get("label")]
        listing = self.reads.clients_listing()
        if not listing:
            return []
        detail = self.reads.client(str(listing[0]["id"]))
        labels = labels_of(detail or {})
        self.writes.learn_labels(labels)
        return labels

    # ---- reading ------------------------------------------------------------------------

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        where: Condition | None = None,  # not pushed down: the v1 list takes no filter
    ) -> Iterator[Page]:
        size = max(1, min(page_size or PAGE_SIZE, PAGE_SIZE))
        if object in REFERENCE_FIELDS:
            yield Page(self.reads.reference(object))
        elif object == "clients":
            yield from self.reads.clients(since, fields, size)
        elif object == "contacts":
            yield from self.reads.contacts(fields, size)
        else:
            raise KeyError(object)

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record]:
        if object in REFERENCE_FIELDS:
            wanted = {str(i) for i in ids}
            return [r for r in self.reads.reference(object) if str(r["id"]) in wanted]
        if object == "clients":
            return self.reads.clients_by_ids(ids, fields)
        if object == "contacts":
            return self.reads.contacts_by_ids(ids, fields)
        raise KeyError(object)

    # ---- writing ------------------------------------------------------------------------

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        allowed = {"clients": (CREATE, UPDATE, UPSERT), "contacts": (CREATE, UPDATE)}
        if operation not in allowed.get(object, ()):
            raise PluginError(f"clientsuccess cannot {operation} {object}")
        return self.writes.write(object, operation, items)

    def write_concurrency(self) -> int:
        return self.api.http.concurrency

    def close(self) -> None:
        self.api.close()
