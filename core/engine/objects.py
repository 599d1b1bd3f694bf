"""Objects read in full once per run (for a match index, for `lookup()`), kept on disk in the
run's scratch space and up to date with the run's own writes: one read of SDP's accounts
serves both the accounts flow's matching and the requesters flow's look-ups."""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import orjson

from integrate.connector import Page, Record, WriteResult, merge_values
from integrate.engine.scratch import Scratch
from integrate.expressions import Expr

_names = itertools.count(1)

# listener(object, record or None (gone), the id it had before)
Listener = Callable[[str, Record | None, str], None]
# loader() -> pages of the object, read in full
Loader = Callable[[], Iterable[Page]]


class ObjectCopy:
    """Every record of one object of one connection, as read and then as written."""

    def __init__(self, scratch: Scratch, id_field: str, fields: tuple[str, ...] | None):
        self.db = scratch.db
        self.table = f"copy_{next(_names)}"
        self.id_field = id_field
        self.fields = fields  # what the read asked for (None: every field)
        self.db.execute(f"CREATE TABLE {self.table}(id TEXT PRIMARY KEY, record BLOB)")
        self.count = 0

    def covers(self, fields: tuple[str, ...] | None) -> bool:
        """Whether this copy holds the fields a reader needs."""
        return self.fields is None or (fields is not None and set(fields) <= set(self.fields))

    def fill(self, pages: Iterable[Page]) -> None:
        rows: list[tuple[str, bytes]] = []
        for page in pages:
            for record in page.records:
                rid = record.get(self.id_field)
                if rid is None or rid == "":
                    continue
                rows.append((str(rid), orjson.dumps(record)))
            if len(rows) >= 1000:
                self._insert(rows)
                rows = []
        self._insert(rows)

    def _insert(self, rows: list[tuple[str, bytes]]) -> None:
        if rows:
            self.db.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", rows)
            self.count += len(rows)

    def pages(self, size: int = 500) -> Iterator[Page]:
        """The records, as pages (in the order they were read, then written)."""
        last = 0
        while True:
            rows = self.db.execute(
                f"SELECT rowid, record FROM {self.table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, size),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield Page([dict(orjson.loads(r)) for _n, r in rows])

    def get(self, id: str) -> Record | None:
        row = self.db.execute(f"SELECT record FROM {self.table} WHERE id = ?", (id,)).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def put(self, record: Record) -> None:
        self._insert([(str(record[self.id_field]), orjson.dumps(record))])

    def remove(self, id: str) -> None:
        self.db.execute(f"DELETE FROM {self.table} WHERE id = ?", (id,))


class RunObjects:
    """The objects a run has read in full, by (connection, object)."""

    def __init__(self, scratch: Scratch, looked_up: Iterable[str] = ()):
        self.scratch = scratch
        # "connection.Object" of every object a spec's expressions look up: read with every
        # field the first time, whoever reads it first (a look-up returns whole records)
        self.looked_up = frozenset(looked_up)
        self.copies: dict[tuple[str, str], ObjectCopy] = {}
        self.listeners: dict[tuple[str, str], list[Listener]] = {}
        self.reads = 0  # full reads made

    def copy(
        self,
        connection: str,
        obj: str,
        id_field: str,
        load: Callable[[tuple[str, ...] | None], Iterable[Page]],
        fields: tuple[str, ...] | None = None,
    ) -> ObjectCopy:
        """The object's copy, read now unless a copy with these fields was read already."""
        if f"{connection}.{obj}" in self.looked_up:
            fields = None
        found = self.copies.get((connection, obj))
        if found is not None and found.covers(fields):
            return found
        made = ObjectCopy(self.scratch, id_field, fields)
        made.fill(load(fields))
        self.reads += 1
        self.copies[(connection, obj)] = made
        return made

    def peek(self, connection: str, obj: str, id: str) -> Record | None:
        """A record of an object read in full already (no read is made for it)."""
        copy = self.copies.get((connection, obj))
        return copy.get(id) if copy is not None else None

    def forget(self, connection: str, obj: str) -> None:
        """Read it again next time (the system may hold what the run could not see); whoever
        listened builds anew from the next read."""
        self.copies.pop((connection, obj), None)
        self.listeners.pop((connection, obj), None)

    def listen(self, connection: str, obj: str, listener: Listener) -> None:
        """Be told of each record the run writes to this object."""
        self.listeners.setdefault((connection, obj), []).append(listener)

    def unlisten(self, listener: Listener) -> None:
        """No longer be told (a flow's match index, once the flow has run)."""
        for listeners in self.listeners.values():
            while listener in listeners:
                listeners.remove(listener)

    def watched(self, connection: str, obj: str) -> bool:
        """Whether the run keeps a copy of this object or anyone listens to its writes."""
        key = (connection, obj)
        return key in self.copies or bool(self.listeners.get(key))

    def written(
        self,
        connection: str,
        obj: str,
        id_field: str,
        result: WriteResult,
        values: Mapping[str, Any],
        old_id: str | None,
        moved_from: str | None = None,
    ) -> None:
        """A write landed: the copies (and whoever listens) hold the record as it is now."""
        new_id = str(result.id or old_id or "")
        if moved_from is not None and old_id is not None:
            gone = self.copies.get((connection, moved_from))
            if gone is not None:
                gone.remove(old_id)
            for listener in self.listeners.get((connection, moved_from), ()):
                listener(moved_from, None, old_id)
        copy = self.copies.get((connection, obj))
        listeners = self.listeners.get((connection, obj), ())
        if copy is None and not listeners:
            return
        before = copy.get(old_id) if copy is not None and old_id and moved_from is None else None
        if result.record:
            record = dict(result.record)
        else:
            record = merge_values(before or {}, values)
        record.setdefault(id_field, new_id)
        if copy is not None:
            if old_id and old_id != new_id:
                copy.remove(old_id)
            copy.put(record)
        for listener in listeners:
            listener(obj, record, old_id or new_id)


_LOOKUP = re.compile(r"""lookup\(\s*['"]([^'"]+)['"]""")


def looked_up(flows: Iterable[Any]) -> set[str]:
    """Every "connection.Object" the flows' expressions look up (by a literal reference)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, Expr):
            found.update(_LOOKUP.findall(value.text))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    for flow in flows:
        walk(flow)
    return found
