"""Reading a module by key, so that records changing while a read pages are never skipped.

A Get Records listing sorted by Modified_Time shifts under offset paging: a record edited
after its page was read moves to the end, and the records behind it slide back onto pages
already read, never to be seen. So every page is a fresh query from the last second read
(`If-Modified-Since` is inclusive and has whole seconds): page 1 of "modified at or after
T". Records of second T that were read already come again and are dropped when their
fingerprint is unchanged; an edited record is read again, with its new values, at its new
place. What is not yet read is never behind the query's start, whatever moves.

One case needs offsets: more records in second T than a page holds. That second is paged by
`page` (and `page_token`), which a record leaving it (edited or deleted) can shift. So the
cursor handed out stays at T until the read ends and checks that every record found at T is
still there, still at T (read by ids: a record that left during the paging cannot come back
to T); otherwise second T is read again. A killed read resumes from T.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from integrate import ConnectorError, Page, Record

# fetch(since, page, token) -> (records, info); ([], {}) when nothing is there (204/304)
Fetch = Callable[[str | None, int, str | None], tuple[list[Record], dict[str, Any]]]
# times_of(ids) -> the Modified_Time of each of those records that still exists
TimesOf = Callable[[list[str]], dict[str, Any]]

EMPTY_PAGES_LIMIT = 10
DISCRETE_ROWS = 2000
SETTLE_ROUNDS = 3


@dataclass
class Boundary:
    """The second the next query starts at, and a fingerprint of each record read at it."""

    time: str | None = None
    seen: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, cursor: Any) -> Boundary:
        if not isinstance(cursor, dict) or not cursor.get("time"):
            return cls()
        return cls(str(cursor["time"]), dict(cursor.get("seen") or {}))

    def cursor(self) -> dict[str, Any] | None:
        return {"time": self.time, "seen": dict(self.seen)} if self.time else None

    def already_read(self, record: Record) -> bool:
        if self.time is None or not same_instant(record.get("Modified_Time"), self.time):
            return False
        seen = self.seen.get(str(record.get("id")))
        return seen is not None and seen in (fingerprint(record), whole_fingerprint(record))

    def moved_on(self, records: list[Record]) -> Boundary:
        """The boundary after these records (sorted by Modified_Time): their last second,
        with every record read at it."""
        last = next((r for r in reversed(records) if instant(r.get("Modified_Time"))), None)
        if last is None:
            return self
        stamp = str(last["Modified_Time"])
        moment = instant(stamp)
        at_last = []
        for record in reversed(records):  # sorted: the last second's records end the page
            value = record.get("Modified_Time")
            if value == stamp or (value is not None and instant(value) == moment):
                at_last.append(record)
            elif instant(value) is not None:
                break
        out = Boundary(stamp, {})
        if self.time is not None and same_instant(self.time, stamp):
            out = Boundary(self.time, dict(self.seen))
        for record in at_last:
            out.seen[str(record.get("id"))] = fingerprint(record)
        return out


class KeysetRead:
    """One read of one module from a cursor; iterate `pages()`."""

    def __init__(self, where: str, fetch: Fetch, times_of: TimesOf, size: int):
        self.where = where  # "<connection>: <module>", for messages
        self.fetch = fetch
        self.times_of = times_of
        self.size = size
        # Seconds paged by offset, not yet checked: by second, what the cursor keeps of it
        # and the ids the read found at it.
        self.crowded: dict[str, tuple[Boundary, set[str]]] = {}

    def pages(self, since: Any) -> Iterator[Page]:
        end = yield from self._pass(Boundary.of(since))
        if not self.crowded:
            return
        for round_ in itertools.count():
            shifted = [s for s, (_kept, found) in self.crowded.items() if self._left(s, found)]
            if not shifted:
                break
            if round_ == SETTLE_ROUNDS:
                raise ConnectorError(
                    f"{self.where}: the records modified at {shifted[0]} kept changing while "
                    "they were read; the cursor stays before them and the next run reads them "
                    "again",
                    code="UNSETTLED",
                    retriable=True,
                )
            for second in shifted:
                kept, _found = self.crowded.pop(second)
                yield from self._pass(kept, only=second)
        self.crowded.clear()
        yield Page([], end.cursor())

    def _left(self, second: str, found: set[str]) -> bool:
        """Whether a record found at `second` has left it since (edited or deleted): then
        the offsets inside it may have shifted under the read."""
        now = self.times_of(sorted(found))
        return any(not same_instant(now.get(i), second) for i in found)

    def _pass(self, boundary: Boundary, only: str | None = None) -> Generator[Page, None, Boundary]:
        """Pages from `boundary` to the end (or, with `only`, to the end of that second);
        returns the boundary after the last record."""
        page, token, empty = 1, None, 0
        while True:
            records, info = self.fetch(boundary.time, page, token)
            more = bool(info.get("more_records"))
            empty = empty + 1 if not records and more else 0
            if empty >= EMPTY_PAGES_LIMIT:
                raise ConnectorError(
                    f"{self.where}: {empty} empty pages that say more follow", code="EMPTY_PAGES"
                )
            fresh = [r for r in records if not boundary.already_read(r)]
            crowded = (
                more
                and bool(records)
                and boundary.time is not None
                and all(same_instant(r.get("Modified_Time"), boundary.time) for r in records)
            )
            boundary = boundary.moved_on(records)
            if crowded:
                # A whole page of one second: page on inside it by offset, checked at the end.
                assert boundary.time is not None
                _kept, found = self.crowded.get(boundary.time, (boundary, set()))
                found.update(str(r.get("id")) for r in records)
                self.crowded[boundary.time] = (boundary, found)
                token = info.get("next_page_token")
                page += 1
                if token is None and (page - 1) * self.size >= DISCRETE_ROWS:
                    raise ConnectorError(
                        f"{self.where}: more than {DISCRETE_ROWS} records modified at "
                        f"{boundary.time} and no page_token was given",
                        code="PAGINATION",
                    )
            else:
                page, token = 1, None
            if only is not None:
                fresh = [r for r in fresh if same_instant(r.get("Modified_Time"), only)]
                if not crowded:
                    more = False  # past the second: what follows was read already
            held = next(iter(self.crowded.values()))[0] if self.crowded else boundary
            yield Page(fresh, held.cursor())
            if not more:
                return boundary


def instant(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def same_instant(a: Any, b: Any) -> bool:
    first, second = instant(a), instant(b)
    return first is not None and first == second


def fingerprint(record: Record) -> str:
    """A short digest of a record as read: equal when nothing in it changed. The `$` keys
    are left out: Get Records adds them ($editable, $state ...) and COQL does not, and a
    record must read the same both ways (coql.py)."""
    return whole_fingerprint({k: v for k, v in record.items() if not k.startswith("$")})


def whole_fingerprint(record: Record) -> str:
    """The digest of every key: what cursors saved before COQL reads took `$` keys out."""
    data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2b(data, digest_size=8).hexdigest()
