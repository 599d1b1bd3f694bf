"""Per-run scratch space on disk (a private temporary SQLite database), so that matching
indexes and two-way stashes never hold a whole object in memory."""

from __future__ import annotations

import difflib
import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from integrate.connector import Page, Record
from integrate.engine.values import key_text, normalize
from integrate.expressions import Expr

_names = itertools.count(1)


class Scratch:
    """One temporary database per run; deleted when closed."""

    def __init__(self) -> None:
        # An empty file name gives a private on-disk database that SQLite deletes on close.
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")

    def close(self) -> None:
        self.db.close()


@dataclass
class Candidate:
    id: str
    object: str
    record: Record


class TargetIndex:
    """Records of one side, found by normalised match key. Filled once, lazily, from a
    full read; records created during the run are added as they are made."""

    def __init__(
        self,
        scratch: Scratch,
        key_exprs: list[Expr],
        modes: frozenset[str],
        load: Callable[[], Iterable[tuple[str, Page]]],
        id_of: Callable[[str, Record], str],
    ):
        self.db = scratch.db
        self.table = f"idx_{next(_names)}"
        self.key_exprs = key_exprs
        self.modes = modes
        self._load = load
        self._id_of = id_of
        self.loaded = False
        self.reads = 0
        # records the run wrote, put in together before the next look-up (a batch's commits
        # bring a thousand at once; look-ups come one per record); None: gone
        self._made: dict[tuple[str, str], tuple[str | None, str, str, bytes] | None] = {}

    def key(self, record: Record) -> str | None:
        """The normalised key of a record on this index's side; None if a part is empty."""
        parts = []
        for expr in self.key_exprs:
            value = normalize(expr(record), self.modes)
            if value is None or value == "":
                return None
            parts.append(value)
        return key_text(parts)

    def _ensure(self) -> None:
        if self.loaded:
            return
        self.db.execute(f"CREATE TABLE {self.table}(key TEXT, id TEXT, object TEXT, record BLOB)")
        rows: list[tuple[str | None, str, str, bytes]] = []
        for obj, page in self._load():
            self.reads += 1
            for record in page.records:
                rows.append(self._row(obj, record))
            if len(rows) >= 1000:
                self._insert(rows)
                rows = []
        self._insert(rows)
        self.db.execute(f"CREATE INDEX {self.table}_key ON {self.table}(key)")
        self.db.execute(f"CREATE INDEX {self.table}_id ON {self.table}(id, object)")
        self.loaded = True

    def _row(self, obj: str, record: Record) -> tuple[str | None, str, str, bytes]:
        try:
            key = self.key(record)
        except Exception:  # noqa: BLE001  (a target record whose key cannot be computed matches nothing)
            key = None
        return key, self._id_of(obj, record), obj, orjson.dumps(record)

    def _insert(self, rows: list[tuple[str | None, str, str, bytes]]) -> None:
        if rows:
            self.db.executemany(f"INSERT INTO {self.table} VALUES (?, ?, ?, ?)", rows)

    def find(self, key: str) -> list[Candidate]:
        self._ensure()
        self._insert_made()
        rows = self.db.execute(
            f"SELECT id, object, record FROM {self.table} WHERE key = ?",
            (key,),
        ).fetchall()
        return [Candidate(i, o, orjson.loads(r)) for i, o, r in rows]

    def get(self, id: str) -> Candidate | None:
        self._ensure()
        self._insert_made()
        row = self.db.execute(
            f"SELECT id, object, record FROM {self.table} WHERE id = ?",
            (id,),
        ).fetchone()
        return None if row is None else Candidate(row[0], row[1], orjson.loads(row[2]))

    def put(self, obj: str, record: Record | None, old_id: str) -> None:
        """A record the run wrote (None: it left this object): found as it is now."""
        if not self.loaded:
            return
        if old_id:
            self._made[(obj, old_id)] = None
        if record is not None:
            row = self._row(obj, record)
            self._made[(obj, row[1])] = row

    def _insert_made(self) -> None:
        if self._made:
            gone = list(self._made)
            self.db.executemany(f"DELETE FROM {self.table} WHERE object = ? AND id = ?", gone)
            self._insert([row for row in self._made.values() if row is not None])
            self._made = {}

    def similar(
        self, label: str, exclude: Callable[[str, str], bool], limit: int = 5
    ) -> list[dict[str, Any]]:
        """Up to `limit` records whose key text is most like `label` (for the pending queue);
        `exclude(object, id)` leaves out records that are taken."""
        self._ensure()
        self._insert_made()
        scored: list[tuple[float, str, str, str]] = []
        wanted = label.casefold()
        rows = self.db.execute(f"SELECT id, object, key FROM {self.table} LIMIT 20000")
        for id_, obj, key in rows:
            if key is None or exclude(obj, id_):
                continue
            text = " ".join(str(v) for v in orjson.loads(key))
            ratio = difflib.SequenceMatcher(None, wanted, text.casefold()).ratio()
            scored.append((ratio, id_, obj, text))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [
            {"id": i, "object": o, "label": t, "score": round(r, 2)}
            for r, i, o, t in scored[:limit]
            if r > 0.3
        ]


class Stash:
    """Changed records of one side, held on disk until the other side has been read.
    Records are known by (object, id): ids are only unique within an object."""

    def __init__(self, scratch: Scratch):
        self.db = scratch.db
        self.table = f"stash_{next(_names)}"
        self.db.execute(
            f"CREATE TABLE {self.table}(object TEXT, id TEXT, record BLOB, handled INTEGER DEFAULT 0,"
            " PRIMARY KEY(object, id))"
        )
        self.count = 0

    def put(self, obj: str, id: str, record: Record) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO {self.table}(object, id, record) VALUES (?, ?, ?)",
            (obj, id, orjson.dumps(record)),
        )
        self.count += 1

    def get(self, obj: str, id: str) -> Record | None:
        row = self.db.execute(
            f"SELECT record FROM {self.table} WHERE object = ? AND id = ?",
            (obj, id),
        ).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def mark(self, obj: str, id: str) -> None:
        self.db.execute(
            f"UPDATE {self.table} SET handled = 1 WHERE object = ? AND id = ?",
            (obj, id),
        )

    def _pages(self, where: str, batch: int) -> Iterator[list[tuple[str, str, Record]]]:
        last = 0
        while True:
            rows = self.db.execute(
                f"SELECT rowid, id, object, record FROM {self.table} WHERE {where} rowid > ?"
                " ORDER BY rowid LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [(i, o, dict(orjson.loads(r))) for _n, i, o, r in rows]

    def unhandled(self, batch: int = 500) -> Iterator[list[tuple[str, str, Record]]]:
        """(id, object, record) of the records no other part of the run has handled."""
        yield from self._pages("handled = 0 AND", batch)

    def all(self, batch: int = 500) -> Iterator[tuple[str, Page]]:
        """Every stashed record, as pages per object (for a match index)."""
        for rows in self._pages("", batch):
            by_object: dict[str, list[Record]] = {}
            for _id, obj, record in rows:
                by_object.setdefault(obj, []).append(record)
            for obj, records in by_object.items():
                yield obj, Page(records)
