"""lookup('connection.Object', {field: value}): reads the object once per flow run, then
answers from memory. Text compares ignoring case and extra spaces."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from integrate.connector import BadRecord, Record
from integrate.engine.context import RunContext
from integrate.engine.values import normalize, pick
from integrate.errors import RecordError

_MODES = frozenset({"case", "whitespace"})


class LookupCache:
    def __init__(self, ctx: RunContext, unreadable: Callable[[str, BadRecord], None] | None = None):
        self.ctx = ctx
        # Told of each record of a looked-up object that could not be read ("conn.Object").
        self.unreadable = unreadable
        self.records: dict[str, list[Record]] = {}
        self.indexes: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], Record]] = {}

    def _load(self, ref: str) -> list[Record]:
        records = self.records.get(ref)
        if records is None:
            connection, _, obj = ref.partition(".")
            connector = self.ctx.connectors.get(connection)
            if connector is None:
                raise RecordError(f"lookup('{ref}'): there is no connection '{connection}'")
            records = []
            size = self.ctx.info(connection, obj).page_size
            for page in connector.read(obj, since=None, page_size=size):
                records.extend(page.records)
                for bad in page.failures:
                    if self.unreadable is not None:
                        self.unreadable(ref, bad)
            self.records[ref] = records
        return records

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
            index = {}
            for record in self._load(ref):
                values = tuple(normalize(pick(record, f), _MODES) for f in fields)
                index.setdefault(values, record)
            self.indexes[key] = index
        return index.get(wanted)
