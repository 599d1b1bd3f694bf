"""The link table: which record of one side is which record of the other, per flow, and what
each side held when the flow last synced it.

Compact by design (a link is written for every record a sync touches): flows and objects are
integer keys (`names`), rows are appended in the order they are written (so a batch dirties
few pages, whatever order its source is read in), and a sync flow keeps of each field
only a digest of its value — enough to tell whether it changed (change detection), whether a
value that comes back is the one the sync wrote (echo suppression) and whether both sides
changed it (conflicts). Event flows keep the values themselves: their handlers are told what a
field was before.

A snapshot is stored as one blob: `0` + JSON of {field: value}, or `1` + the id of its field
list (`fieldsets`) + each field in that list's order: a value whose JSON fits in 8 bytes as its
length and that JSON (so a plan can still show it), a longer one as `0` and an 8-byte digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from integrate.statedb import Db

SCHEMA = """
CREATE TABLE IF NOT EXISTS names(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  UNIQUE(kind, name)
);
CREATE TABLE IF NOT EXISTS fieldsets(id INTEGER PRIMARY KEY, fields TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS links(
  flow INTEGER NOT NULL,
  a_object INTEGER NOT NULL,
  a_id TEXT NOT NULL,
  b_object INTEGER NOT NULL,
  b_id TEXT NOT NULL,
  a_values BLOB NOT NULL,
  b_values BLOB NOT NULL,
  run_id INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS links_by_a ON links(flow, a_object, a_id);
CREATE UNIQUE INDEX IF NOT EXISTS links_by_b ON links(flow, b_object, b_id);
"""
# Rows go in the order they are written (a rowid table), each end found by its own index.
# The versions before kept the table in a-id order (WITHOUT ROWID): a source read in another
# order (by modification time) then rewrote pages all over the table in every batch, which
# cost more than the rest of a batch's commit (bench/RESULTS.md, scenario T).
_CLUSTERED = "WITHOUT ROWID"

_VALUES = b"\x00"
_DIGESTS = b"\x01"
_SIZE = 8  # bytes of digest per field
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_SHORT = tuple(bytes((n,)) for n in range(_SIZE + 1))  # a short value's length byte
_LONG = b"\x00"
_NOTHING = _VALUES + b"{}"  # an empty snapshot, in either form
# digests of recent values kept by a LinkTable (a bounded cache: at most 4,096 values of up
# to 256 bytes each)
_DIGESTS_KEPT, _DIGEST_KEPT_SIZE = 4096, 256


class Digest(bytes):
    """What a link keeps of a field's value in a sync flow: a fingerprint, equal for values
    the engine counts as the same (1 and 1.0; a missing value and null)."""

    def __repr__(self) -> str:
        return "Digest(…)"


def digest(value: Any) -> Digest:
    if type(value) is Digest:
        return value
    return Digest(_blake(_dumps(value)))


def _dumps(value: Any) -> bytes:
    kind = type(value)
    if kind is float or kind is dict or kind is list or kind is tuple:
        value = _canonical(value)
    return orjson.dumps(value, option=_OPTIONS)


def _blake(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_SIZE).digest()


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


@dataclass
class Link:
    """One pair of linked records and what each side held when last synced (values, or the
    digests of the values)."""

    a_id: str
    b_id: str
    a_object: str
    b_object: str
    a_values: dict[str, Any]
    b_values: dict[str, Any]

    def id_of(self, side_index: int) -> str:
        return self.a_id if side_index == 0 else self.b_id

    def object_of(self, side_index: int) -> str:
        return self.a_object if side_index == 0 else self.b_object

    def values_of(self, side_index: int) -> dict[str, Any]:
        return self.a_values if side_index == 0 else self.b_values


class LinkTable:
    """The links of one integration in a state (its connection). `keys`: gives the connection
    that adds the names links are keyed by (flows, objects, field lists), asked for when a name
    is first added: on PostgreSQL a second one that commits each at once, so runs of other
    integrations adding the same object's name never wait on (or deadlock with) this run's
    batch; on SQLite (and by default) the same connection."""

    def __init__(self, db: Db, integration: str, *, keys: Callable[[], Db] | None = None):
        self.db = db
        self._keys = keys or (lambda: db)
        self.sqlite = isinstance(db, sqlite3.Connection)
        self.integration = integration
        self._ids: dict[tuple[str, str], int] = {}
        self._names: dict[int, str] = {}
        self._fieldsets: dict[tuple[str, ...], int] = {}
        self._fields_of: dict[int, tuple[str, ...]] = {}
        # a snapshot's keys as given -> (its fields in order, its field list's id, encoded)
        self._orders: dict[tuple[str, ...], tuple[tuple[str, ...], bytes]] = {}
        # the digests of recent values (an encoded value -> its digest): a link's
        # two snapshots mostly hold the same values, and many values repeat across records
        self._digests: dict[bytes, bytes] = {}
        # links saved in this transaction, written together at commit and before anything
        # reads the table: every method that queries links calls flush() first
        self._new: list[tuple[Any, ...]] = []

    @staticmethod
    def create(db: sqlite3.Connection) -> None:
        """The tables, made from an older state file's links where there is one."""
        columns = {row[1] for row in db.execute("PRAGMA table_info(links)")}
        if "integration" in columns:
            _migrate(db)
        elif _CLUSTERED in _table_sql(db):
            _unclustered(db)
        else:
            db.executescript(SCHEMA)

    # ---- keys -------------------------------------------------------------------------------

    def _id(self, kind: str, name: str, *, make: bool = True) -> int | None:
        key = (kind, name)
        found = self._ids.get(key)
        if found is not None:
            return found
        row = self.db.execute(
            "SELECT id FROM names WHERE kind = ? AND name = ?", (kind, name)
        ).fetchone()
        if row is None:
            if not make:
                return None
            row = self._add("names", ("kind", "name"), (kind, name))
        self._ids[key] = int(row[0])
        self._names[int(row[0])] = name
        return int(row[0])

    def _name(self, id: int) -> str:
        name = self._names.get(id)
        if name is None:
            row = self.db.execute("SELECT name FROM names WHERE id = ?", (id,)).fetchone()
            name = str(row[0])
            self._names[id] = name
        return name

    def _flow(self, flow: str, *, make: bool = False) -> int | None:
        return self._id("flow", f"{self.integration}\x1f{flow}", make=make)

    def _object(self, obj: str, *, make: bool = False) -> int | None:
        return self._id("object", obj, make=make)

    # ---- snapshots --------------------------------------------------------------------------

    def encode(self, values: Mapping[str, Any], *, compact: bool) -> bytes:
        if not compact:
            kept = {k: v for k, v in values.items() if not isinstance(v, Digest)}
            return _VALUES + orjson.dumps(kept, option=_OPTIONS)
        if not values:
            return _NOTHING
        order = tuple(values)
        known = self._orders.get(order)
        if known is None:
            fields = tuple(sorted(values))
            known = self._orders[order] = (fields, _varint(self._fieldset(fields)))
        fields, head = known
        # each field: a value whose JSON fits in a digest's room as it is, after its length
        # (a plan can show it), a longer one as 0 and its digest
        parts = [_DIGESTS, head]
        dumps, blake, short, options = orjson.dumps, hashlib.blake2b, _SHORT, _OPTIONS
        digests = self._digests
        known_digest = digests.get
        for f in fields:  # the hot loop of a sync's commits: calls kept to the C ones
            value = values[f]
            kind = type(value)
            if kind is Digest:
                parts += (_LONG, value)
                continue
            if kind is float or kind is dict or kind is list or kind is tuple:
                value = _canonical(value)
            data = dumps(value, option=options)
            if len(data) <= _SIZE:
                parts += (short[len(data)], data)
            else:
                hashed = known_digest(data)
                if hashed is None:
                    hashed = blake(data, digest_size=_SIZE).digest()
                    if len(data) <= _DIGEST_KEPT_SIZE:
                        if len(digests) >= _DIGESTS_KEPT:
                            digests.clear()
                        digests[data] = hashed
                parts += (_LONG, hashed)
        return b"".join(parts)

    def _add(self, table: str, columns: tuple[str, ...], values: tuple[str, ...]) -> Any:
        """The id of a new row of `names` or `fieldsets` (or of the same row another run
        added first)."""
        marks = ", ".join("?" * len(values))
        keys = self._keys()
        row = keys.execute(
            f"INSERT OR IGNORE INTO {table}({', '.join(columns)}) VALUES ({marks}) RETURNING id",
            values,
        ).fetchone()
        if row is None:
            where = " AND ".join(f"{c} = ?" for c in columns)
            row = keys.execute(f"SELECT id FROM {table} WHERE {where}", values).fetchone()
        return row

    def _fieldset(self, fields: tuple[str, ...]) -> int:
        fieldset = self._fieldsets.get(fields)
        if fieldset is None:
            text = orjson.dumps(list(fields)).decode()
            row = self.db.execute("SELECT id FROM fieldsets WHERE fields = ?", (text,)).fetchone()
            if row is None:
                row = self._add("fieldsets", ("fields",), (text,))
            fieldset = int(row[0])
            self._fieldsets[fields] = fieldset
            self._fields_of[fieldset] = fields
        return fieldset

    def decode(self, blob: bytes | str) -> dict[str, Any]:
        if isinstance(blob, str):  # written by an older version
            return dict(orjson.loads(blob))
        if blob[:1] == _VALUES:
            return dict(orjson.loads(blob[1:]))
        fieldset, at = _read_varint(blob, 1)
        fields = self._fields_of.get(fieldset)
        if fields is None:
            row = self.db.execute(
                "SELECT fields FROM fieldsets WHERE id = ?", (fieldset,)
            ).fetchone()
            fields = tuple(orjson.loads(row[0]))
            self._fields_of[fieldset] = fields
        out: dict[str, Any] = {}
        for f in fields:
            size = blob[at]
            if size:  # a short value, kept as it is
                out[f] = orjson.loads(blob[at + 1 : at + 1 + size])
                at += 1 + size
            else:
                out[f] = Digest(blob[at + 1 : at + 1 + _SIZE])
                at += 1 + _SIZE
        return out

    # ---- reading ----------------------------------------------------------------------------

    def _link(self, row: Sequence[Any]) -> Link:
        a_id, a_obj, b_id, b_obj, a_values, b_values = row
        return Link(
            a_id,
            b_id,
            self._name(a_obj),
            self._name(b_obj),
            self.decode(a_values),
            self.decode(b_values),
        )

    _COLS = "a_id, a_object, b_id, b_object, a_values, b_values"

    def links(
        self, flow: str, side_index: int, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Link]:
        """Links whose (object, id) on side 0 (a) or 1 (b) is one of `keys`, keyed by it.
        Ids are only unique within an object, so a link is found by both."""
        self.flush()
        flow_id = self._flow(flow)
        if flow_id is None:
            return {}
        id_col, obj_col = ("a_id", "a_object") if side_index == 0 else ("b_id", "b_object")
        by_object: dict[str, set[str]] = {}
        for obj, id_ in keys:
            by_object.setdefault(obj, set()).add(id_)
        out: dict[tuple[str, str], Link] = {}
        for obj, wanted in by_object.items():
            obj_id = self._object(obj)
            if obj_id is None:
                continue
            ids = sorted(wanted)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self.db.execute(
                    f"SELECT {self._COLS} FROM links WHERE flow = ? AND {obj_col} = ?"
                    f" AND {id_col} IN ({marks})",
                    (flow_id, obj_id, *chunk),
                ):
                    link = self._link(row)
                    out[(obj, link.id_of(side_index))] = link
        return out

    def pairs(self, flow: str, *, not_b_object: str) -> list[tuple[str, str, str]]:
        """(a_id, b_id, a_object) of every link of a flow whose b side is not `not_b_object`."""
        self.flush()
        flow_id = self._flow(flow)
        if flow_id is None:
            return []
        other = self._object(not_b_object)
        rows = self.db.execute(
            "SELECT a_id, b_id, a_object FROM links WHERE flow = ? AND b_object IS NOT ?",
            (flow_id, other),
        ).fetchall()
        return [(a, b, self._name(o)) for a, b, o in rows]

    def linked_to(self, flow: str, side_index: int, id: str, obj: str | None = None) -> str | None:
        """The id on the other side that `id` (on side 0 or 1, in `obj` if given) is linked to."""
        self.flush()
        flow_id = self._flow(flow)
        if flow_id is None:
            return None
        id_col, obj_col = ("a_id", "a_object") if side_index == 0 else ("b_id", "b_object")
        other = "b_id" if side_index == 0 else "a_id"
        sql = f"SELECT {other} FROM links WHERE flow = ? AND {id_col} = ?"
        args: list[Any] = [flow_id, id]
        if obj is not None:
            obj_id = self._object(obj)
            if obj_id is None:
                return None
            sql += f" AND {obj_col} = ?"
            args.append(obj_id)
        row = self.db.execute(sql + " LIMIT 1", args).fetchone()
        return row[0] if row else None

    def count(self) -> dict[str, int]:
        """Links per flow of this integration."""
        self.flush()
        prefix = f"{self.integration}\x1f"
        rows = self.db.execute(
            "SELECT n.name, COUNT(*) FROM links l JOIN names n ON n.id = l.flow"
            " WHERE n.kind = 'flow' AND substr(n.name, 1, ?) = ? GROUP BY n.name",
            (len(prefix), prefix),
        ).fetchall()
        return {name[len(prefix) :]: n for name, n in rows}

    # ---- writing ----------------------------------------------------------------------------

    def save(self, flow: str, link: Link, run_id: int | None, *, compact: bool) -> None:
        """Buffered until flush() (the transaction's end, or the next read)."""
        flow_id = self._flow(flow, make=True)
        self._new.append(
            (
                flow_id,
                self._object(link.a_object, make=True),
                link.a_id,
                self._object(link.b_object, make=True),
                link.b_id,
                self.encode(link.a_values, compact=compact),
                self.encode(link.b_values, compact=compact),
                run_id,
            )
        )

    def flush(self) -> None:
        if not self._new:
            return
        # REPLACE drops every older link that shares either end (a record relinked: moved, or
        # mapped by an operator) before the new one goes in.
        if self.sqlite:
            self.db.executemany(
                "INSERT OR REPLACE INTO links(flow, a_object, a_id, b_object, b_id, a_values,"
                " b_values, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                self._new,
            )
        else:
            self._replace(self._new)
        self._new.clear()

    def _replace(self, rows: list[tuple[Any, ...]]) -> None:
        """REPLACE as PostgreSQL does it: the older links sharing an end with any of the
        batch's links go (as each insert of SQLite's REPLACE drops them, even of a link a later
        one of the batch replaces); of the batch's links sharing an end, the last stands; then
        they go in (three statements a batch, each taking its rows as arrays: a statement a row
        cost a round trip each)."""
        flows, a_objects, a_ids, b_objects, b_ids = (
            list(c) for c in list(zip(*rows, strict=True))[:5]
        )
        for obj, ids, objects, of in (
            ("a_object", "a_id", a_objects, a_ids),
            ("b_object", "b_id", b_objects, b_ids),
        ):
            self.db.execute(
                "DELETE FROM links USING unnest(?::bigint[], ?::bigint[], ?::text[]) AS"
                f" gone(flow, obj, id) WHERE links.flow = gone.flow AND links.{obj} = gone.obj"
                f" AND links.{ids} = gone.id",
                (flows, objects, of),
            )
        ends: dict[tuple[Any, ...], int] = {}
        kept: dict[int, tuple[Any, ...]] = {}
        for index, row in enumerate(rows):
            for end in ((0, row[0], row[1], row[2]), (1, row[0], row[3], row[4])):
                earlier = ends.get(end)
                if earlier is not None:
                    kept.pop(earlier, None)
                ends[end] = index
            kept[index] = row
        columns = list(zip(*kept.values(), strict=True))  # a list per column: one statement each
        self.db.execute(
            "INSERT INTO links(flow, a_object, a_id, b_object, b_id, a_values, b_values, run_id)"
            " SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::bigint[], ?::text[],"
            " ?::bytea[], ?::bytea[], ?::bigint[])",
            tuple(list(c) for c in columns),
        )

    def discard(self) -> None:
        """The transaction was rolled back: what it saved is gone."""
        self._new.clear()

    def delete(self, flow: str, side_index: int, obj: str, id: str) -> None:
        self.flush()
        flow_id, obj_id = self._flow(flow), self._object(obj)
        if flow_id is None or obj_id is None:
            return
        id_col, obj_col = ("a_id", "a_object") if side_index == 0 else ("b_id", "b_object")
        self.db.execute(
            f"DELETE FROM links WHERE flow = ? AND {obj_col} = ? AND {id_col} = ?",
            (flow_id, obj_id, id),
        )

    def reset(self, flow: str | None = None) -> int:
        """Forget the links of one flow of this integration, or of all its flows."""
        self.flush()
        flows = [flow] if flow is not None else list(self.count())
        deleted = 0
        for name in flows:
            flow_id = self._flow(name)
            if flow_id is not None:
                deleted += self.db.execute("DELETE FROM links WHERE flow = ?", (flow_id,)).rowcount
        return deleted


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        byte = data[at]
        at += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, at
        shift += 7


def _table_sql(db: sqlite3.Connection) -> str:
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'links'"
    ).fetchone()
    return str(row[0]).upper() if row else ""


@contextlib.contextmanager
def _rebuilding(db: sqlite3.Connection, old: str) -> Iterator[None]:
    """One transaction that renames the links table to `old`, makes this version's tables,
    lets the caller copy the rows over, then drops `old` (or undoes it all)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DROP INDEX IF EXISTS links_by_b")
        db.execute(f"ALTER TABLE links RENAME TO {old}")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        yield
        db.execute(f"DROP TABLE {old}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _unclustered(db: sqlite3.Connection) -> None:
    """A state file whose links are kept in a-id order (WITHOUT ROWID) into this table, rows
    and values as they are."""
    with _rebuilding(db, "links_v2"):
        db.execute(
            "INSERT INTO links(flow, a_object, a_id, b_object, b_id, a_values, b_values, run_id)"
            " SELECT flow, a_object, a_id, b_object, b_id, a_values, b_values, run_id"
            " FROM links_v2"
        )


def _migrate(db: sqlite3.Connection) -> None:
    """An older state file's links (text keys, JSON values) into this table: the values are
    kept as they are, and become digests when a link is next saved."""
    with _rebuilding(db, "links_v1"):
        names: dict[tuple[str, str], int] = {}

        def key(kind: str, name: str) -> int:
            found = names.get((kind, name))
            if found is None:
                db.execute("INSERT OR IGNORE INTO names(kind, name) VALUES (?, ?)", (kind, name))
                (found,) = db.execute(
                    "SELECT id FROM names WHERE kind = ? AND name = ?", (kind, name)
                ).fetchone()
                names[(kind, name)] = found
            return found

        rows = db.execute(
            "SELECT integration, flow, a_object, a_id, b_object, b_id, a_values, b_values, run_id"
            " FROM links_v1"
        )
        batch: list[tuple[Any, ...]] = []
        for integration, flow, a_obj, a_id, b_obj, b_id, a_values, b_values, run_id in rows:
            batch.append(
                (
                    key("flow", f"{integration}\x1f{flow}"),
                    key("object", a_obj),
                    a_id,
                    key("object", b_obj),
                    b_id,
                    _VALUES + a_values.encode(),
                    _VALUES + b_values.encode(),
                    run_id,
                )
            )
        db.executemany(
            "INSERT OR REPLACE INTO links(flow, a_object, a_id, b_object, b_id, a_values,"
            " b_values, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
