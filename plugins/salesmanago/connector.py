"""The salesmanago connector: SALESmanago's contact API (REST "v2", JSON over POST,
targets.md §2), for the objects `contacts` and `users`.

`contacts` are read by modification window (reads.py) and written by batch upsert
(writes.py), in the shape records.py describes. `users` are the account's users as the
connection's settings name them: §2 documents no call that lists them, and the owner of a
write must be one of them (a spec looks owners up there: `lookup('sm.users', {email: ...})`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from integrate import (
    CREATE,
    GET,
    READ,
    UPDATE,
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
from integrate_salesmanago.api import SalesManagoApi
from integrate_salesmanago.reads import Reads
from integrate_salesmanago.records import CATALOGUE, USER_CATALOGUE
from integrate_salesmanago.settings import CONFIG_SCHEMA, Settings
from integrate_salesmanago.writes import Writes

__version__ = "0.1.0"

OBJECTS = ("contacts", "users")
VENDOR_DOMAINS = ("*.salesmanago.com", "*.salesmanago.pl")


class SalesManagoConnector(Connector):
    """SALESmanago contacts, and the account's users from the settings."""

    plugin = "salesmanago"
    version = __version__
    config_schema = CONFIG_SCHEMA
    known_objects = OBJECTS
    reads_ahead = True
    vendor_domains = VENDOR_DOMAINS
    description = "SALESmanago (contact API v2): contacts, and the account's users."

    def __init__(self, config: Mapping[str, Any], context: ConnectorContext):
        super().__init__(config, context)
        self.settings = Settings.of(config)
        self.api = SalesManagoApi(self.settings, context)
        self.reads = Reads(self.api)
        self.writes = Writes(self.api, self.reads)

    # ---- describing ---------------------------------------------------------------------

    def objects(self) -> list[str]:
        return list(OBJECTS)

    @classmethod
    def offline_fields(
        cls, config: Mapping[str, Any], object: str
    ) -> Mapping[str, FieldInfo] | None:
        if object == "contacts":
            return CATALOGUE
        if object == "users":
            return USER_CATALOGUE
        return None

    def describe(self, object: str) -> ObjectInfo:
        if object == "users":
            return ObjectInfo(
                name="users",
                operations=frozenset({READ, GET}),
                fields=USER_CATALOGUE,
                description="the account's users, as the users setting names them",
            )
        if object != "contacts":
            raise KeyError(object)
        return ObjectInfo(
            name="contacts",
            id_field="id",
            page_size=self.settings.page_size,
            write_batch=self.settings.batch_size,
            operations=frozenset({READ, GET, CREATE, UPDATE}),
            fields=CATALOGUE,
            sorted_reads=False,
            modified_field="modifiedOn",
            description="SALESmanago contacts",
        )

    # ---- reading ------------------------------------------------------------------------

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        where: Condition | None = None,  # not pushed down: the engine filters what is read
    ) -> Iterator[Page]:
        if object == "users":
            yield Page(self._users())
            return
        self.describe(object)
        yield from self.reads.changed(since, page_size)

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record]:
        if object == "users":
            wanted = {str(i).casefold() for i in ids}
            return [u for u in self._users() if u["id"].casefold() in wanted]
        self.describe(object)
        return self.reads.by_ids([str(i) for i in ids if str(i) != ""])

    def _users(self) -> list[Record]:
        seen: dict[str, str] = {}
        for email in self.settings.users:
            seen.setdefault(email.casefold(), email)
        return [{"id": email, "email": email} for email in seen.values()]

    # ---- writing ------------------------------------------------------------------------

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        if object != "contacts" or operation not in (CREATE, UPDATE):
            raise PluginError(f"salesmanago cannot {operation} {object}")
        return self.writes.write(operation, items)

    def write_concurrency(self) -> int:
        return self.api.http.concurrency

    def close(self) -> None:
        self.api.close()
