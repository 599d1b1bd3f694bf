"""Reading ClientSuccess: clients, their contacts, and the reference lists.

Clients: one `GET /clients` (a plain array, unpaged; `activeOnly` as the `active_only`
setting says) is the whole listing; a read from a cursor keeps the clients whose
`lastModifiedDate` is past it, client-side. The cursor is the newest `lastModifiedDate` seen
less `since_overlap` seconds, with the clients read inside that overlap and their dates, so a
client written just as the listing was made is read again, never skipped, and one already
read is not read twice. List items lack `customFieldValues`: each client's detail
(`GET /clients/{id}`) is fetched only when a field asked for needs it (a custom field, or
the whole record when no fields are named).

Contacts carry no modification date (§3.4), so every read lists them all: `GET /clients`,
then `GET /clients/{id}/contacts` per client (summaries), and the detail of each contact
only when a field asked for needs it (a custom field, or the whole record when no fields are
named). The engine's link snapshots tell what changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from integrate import ConnectorError, Page, Record, path_segment
from integrate_clientsuccess.api import Refused
from integrate_clientsuccess.records import (
    CLIENT_FIELDS,
    CONTACT_FIELDS,
    as_read,
    is_custom,
    modified_at,
)

if TYPE_CHECKING:
    from integrate_clientsuccess.api import ClientSuccessApi

REFERENCE_PATHS = {
    "client_segments": "/client-segments",
    "client_statuses": "/client-statuses",
    "employees": "/employees",
}


def needs_detail(fields: Sequence[str] | None, list_fields: Any) -> bool:
    """Whether the fields asked for (None: all) need a record's detail, not its list item."""
    if fields is None:
        return True
    return any(is_custom(f) or (f not in list_fields and f != "$object") for f in fields)


