"""lookup('connection.Object', {field: value}): the object is read in full once per run (the
same read a match index of that object uses), then answered from memory, kept up to date
with what the run writes to it. Text compares ignoring case and extra spaces."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from integrate.connector import BadRecord, Page, Record
from integrate.engine.context import RunContext
from integrate.engine.objects import RunObjects
from integrate.engine.values import normalize, pick
from integrate.errors import RecordError

_MODES = frozenset({"case", "whitespace"})

Index = dict[tuple[Any, ...], Record]


class LookupCache:
    def __init__(
        self,
        ctx: RunContext,
        objects: RunObjects,
        unreadable: Callable[[str, BadRecord], None] | None = None,
    ):
        self.ctx = ctx
        self.objects = objects
        # Told of each record of a looked-up object that could not be read ("conn.Object").
        self.unreadable = unreadable
        self.indexes: dict[tuple[str, tuple[str, ...]], Index] = {}
        # per index, where each record's id stands in it (to move it when the run writes it)
        self._keys: dict[tuple[str, tuple[str, ...]], dict[str, tuple[Any, ...]]] = {}
        self._listening: set[str] = set()

    def _records(self, ref: str) -> Iterable[Record]:
        connection, _, obj = ref.partition(".")
        connector = self.ctx.connectors.get(connection)
        if connector is None:
            raise RecordError(f"lookup('{ref}'): there is no connection '{connection}'")
        info = self.ctx.info(connection, obj)

        def load(fields: tuple[str, ...] | None) -> Iterable[Page]:
            for page in connector.read(obj, since=None, fields=fields, page_size=info.page_size):
                self.ctx.stop.check()  # a safe point: between pages
                for bad in page.failures:
                    if self.unreadable is not None:
                        self.unreadable(ref, bad)
                yield page

        copy = self.objects.copy(connection, obj, info.id_field, load)
        if ref not in self._listening:
            self._listening.add(ref)
            self.objects.listen(
                connection, obj, lambda _o, record, old: self._written(ref, record, old)
            )
        for page in copy.pages():
            yield from page.records

    def lookup(self, ref: str, query: Any) -> Any:
        if not isinstance(query, Mapping) or not query:
            raise RecordError(
                f"lookup('{ref}', ...) needs an object of fields to match, like {{name: Department}}"
            )
        fields = tuple(sorted(query))
        wanted = tuple(normalize(query[f], _MODES) for f in fields)
        if any(v is None for v in wanted):
            return None
        key = (ref, fields)
        index = self.indexes.get(key)
        if index is None:
            index, where = {}, {}
            id_field = self._id_field(ref)
            for record in self._records(ref):
                values = _values(record, fields)
                if values not in index:
                    index[values] = record
                    where[str(record.get(id_field))] = values
            self.indexes[key] = index
            self._keys[key] = where
        return index.get(wanted)

    def _id_field(self, ref: str) -> str:
        connection, _, obj = ref.partition(".")
        return self.ctx.info(connection, obj).id_field

    def _written(self, ref: str, record: Record | None, old_id: str) -> None:
        """The run wrote a record of a looked-up object: found by its new values from now."""
        id_field = self._id_field(ref)
        for key, index in self.indexes.items():
            if key[0] != ref:
                continue
            where = self._keys[key]
            before = where.pop(old_id, None)
            if before is not None and str(index.get(before, {}).get(id_field)) == old_id:
                del index[before]
            if record is not None:
                values = _values(record, key[1])
                if values not in index:
                    index[values] = record
                    where[str(record.get(id_field))] = values


def _values(record: Record, fields: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(normalize(pick(record, f), _MODES) for f in fields)
