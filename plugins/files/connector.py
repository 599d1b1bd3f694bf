"""The files connector: a folder of JSON-lines or CSV files, one file per object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from integrate import (
    CREATE,
    GET,
    MOVE,
    READ,
    UPDATE,
    UPSERT,
    BadRecord,
    Condition,
    Connector,
    ConnectorContext,
    FieldInfo,
    ObjectInfo,
    Page,
    PluginError,
    WriteItem,
    WriteResult,
    merge_values,
    reveal,
)
from integrate_files.rows import BadRow
from integrate_files.safeio import refuse_link
from integrate_files.settings import CONFIG_SCHEMA, OBJECT_NAME, catalogue, setting
from integrate_files.table import DELETED, Table

__version__ = "0.1.0"


class FilesConnector(Connector):
    """Objects are files in one folder; records are JSON objects (or CSV rows)."""

    plugin = "files"
    version = __version__
    config_schema = CONFIG_SCHEMA
    description = "A folder of JSON-lines or CSV files, one per object."

    def __init__(self, config: Mapping[str, Any], context: ConnectorContext):
        super().__init__(config, context)
        root = Path(reveal(config["path"])).expanduser()
        if not root.is_absolute() and context.base_dir:
            root = Path(context.base_dir) / root
        self.root = root
        self.tables: dict[str, Table] = {}

    # ---- settings -----------------------------------------------------------------------

    def _setting(self, obj: str, key: str, default: Any) -> Any:
        return setting(self.config, obj, key, default)

    @classmethod
    def offline_fields(cls, config: Mapping[str, Any], object: str) -> dict[str, FieldInfo] | None:
        """The `fields` setting is the catalogue: known from the spec alone."""
        return catalogue(
            setting(config, object, "fields", None),
            setting(config, object, "id_field", "id"),
            setting(config, object, "cursor_field", None),
        )

    def _table(self, obj: str) -> Table:
        table = self.tables.get(obj)
        if table is None:
            if not OBJECT_NAME.match(obj):
                raise KeyError(obj)
            fmt = self._setting(obj, "format", "jsonl")
            name = self._setting(obj, "file", f"{obj}.{fmt}")
            wanted = self.root / name
            path = wanted.resolve()
            if not path.is_relative_to(self.root.resolve()):
                how = " (it is a symbolic link to a file outside it)" if wanted.is_symlink() else ""
                raise PluginError(
                    f"files: the file of object {obj} must be inside {self.root}{how}"
                )
            table = Table(
                path,
                fmt=fmt,
                id_field=self._setting(obj, "id_field", "id"),
                read_only=self.context.read_only,
                log=self.context.logger,
            )
            # The files files writes itself: a link there would make a read or a write land
            # wherever it points.
            for own in (table.changes, table.tmp):
                if own.is_symlink():
                    raise refuse_link(own)
            self.tables[obj] = table
        return table

    # ---- describing ---------------------------------------------------------------------

    def objects(self) -> list[str]:
        names = set(self.config.get("objects", {}))
        if self.root.is_dir():
            for path in self.root.iterdir():
                if path.suffix in (".jsonl", ".csv") and not path.name.endswith(".changes.jsonl"):
                    names.add(path.stem)
        return sorted(n for n in names if OBJECT_NAME.match(n))

    def describe(self, object: str) -> ObjectInfo:
        table = self._table(object)
        return ObjectInfo(
            name=object,
            id_field=table.id_field,
            page_size=int(self._setting(object, "page_size", 500)),
            write_batch=int(self._setting(object, "batch_size", 1000)),
            operations=frozenset({READ, GET, CREATE, UPDATE, UPSERT, MOVE}),
            actions=frozenset(self.config.get("actions", {})),
            sorted_reads=False,
            modified_field=self._setting(object, "cursor_field", None),
            fields=catalogue(
                self._setting(object, "fields", None),
                table.id_field,
                self._setting(object, "cursor_field", None),
            ),
            description=f"records of {table.base.name}",
        )

    # ---- reading ------------------------------------------------------------------------

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        where: Condition | None = None,  # not pushed down: the engine filters what is read
    ) -> Iterator[Page]:
        table = self._table(object)
        size = page_size or int(self._setting(object, "page_size", 500))
        cursor_field = self._setting(object, "cursor_field", None)
        newest = since
        page: list[dict[str, Any]] = []
        bad: list[BadRecord] = []
        for record in table.entries():
            if isinstance(record, BadRow):
                # Its time is unknown: it is handed over on every read until it is fixed.
                bad.append(BadRecord(f"{record.file}:{record.line}", record.message, record.raw))
                continue
            if cursor_field is not None:
                stamp = record.get(cursor_field)
                if since is not None and (stamp is None or not _after(stamp, since)):
                    continue
                if stamp is not None and (newest is None or _after(stamp, newest)):
                    newest = stamp
            page.append(record)
            if len(page) >= size:
                yield Page(page, newest, bad)
                page, bad = [], []
        if page or bad or newest is not None:
            yield Page(page, newest, bad)

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        table = self._table(object)
        return [r for r in (table.get(str(i)) for i in ids) if r is not None]

    # ---- writing ------------------------------------------------------------------------

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        if operation == CREATE:
            return self._create(object, items)
        if operation == UPDATE:
            return self._update(object, items)
        if operation == UPSERT:
            return self._upsert(object, items)
        if operation == MOVE:
            return self._move(object, items)
        raise PluginError(f"files cannot {operation} records")

    def _stamp(self, obj: str, records: list[dict[str, Any]]) -> None:
        """Set the change time on records a write made or changed (objects with one)."""
        cursor_field = self._setting(obj, "cursor_field", None)
        if cursor_field is not None:
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
            for record in records:
                record[cursor_field] = stamp

    def _create(self, obj: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        table = self._table(obj)
        results: list[WriteResult] = []
        rows = []
        fresh: set[str] = set()
        for item in items:
            record = dict(item.values)
            given = record.get(table.id_field)
            if given is not None and given != "":
                key = str(given)
                if key in fresh or table.exists(key):
                    results.append(
                        WriteResult.failure(
                            item.ref, f"a record with id {key} exists", "DUPLICATE_ID"
                        )
                    )
                    continue
                table.claim_id(key)
            else:
                key = table.new_id()
                record[table.id_field] = key
            fresh.add(key)
            rows.append(record)
            results.append(WriteResult.success(item.ref, key, record=record, created=True))
        self._stamp(obj, rows)
        table.create(rows)
        return results

    def _update(self, obj: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        table = self._table(obj)
        results: list[WriteResult] = []
        rows = []
        for item in items:
            current = table.get(str(item.id)) if item.id is not None else None
            if current is None:
                results.append(
                    WriteResult.failure(item.ref, f"no record with id {item.id}", "NOT_FOUND")
                )
                continue
            record = merge_values(current, item.values)
            record[table.id_field] = current[table.id_field]
            rows.append(record)
            results.append(WriteResult.success(item.ref, str(item.id), record=record))
        self._stamp(obj, rows)
        table.replace(rows)
        return results

    def _upsert(self, obj: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        table = self._table(obj)
        creates: list[WriteItem] = []
        updates: list[WriteItem] = []
        index: dict[tuple[Any, ...], str] = {}
        keys = items[0].keys if items else ()
        if not keys:
            raise PluginError("files: upsert needs the fields to match on (upsert_on)")
        for record in table.scan():
            index.setdefault(tuple(_pick(record, k) for k in keys), str(record[table.id_field]))
        for item in items:
            found = index.get(tuple(_pick(item.values, k) for k in keys))
            if found is None:
                creates.append(item)
            else:
                updates.append(WriteItem(item.ref, item.values, id=found, keys=keys))
        results = self._create(obj, creates) + self._update(obj, updates)
        made = {i.ref for i in creates}
        for result in results:
            result.created = result.ref in made
        order = {item.ref: n for n, item in enumerate(items)}
        return sorted(results, key=lambda r: order[r.ref])

    def _move(self, obj: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        results: list[WriteResult] = []
        for item in items:
            source = self._table(item.from_object or obj)
            current = source.get(str(item.id))
            if current is None:
                results.append(
                    WriteResult.failure(item.ref, f"no record with id {item.id}", "NOT_FOUND")
                )
                continue
            moved = merge_values(
                {k: v for k, v in current.items() if k != source.id_field}, item.values
            )
            [created] = self._create(obj, [WriteItem(item.ref, moved)])
            if created.ok:
                source.replace([{source.id_field: current[source.id_field], DELETED: True}])
            results.append(created)
        return results

    def act(self, object: str, action: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        list_field = self.config.get("actions", {}).get(action)
        if list_field is None:
            raise PluginError(f"files: no action '{action}' (configure it under `actions`)")
        table = self._table(object)
        results: list[WriteResult] = []
        rows: dict[str, dict[str, Any]] = {}
        for item in items:
            key = str(item.id)
            current = rows.get(key) or table.get(key)
            if current is None:
                results.append(
                    WriteResult.failure(item.ref, f"no record with id {item.id}", "NOT_FOUND")
                )
                continue
            record = dict(current)
            record[list_field] = [*record.get(list_field, []), dict(item.values)]
            rows[key] = record
            results.append(WriteResult.success(item.ref, key))
        self._stamp(object, list(rows.values()))
        table.replace(list(rows.values()))
        return results

    def related(self, object: str, id: str, related: str) -> Iterator[Page]:
        relation = self.config.get("related", {}).get(object, {}).get(related)
        if relation is None:
            raise PluginError(
                f"files: {object} has no related list '{related}' (configure it under `related`)"
            )
        matches = [
            r
            for r in self._table(relation["object"]).scan()
            if str(_pick(r, relation["field"])) == str(id)
        ]
        yield Page(matches)

    def close(self) -> None:
        for table in self.tables.values():
            table.compact()


def _after(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a > b
    return str(a) > str(b)


def _pick(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
