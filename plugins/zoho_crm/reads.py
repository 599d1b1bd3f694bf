"""Reading Zoho CRM records: a module page by page from a cursor (by key, see keyset.py),
records by id, and the org's users.

Each page asks for the records modified at or after the last second read, sorted by
Modified_Time, 200 a page, so records that change while a read pages are never skipped; the
mandatory `fields` go in calls of at most 50, joined by id. The cursor is that second and a
fingerprint of each record read at it: If-Modified-Since is inclusive, so those come again
and are dropped unless they changed.

A Lead converted since the cursor (by a Zoho user, or by a run) is gone from default reads
(`converted=false`); a read from a cursor asks for converted Leads too, and hands each one
over marked GONE_FIELD: the engine then writes nothing for it, and what was linked to it
follows the Contact it became.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from integrate import GONE_FIELD, Page, Record
from integrate_zoho_crm.coql import JOINED, MAX_COLUMNS, CoqlRead, Refused, fits, where_clause
from integrate_zoho_crm.keyset import KeysetRead

if TYPE_CHECKING:
    from integrate import Condition
    from integrate_zoho_crm.api import ZohoApi
    from integrate_zoho_crm.metadata import Metadata

MAX_FIELDS = 50  # fields a call
MAX_PAGE = 200  # records a page
CONVERTIBLE = "Leads"  # the module whose records conversion moves into Contacts
CONVERTED = "Converted__s"


class Reads:
    """Record reads through `api`; which fields a module has comes from `metadata`.
    `page_size` is the connection's records a page (at most 200)."""

    def __init__(
        self,
        api: ZohoApi,
        metadata: Metadata,
        page_size: int = MAX_PAGE,
        logger: logging.Logger | None = None,
    ):
        self.api = api
        self.metadata = metadata
        self.page_size = page_size
        self.logger = logger or logging.getLogger("integrate.zoho_crm")

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        where: Condition | None = None,
    ) -> Iterator[Page]:
        """Pages of the module's records changed at or after the cursor `since` (all when
        None), in Modified_Time order; Users, which has no such order, page by page. With
        `where`, by COQL where it can be said (coql.py); a superset of what meets it."""
        if object == "Users":
            yield from self._users(page_size)
            return
        conversions = since is not None and object == CONVERTIBLE
        # Leads are read with Converted__s whether from a cursor or not: a record must read
        # the same both ways, or the cursor's fingerprints of its last second (taken by a full
        # read) never match the next read's, and those records are read again for nothing.
        if fields is not None and object == CONVERTIBLE:
            fields = [*fields, CONVERTED]
        # From a cursor, Leads converted since must be read (`converted=both`, to mark them
        # gone): COQL does not say it answers them, so such a read stays with Get Records.
        coql = self._coql(object, fields, where) if where is not None and not conversions else None
        if coql is not None:
            pages = coql.pages(since)
            try:
                first = next(pages, None)
            except Refused as refused:
                self.logger.warning("%s; reading every changed record instead", refused)
            else:
                if first is not None:
                    yield first
                    yield from pages
                return
        yield from self._plain(object, since, fields, page_size, conversions)

    def _coql(self, module: str, fields: Sequence[str] | None, where: Condition) -> CoqlRead | None:
        """The read by COQL of `where` (None when no part of it can be said in COQL)."""
        catalogue = self.metadata.catalogue(module)
        said = where_clause(where, catalogue)
        if said is None or not fits(said[1]):
            return None
        names = [n for chunk in self._field_chunks(module, fields) for n in chunk]
        queried = [n for n in names if catalogue.get(n) is None or catalogue[n].type not in JOINED]
        rest = [n for n in names if n not in queried[:MAX_COLUMNS]]
        chunks = [rest[i : i + MAX_FIELDS] for i in range(0, len(rest), MAX_FIELDS)]

        def join(records: list[Record]) -> None:
            if chunks:
                self._join(module, records, chunks)

        return CoqlRead(self.api, module, queried[:MAX_COLUMNS], said[0], join)

    def _plain(
        self,
        object: str,
        since: Any,
        fields: Sequence[str] | None,
        page_size: int | None,
        conversions: bool,
    ) -> Iterator[Page]:
        """Get Records by key (keyset.py)."""
        size = min(page_size or self.page_size, MAX_PAGE)
        chunks = self._field_chunks(object, fields)
        params = {
            "fields": ",".join(chunks[0]),
            "per_page": size,
            "sort_by": "Modified_Time",
            "sort_order": "asc",
        }
        if conversions:
            params["converted"] = "both"

        def fetch(
            since_time: str | None, page: int, token: str | None
        ) -> tuple[list[Record], dict[str, Any]]:
            query: dict[str, Any] = dict(params)
            if token is not None:
                query["page_token"] = token
            else:
                query["page"] = page
            headers = {"If-Modified-Since": since_time} if since_time else {}
            response = self.api.call("GET", object, label="list", params=query, headers=headers)
            if response.status_code in (204, 304):
                return [], {}
            body = response.json()
            if response.status_code != 200 or not isinstance(body, dict) or "data" not in body:
                raise self.api.error(response, f"reading {object}")
            records: list[Record] = body["data"]
            if len(chunks) > 1 and records:
                self._join(object, records, chunks[1:])
            if conversions:
                for record in records:
                    if record.get(CONVERTED) is True:
                        record[GONE_FIELD] = "converted into a Contact"
            return records, dict(body.get("info") or {})

        def times_of(ids: list[str]) -> dict[str, Any]:
            return {
                str(r.get("id")): r.get("Modified_Time")
                for r in self.get(object, ids, fields=["Modified_Time"])
            }

        where = f"{self.api.connection}: {object}"
        yield from KeysetRead(where, fetch, times_of, size).pages(since)

    def _field_chunks(self, module: str, wanted: Sequence[str] | None) -> list[list[str]]:
        """The fields to ask for, in calls of at most 50 (Modified_Time in the first)."""
        catalogue = self.metadata.catalogue(module)
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
        for chunk in chunks:
            for row in self._by_ids(module, list(by_id), chunk, "list", f"more fields of {module}"):
                by_id.get(str(row.get("id")), {}).update(row)

    def _by_ids(
        self, module: str, ids: list[str], fields: list[str], label: str, what: str
    ) -> Iterator[Record]:
        """The module's records with these ids, with these fields: 100 ids a call."""
        for start in range(0, len(ids), 100):
            part = ids[start : start + 100]
            response = self.api.call(
                "GET",
                module,
                label=label,
                params={"ids": ",".join(part), "fields": ",".join(fields)},
            )
            if response.status_code in (204, 304):
                continue
            if response.status_code != 200:
                raise self.api.error(response, f"reading {what}")
            yield from response.json().get("data", [])

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record]:
        """The records with these ids (those that exist), 100 a call."""
        if object == "Users":
            return [
                u
                for page in self._users(None)
                for u in page.records
                if str(u.get("id")) in set(ids)
            ]
        chunks = self._field_chunks(object, fields)
        # Zoho reads `ids` as a comma-separated list: an id with a comma (or none at all)
        # names no one record, so it is not sent (it would fetch other records).
        id_list = [str(i) for i in ids if str(i) and "," not in str(i)]
        out = list(self._by_ids(object, id_list, chunks[0], "get", f"{object} by id"))
        if len(chunks) > 1 and out:
            self._join(object, out, chunks[1:])
        return out

    def _users(self, page_size: int | None) -> Iterator[Page]:
        """The org's users (active or not), page by page; kept between runs with the
        metadata (a whole read, for `metadata_ttl` seconds)."""
        kept = self.metadata.kept_users()
        if kept is not None:
            yield Page(kept)
            return
        users: list[Record] = []
        for page in self._user_pages(page_size):
            users.extend(dict(user) for user in page.records)
            yield page
        self.metadata.keep_users(users)

    def _user_pages(self, page_size: int | None) -> Iterator[Page]:
        page = 1
        while True:
            response = self.api.call(
                "GET",
                "users",
                label="users",
                params={"type": "AllUsers", "page": page, "per_page": page_size or MAX_PAGE},
            )
            if response.status_code == 204:
                return
            if response.status_code != 200:
                raise self.api.error(response, "reading users")
            body = response.json()
            yield Page(body.get("users", []))
            if not body.get("info", {}).get("more_records"):
                return
            page += 1
