"""One object as files: a base file of records (JSON lines or CSV) that only ever grows,
and a changes file (JSON lines) holding newer versions of updated or removed records.

Creates append to the base; updates append their merged record to the changes file; a
reader streams the base with the (small) changes laid over it. `compact()` folds the
changes into a new base (temp file, fsync, rename). Every append is flushed and fsynced
before it is acknowledged, and a torn last line left by a crash is cut off on open, so a
killed writer never leaves a half record behind.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

Record = dict[str, Any]
DELETED = "$deleted"


class TableError(Exception):
    """A record cannot be written (duplicate id, unknown id)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class Table:
    def __init__(self, base: Path, *, fmt: str, id_field: str, read_only: bool = False):
        self.base = base
        self.changes = base.with_name(base.name + ".changes.jsonl")
        self.fmt = fmt
        self.id_field = id_field
        self._overlay: dict[str, Record] | None = None
        self._offsets: dict[str, int] | None = None
        self._next_id: int | None = None
        self._header: list[str] | None = None
        # Read-only (a dry run): no repair, no compaction; readers skip torn lines anyway.
        self._repaired = read_only
        self.read_only = read_only
        self._csv_rows: dict[str, Record] | None = None

    # ---- reading ----------------------------------------------------------------------

    def overlay(self) -> dict[str, Record]:
        if self._overlay is None:
            self._repair()
            overlay: dict[str, Record] = {}
            if self.changes.exists():
                with self.changes.open("rb") as fh:
                    for line in fh:
                        if line.endswith(b"\n"):
                            record = orjson.loads(line)
                            overlay[str(record[self.id_field])] = record
            self._overlay = overlay
        return self._overlay

    def _base_rows(self) -> Iterator[tuple[int, Record]]:
        """(position, record) of every complete record of the base file. For JSON lines the
        position is the byte offset; for CSV it is the row number."""
        if not self.base.exists():
            return
        with self.base.open("rb") as fh:
            if self.fmt == "csv":
                text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
                reader = csv.reader(text)
                header = next(reader, None)
                if header is None:
                    return
                self._header = header
                for number, values in enumerate(reader):
                    yield number, _unflatten(dict(zip(header, values, strict=False)))
                return
            offset = 0
            for line in fh:
                if not line.endswith(b"\n"):
                    return
                if line.strip():
                    yield offset, orjson.loads(line)
                offset += len(line)

    def scan(self) -> Iterator[Record]:
        """Every current record, in the order it was first made."""
        overlay = self.overlay()
        seen_in_base: set[str] | None = set() if overlay else None
        for _offset, record in self._base_rows():
            if seen_in_base is not None:
                key = str(record.get(self.id_field))
                newer = overlay.get(key)
                if newer is not None:
                    seen_in_base.add(key)
                    if newer.get(DELETED):
                        continue
                    record = newer
            yield record
        if overlay:
            assert seen_in_base is not None
            for key, record in overlay.items():
                if key not in seen_in_base and not record.get(DELETED):
                    yield record

    def get(self, id: str) -> Record | None:
        overlay = self.overlay()
        if id in overlay:
            record = overlay[id]
            return None if record.get(DELETED) else record
        if self.fmt == "csv":
            if self._csv_rows is None:
                self._csv_rows = {str(r.get(self.id_field)): r for _n, r in self._base_rows()}
            return self._csv_rows.get(id)
        offset = self.offsets().get(id)
        if offset is None:
            return None
        with self.base.open("rb") as fh:
            fh.seek(offset)
            line = fh.readline()
        stored: Record = orjson.loads(line)
        return stored

    def offsets(self) -> dict[str, int]:
        """id → offset of every record in the base (built once, on the first need)."""
        if self._offsets is None:
            self._offsets = {str(r.get(self.id_field)): off for off, r in self._base_rows()}
        return self._offsets

    # ---- writing ----------------------------------------------------------------------

    def new_id(self) -> str:
        if self._next_id is None:
            highest = 0
            for record in self.scan():
                text = str(record.get(self.id_field, ""))
                if text.isdigit():
                    highest = max(highest, int(text))
            self._next_id = highest + 1
        value = self._next_id
        self._next_id += 1
        return str(value)

    def claim_id(self, id: str) -> None:
        """A caller-given id: later generated ids go past it."""
        if id.isdigit() and self._next_id is not None and int(id) >= self._next_id:
            self._next_id = int(id) + 1

    def exists(self, id: str) -> bool:
        return self.get(id) is not None

    def create(self, records: Sequence[Record]) -> None:
        """Append new records (each already has its id)."""
        self._repair()
        offsets = self._offsets
        lines: list[bytes] = []
        overflow: list[Record] = []
        if self.fmt == "csv":
            header = self._csv_header(records)
            for record in records:
                flat = _flatten(record)
                if not set(flat) <= set(header):
                    overflow.append(record)
                    continue
                lines.append(_csv_line([_cell(flat.get(h)) for h in header]))
        else:
            lines = [orjson.dumps(r) + b"\n" for r in records]
        if lines:
            self.base.parent.mkdir(parents=True, exist_ok=True)
            with self.base.open("ab") as fh:
                start = fh.tell()
                fh.write(b"".join(lines))
                fh.flush()
                os.fsync(fh.fileno())
            if self._csv_rows is not None:
                for record in records:
                    if record not in overflow:
                        self._csv_rows[str(record[self.id_field])] = record
            if offsets is not None and self.fmt != "csv":
                position = start
                written = [r for r in records if r not in overflow]
                for record, line in zip(written, lines, strict=True):
                    offsets[str(record[self.id_field])] = position
                    position += len(line)
        if overflow:
            self._append_changes(overflow)

    def replace(self, records: Sequence[Record]) -> None:
        """Store newer versions of existing records (or tombstones)."""
        self._append_changes(records)

    def _append_changes(self, records: Sequence[Record]) -> None:
        overlay = self.overlay()
        self.changes.parent.mkdir(parents=True, exist_ok=True)
        with self.changes.open("ab") as fh:
            fh.write(b"".join(orjson.dumps(r) + b"\n" for r in records))
            fh.flush()
            os.fsync(fh.fileno())
        for record in records:
            overlay[str(record[self.id_field])] = record

    def compact(self) -> None:
        """Fold the changes file into a fresh base file."""
        if self.read_only:
            return
        self._repair()
        if not self.changes.exists():
            return
        records = list(self.scan()) if self.fmt == "csv" else None
        tmp = self.base.with_name(self.base.name + ".tmp")
        with tmp.open("wb") as out:
            if self.fmt == "csv":
                assert records is not None
                header = _header_of(records, self._header or [])
                out.write(_csv_line(header))
                for record in records:
                    flat = _flatten(record)
                    out.write(_csv_line([_cell(flat.get(h)) for h in header]))
                self._header = header
            else:
                for record in self.scan():
                    out.write(orjson.dumps(record) + b"\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.base)
        _fsync_dir(self.base.parent)
        self.changes.unlink()
        self._overlay = {}
        self._offsets = None
        self._csv_rows = None

    def _repair(self) -> None:
        """Cut a torn last line (left by a killed writer) off both files."""
        if self._repaired:
            return
        self._repaired = True
        for path in (self.base, self.changes):
            _cut_torn_line(path)

    def _csv_header(self, records: Sequence[Record]) -> list[str]:
        if self._header is None and self.base.exists() and self.base.stat().st_size > 0:
            with self.base.open("rb") as fh:
                first = fh.readline()
            if first.endswith(b"\n"):
                self._header = next(csv.reader([first.decode("utf-8")]))
        if self._header is None:
            self._header = _header_of(records, [])
            self.base.parent.mkdir(parents=True, exist_ok=True)
            with self.base.open("ab") as fh:
                fh.write(_csv_line(self._header))
        return self._header


def _cut_torn_line(path: Path) -> None:
    if not path.exists():
        return
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        # Walk back to the last newline and cut there.
        position = size
        chunk = 4096
        while position > 0:
            start = max(0, position - chunk)
            fh.seek(start)
            data = fh.read(position - start)
            cut = data.rfind(b"\n")
            if cut >= 0:
                fh.truncate(start + cut + 1)
                break
            position = start
        else:
            fh.truncate(0)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _unflatten(row: Mapping[str, str]) -> Record:
    out: Record = {}
    for key, text in row.items():
        value: Any = None if text == "" else text
        if "." not in key:
            out[key] = value
            continue
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def _csv_line(values: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


def _header_of(records: Sequence[Record], start: Sequence[str]) -> list[str]:
    header = list(start)
    for record in records:
        for key in _flatten(record):
            if key not in header:
                header.append(key)
    return header