class Reads:
    """Reads through `api`; `contact_clients` remembers each contact's client (for get)."""

    def __init__(self, api: ClientSuccessApi):
        self.api = api
        self.settings = api.settings
        self.contact_clients: dict[str, str] = {}

    # ---- clients --------------------------------------------------------------------------

    def clients_listing(self) -> list[dict[str, Any]]:
        """Every client (active ones only with `active_only`), as list items."""
        found = self.api.call(
            "GET",
            "/clients",
            kind="read",
            label="clients",
            what="listing clients",
            params={"activeOnly": "true" if self.settings.active_only else "false"},
        )
        if not isinstance(found, list):
            raise ConnectorError(
                f"{self.api.context.connection}: listing clients: the answer is not a list",
                code="NO_LIST",
            )
        return [c for c in found if isinstance(c, dict) and c.get("id") is not None]

    def clients(self, since: Any, fields: Sequence[str] | None, page_size: int) -> Iterator[Page]:
        """Pages of the clients changed after `since` (all when None); the last page
        carries the new cursor."""
        listing = self.clients_listing()
        after, seen = _cursor(since)
        changed = []
        for item in listing:
            when = modified_at(item)
            if after is not None and when is not None:
                if when < after:
                    continue
                if seen.get(str(item["id"])) == item.get("lastModifiedDate"):
                    continue
            changed.append(item)
        detail = needs_detail(fields, CLIENT_FIELDS)
        cursor = self._next_cursor(listing, since)
        if not changed:
            yield Page([], cursor=cursor)
            return
        for at in range(0, len(changed), page_size):
            chunk = changed[at : at + page_size]
            records = []
            for item in chunk:
                raw = self.client(str(item["id"])) if detail else item
                if raw is not None:
                    records.append(as_read(raw))
            last = at + page_size >= len(changed)
            yield Page(records, cursor=cursor if last else None)

    def _next_cursor(self, listing: list[dict[str, Any]], since: Any) -> Any:
        """The newest lastModifiedDate listed less the overlap, and the clients inside it."""
        stamps = [(w, c) for c in listing if (w := modified_at(c)) is not None]
        if not stamps:
            return since
        newest = max(w for w, _c in stamps)
        start = newest - dt.timedelta(seconds=self.settings.since_overlap)
        prior_after, _seen = _cursor(since)
        if prior_after is not None and start < prior_after:
            start = prior_after
        return {
            "after": start.isoformat(),
            "seen": {str(c["id"]): c.get("lastModifiedDate") for w, c in stamps if w >= start},
        }

    def client(self, id: str) -> dict[str, Any] | None:
        """A client's detail (custom values included); None when there is none."""
        return self._detail(f"/clients/{path_segment(id)}", "client", f"reading client {id}")

    def _detail(self, path: str, label: str, what: str) -> dict[str, Any] | None:
        """The record a detail path answers; None when ClientSuccess has none there."""
        try:
            found = self.api.call("GET", path, kind="read", label=label, what=what)
        except Refused as exc:
            if exc.status in (400, 404):
                return None
            raise
        return found if isinstance(found, dict) and found.get("id") is not None else None

    def client_by_external_id(self, external_id: str) -> dict[str, Any] | None:
        """The client whose externalId is exactly this (detail shape), or None."""
        try:
            found = self.api.call(
                "GET",
                "/clients",
                kind="read",
                label="client by externalId",
                what=f"finding the client with externalId {external_id!r}",
                params={"externalId": external_id},
            )
        except Refused as exc:
            if exc.status == 404:
                return None
            raise
        if isinstance(found, list):  # tolerate a list answer (one client, or none)
            found = next((c for c in found if isinstance(c, dict)), None)
        return found if isinstance(found, dict) and found.get("id") is not None else None

    def clients_by_ids(self, ids: Sequence[str], fields: Sequence[str] | None) -> list[Record]:
        """The clients with these ids (one detail call each)."""
        out = []
        for id in dict.fromkeys(str(i) for i in ids if str(i) != ""):
            raw = self.client(id)
            if raw is not None and str(raw.get("id")) == id:
                out.append(as_read(raw))
        return out

    # ---- contacts -------------------------------------------------------------------------

    def contacts(self, fields: Sequence[str] | None, page_size: int) -> Iterator[Page]:
        """Every contact, a client's contacts at a time (pages of at most `page_size`)."""
        detail = needs_detail(fields, CONTACT_FIELDS)
        for client in self.clients_listing():
            summaries = self.client_contacts(str(client["id"]))
            for at in range(0, len(summaries), page_size):
                chunk = summaries[at : at + page_size]
                records = []
                for item in chunk:
                    raw = self.contact(str(item["clientId"]), str(item["id"])) if detail else item
                    if raw is not None:
                        records.append(as_read(raw))
                yield Page(records)
        yield Page([])

    def client_contacts(self, client_id: str) -> list[dict[str, Any]]:
        """A client's contact summaries (none when the client is gone)."""
        try:
            found = self.api.call(
                "GET",
                f"/clients/{path_segment(client_id)}/contacts",
                kind="read",
                label="contacts",
                what=f"listing the contacts of client {client_id}",
            )
        except Refused as exc:
            if exc.status == 404:
                return []
            raise
        out = []
        for item in found if isinstance(found, list) else []:
            if isinstance(item, dict) and item.get("id") is not None:
                item.setdefault("clientId", client_id)
                self.contact_clients[str(item["id"])] = str(item["clientId"])
                out.append(item)
        return out

    def contact(self, client_id: str, id: str) -> dict[str, Any] | None:
        """A contact's detail (custom values included); None when there is none."""
        return self._detail(
            f"/clients/{path_segment(client_id)}/contacts/{path_segment(id)}/details",
            "contact",
            f"reading contact {id} of client {client_id}",
        )

    def client_of(self, id: str) -> str | None:
        """The client of a contact: remembered from a read, else found from the listing."""
        self.locate([id])
        return self.contact_clients.get(id)

    def locate(self, ids: Sequence[str]) -> None:
        """Learn the clients of the contacts whose clients are not known yet, by one pass
        over every client's contacts (1 + one call a client, at most; it stops once all are
        found)."""
        missing = {i for i in ids if i not in self.contact_clients}
        if not missing:
            return
        for client in self.clients_listing():
            self.client_contacts(str(client["id"]))
            if missing.issubset(self.contact_clients):
                return

    def contacts_by_ids(self, ids: Sequence[str], fields: Sequence[str] | None) -> list[Record]:
        """The contacts with these ids (their details: one call each, after finding their
        clients)."""
        wanted = list(dict.fromkeys(str(i) for i in ids if str(i) != ""))
        self.locate(wanted)
        out = []
        for id in wanted:
            client_id = self.contact_clients.get(id)
            if client_id is None:
                continue
            raw = self.contact(client_id, id)
            if raw is not None and str(raw.get("id")) == id:
                out.append(as_read(raw))
        return out

    # ---- reference lists ------------------------------------------------------------------

    def reference(self, object: str) -> list[Record]:
        """A reference list (segments, statuses, employees) as ClientSuccess answers it."""
        found = self.api.call(
            "GET",
            REFERENCE_PATHS[object],
            kind="read",
            label=object,
            what=f"reading {object}",
        )
        if not isinstance(found, list):
            raise ConnectorError(
                f"{self.api.context.connection}: reading {object}: the answer is not a list",
                code="NO_LIST",
            )
        return [dict(i) for i in found if isinstance(i, dict) and i.get("id") is not None]


def _cursor(since: Any) -> tuple[dt.datetime | None, dict[str, Any]]:
    """The time a read from `since` starts at, and the clients already read at or after it."""
    if not isinstance(since, dict) or not isinstance(since.get("after"), str):
        return None, {}
    try:
        after = dt.datetime.fromisoformat(since["after"])
    except ValueError:
        return None, {}
    if after.tzinfo is None:
        after = after.replace(tzinfo=dt.UTC)
    seen = since.get("seen")
    return after, dict(seen) if isinstance(seen, dict) else {}
