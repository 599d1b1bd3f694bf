"""`RecordStore`: an emulated system's records by module and id, with ids handed out in order,
a version that moves on with every change (so caches of listings know when they are stale),
indexes a vendor keeps up to date through two hooks, the records of a time window (modified
or created since, until), and a snapshot for save/restore."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from integrate.emulation.paging import Window

T = TypeVar("T")


class StoredRow:
    """One record as an emulator keeps it: its id, module, values in the vendor's own shape
    (lookups as bare ids, say) and created / modified times in the vendor's own unit."""

    __slots__ = ("created", "id", "modified", "module", "values")

    def __init__(self, id: str, module: str, values: dict[str, Any], created: int, modified: int):
        self.id = id
        self.module = module
        self.values = values
        self.created = created
        self.modified = modified


class RecordStore:
    """Records of several modules, by id. Every change goes through `put`, `replace` or
    `remove`, which move `version` on and call the `index` / `unindex` hooks a vendor's store
    overrides to keep its own look-ups (unique keys, children of a record ...). `snapshot` and
    `restore` keep the records and the id counter between runs; a subclass that holds more
    (users, a deleted-records log) extends both."""

    # At most this many kept values (`kept`) for one version of the data.
    KEPT = 32

    def __init__(self, modules: Iterable[str], *, last_id: int = 0):
        self.rows: dict[str, dict[str, StoredRow]] = {name: {} for name in modules}
        self.by_id: dict[str, StoredRow] = {}
        self.counter = last_id  # the last id number handed out
        self.version = 0  # moves on with every change (caches compare it)
        self._kept: dict[Any, Any] = {}
        self._kept_version = -1

    # ---- ids ----------------------------------------------------------------------------

    def id_for(self, number: int) -> str:
        """The id of the `number`th record (override for the vendor's shape of ids)."""
        return str(number)

    def new_id(self) -> str:
        self.counter += 1
        return self.id_for(self.counter)

    # ---- changes ------------------------------------------------------------------------

    def add(self, module: str, values: dict[str, Any], created: int, modified: int) -> StoredRow:
        """A new record with the next id."""
        return self.put(StoredRow(self.new_id(), module, values, created, modified))

    def put(self, row: StoredRow) -> StoredRow:
        """Keep a row whose id is already set (new rows, or rows read back from a save)."""
        self.version += 1
        self.rows[row.module][row.id] = row
        self.by_id[row.id] = row
        self.index(row)
        return row

    def replace(self, row: StoredRow, values: dict[str, Any], modified: int) -> None:
        """New values for a row; its modified time never goes back."""
        self.version += 1
        self.unindex(row)
        row.values = values
        row.modified = max(row.modified, modified)
        self.index(row)

    def remove(self, row: StoredRow) -> None:
        self.version += 1
        self.unindex(row)
        del self.rows[row.module][row.id]
        del self.by_id[row.id]

    def changed(self) -> None:
        """Something the rows are read with changed (a field added to a catalogue): what was
        kept for the old version is stale."""
        self.version += 1

    # ---- the vendor's indexes -----------------------------------------------------------

    def index(self, row: StoredRow) -> None:
        """A row came in or got new values: add it to the vendor's look-ups."""

    def unindex(self, row: StoredRow) -> None:
        """A row goes or is about to get new values: take it out of the vendor's look-ups."""

    def clear_indexes(self) -> None:
        """Empty the vendor's look-ups (before a restore puts every row back)."""

    # ---- reads --------------------------------------------------------------------------

    def get(self, module: str, id: str) -> StoredRow | None:
        return self.rows[module].get(id)

    def kept(self, key: Any, make: Callable[[], T]) -> T:
        """`make()`, kept under `key` until the next change: a listing paged through by a
        reader is sorted once, not once per page."""
        if self._kept_version != self.version:
            self._kept.clear()
            self._kept_version = self.version
        if key in self._kept:
            found: T = self._kept[key]
            return found
        if len(self._kept) >= self.KEPT:
            self._kept.clear()
        value = self._kept[key] = make()
        return value

    def between(
        self,
        module: str,
        start: int | None = None,
        end: int | None = None,
        *,
        created: bool = False,
    ) -> Window[StoredRow]:
        """The rows of `module` modified (or `created`) from `start` to `end`, both included
        (None: no bound), in that time's order, then by id (as text): what a vendor's
        "changed since" listing answers from. The order is sorted once per version and a
        window taken on it, so paging a big listing costs the page."""
        rows, times = self.kept(
            ("between", module, created), lambda: self._by_time(module, created)
        )
        low = 0 if start is None else bisect.bisect_left(times, start)
        high = len(rows) if end is None else bisect.bisect_right(times, end)
        return Window(rows, low, max(low, high))

    def _by_time(self, module: str, created: bool) -> tuple[list[StoredRow], list[int]]:
        def at(row: StoredRow) -> int:
            return row.created if created else row.modified

        rows = sorted(self.rows[module].values(), key=lambda r: (at(r), r.id))
        return rows, [at(r) for r in rows]

    # ---- save and restore ---------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The records and the id counter, as JSON-able data."""
        return {
            "last_id": self.counter,
            "rows": [
                [r.module, r.id, r.values, r.created, r.modified]
                for rows in self.rows.values()
                for r in rows.values()
            ],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `snapshot` gave: every row put again (indexes rebuilt)."""
        for rows in self.rows.values():
            rows.clear()
        self.by_id.clear()
        self.clear_indexes()
        for module, id, values, created, modified in state["rows"]:
            self.put(StoredRow(id, module, values, created, modified))
        self.counter = state["last_id"]
