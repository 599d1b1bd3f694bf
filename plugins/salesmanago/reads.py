"""Reading contacts: the ids of those modified in a time window, page by page
(`paginatedModifiedContacts`, targets.md §2.6), each page then fetched whole by `listById`
(at most 100 ids a call); a read by id is `listById` alone.

The window is fixed when a read starts: from just after the last read's end (from 0 on a
first read) to this machine's time less `clock_skew`. Its end is the cursor. A contact
changed while the read runs gets a modification time past the end, so the next read has it.

Inside the window SALESmanago pages by number (targets.md gives no order, and an item has
only its id and email), so a contact changed while the read pages leaves the window and
those behind it slide back onto a page already read. A window that takes more than one page
is therefore listed again until two listings in a row are the same: a listing that
skipped a contact would differ from the next one, which no longer has the contact that
left (and has the one skipped). Contacts already fetched are not fetched again. If the
window keeps changing for MAX_PASSES listings, the read ends without a new cursor and the
next one reads the window again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from integrate import ConnectorError, Page, Record
from integrate_salesmanago.api import messages
from integrate_salesmanago.records import as_read

if TYPE_CHECKING:
    from integrate_salesmanago.api import SalesManagoApi

MAX_PASSES = 8


class Reads:
    """Contact reads through `api`."""

    def __init__(self, api: SalesManagoApi):
        self.api = api
        self.settings = api.settings

    def changed(self, since: Any, page_size: int | None) -> Iterator[Page]:
        """Pages of the contacts modified after the cursor `since` (all when None), and a
        last page carrying the new cursor `{"to": <millis>}` once the window is read whole."""
        size = min(page_size or self.settings.page_size, self.settings.page_size)
        end = int((self.api.context.clock.now() - self.settings.clock_skew) * 1000)
        start = _start(since)
        if start > end:
            yield Page([], cursor=since)
            return
        fetched: set[str] = set()
        previous: list[str] | None = None
        for _ in range(MAX_PASSES):
            listed: list[str] = []
            pages = 0
            for ids in self._listing(start, end, size):
                pages += 1
                listed.extend(ids)
                fresh = [i for i in dict.fromkeys(ids) if i not in fetched]
                fetched.update(fresh)
                if fresh:
                    yield Page(self.by_ids(fresh))
            if pages <= 1 or listed == previous:
                yield Page([], cursor={"to": end})
                return
            previous = listed
        self.api.context.logger.warning(
            "%s: contacts modified from %s to %s kept changing while they were listed; the "
            "next read lists them again",
            self.api.context.connection,
            start,
            end,
        )
        yield Page([], cursor=since)

    def _listing(self, start: int, end: int, size: int) -> Iterator[list[str]]:
        """The ids of the window's contacts, a page at a time (the last page included)."""
        key = self.settings.modified_key
        page = 1
        while True:
            body = self._answer(
                self.settings.modified_method,
                {"from": start, "to": end, "page": page, "size": size},
                "listing modified contacts",
            )
            items = body.get(key)
            if not isinstance(items, list):
                raise ConnectorError(
                    f"{self.api.context.connection}: listing modified contacts: the answer has "
                    f"no list '{key}' (the modified_key setting)",
                    code="NO_LIST",
                )
            yield [str(i) for item in items if (i := _id(item))]
            if not body.get("hasMore") or not items:
                return
            page += 1

    def by_ids(self, ids: Sequence[str]) -> list[Record]:
        """The contacts with these ids (those that exist), `page_size` ids a call."""
        out: list[Record] = []
        size = self.settings.page_size
        for at in range(0, len(ids), size):
            chunk = [str(i) for i in ids[at : at + size]]
            body = self._answer("contact/listById", {"contactId": chunk}, "reading contacts")
            contacts = body.get("contacts")
            if not isinstance(contacts, list):
                raise ConnectorError(
                    f"{self.api.context.connection}: reading contacts: the answer has no list "
                    "'contacts'",
                    code="NO_LIST",
                )
            wanted = set(chunk)
            for contact in contacts:
                if isinstance(contact, dict):
                    record = as_read(contact, self.settings)
                    if str(record.get("id")) in wanted:
                        out.append(record)
        return out

    def _answer(self, method: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        found = self.api.call(method, body, kind="read", what=what)
        if found.get("success") is not True:
            raise ConnectorError(
                f"{self.api.context.connection}: {what}: SALESmanago refused "
                f"({'; '.join(messages(found)) or 'no message'})",
                code="REFUSED",
            )
        return found


def _start(since: Any) -> int:
    """The first millisecond of the window after the cursor `since`."""
    if isinstance(since, dict) and isinstance(since.get("to"), int | float):
        return int(since["to"]) + 1
    return 0


def _id(item: Any) -> str | None:
    if isinstance(item, dict):
        value = item.get("contactId") or item.get("id")
        return str(value) if value else None
    return str(item) if isinstance(item, str) and item else None
