"""One object as files: a base file of records (JSON lines or CSV) that only ever grows,
and a changes file (JSON lines) holding newer versions of updated or removed records.

Creates append to the base; updates append their merged record to the changes file; a
reader streams the base with the (small) changes laid over it. `compact()` folds the
changes into a new base (temp file, fsync, rename). Every append is flushed and fsynced
before it is acknowledged, and a torn last line left by a crash is cut off before the next
write, so a killed writer never leaves a half record behind.

A line that holds no record (bad JSON, a broken CSV row) is never a crash and never lost:
readers hand it over as a BadRow with its line number, and a file holding one is not
compacted (which would drop it). No file is opened through a symbolic link.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from integrate import PluginError
from integrate_files.rows import (
    BadRow,
    Row,
    cell,
    csv_line,
    flatten,
    header_of,
    json_entry,
    read_rows,
    text_of,
    unflatten,
    whole_csv_row,
    whole_json_record,
)
from integrate_files.safeio import (
    fsync_dir,
    open_append,
    open_new,
    open_read,
    repair_last_line,
)

Record = dict[str, Any]
DELETED = "$deleted"
Entry = Record | BadRow

_log = logging.getLogger("integrate.files")


class Table:
    def __init__(
        self,
        base: Path,
        *,
        fmt: str,
        id_field: str,
        read_only: bool = False,
        log: logging.Logger | None = None,
    ):
        self.base = base
        self.changes = base.with_name(base.name + ".changes.jsonl")
        self.tmp = base.with_name(base.name + ".tmp")
        self.fmt = fmt
        self.id_field = id_field
        self.log = log or _log
        self._overlay: dict[str, Record] | None = None
        self._bad_changes: list[BadRow] = []
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
            overlay: dict[str, Record] = {}
            bad: list[BadRow] = []
            if self.changes.exists():
                with open_read(self.changes) as fh:
                    for number, line in enumerate(fh, 1):
                        if not line.strip():
                            continue
                        entry = json_entry(line, number)
                        if isinstance(entry, BadRow):
                            if entry.torn:
                                self._skip_torn(self.changes, entry)
                            else:
                                bad.append(dataclasses.replace(entry, file=str(self.changes)))
                            continue
                        key = entry.get(self.id_field)
                        if key is None or key == "":
                            why = f"a newer version without its '{self.id_field}'"
                            bad.append(BadRow(number, why, text_of(line), file=str(self.changes)))
                            continue
                        overlay[str(key)] = entry
            self._overlay = overlay
            self._bad_changes = bad
        return self._overlay

    def _base_entries(self) -> Iterator[tuple[int, Entry]]:
        """(position, record or bad row) for every line of the base file that is not
        blank. For JSON lines the position is the byte offset; for CSV the line number."""
        if not self.base.exists():
            return
        with open_read(self.base) as fh:
            if self.fmt == "csv":
                yield from self._csv_entries(fh)
                return
            offset = 0
            for number, line in enumerate(fh, 1):
                if line.strip():
                    entry = json_entry(line, number)
                    if isinstance(entry, BadRow) and entry.torn:
                        self._skip_torn(self.base, entry)
                        return
                    yield offset, entry
                offset += len(line)

    def _csv_entries(self, fh: Any) -> Iterator[tuple[int, Entry]]:
        lines = io.TextIOWrapper(fh, encoding="utf-8", errors="surrogateescape", newline="")
        header: list[str] | None = None
        for row in read_rows(lines):
            if header is None:
                header = self._csvheader_of(row)
                continue
            if isinstance(row, BadRow):
                if row.torn:
                    self._skip_torn(self.base, row)
                    return
                yield row.line, row
            else:
                yield row.line, unflatten(dict(zip(header, row.cells, strict=False)))

    def _csvheader_of(self, row: Row | BadRow) -> list[str]:
        where = f"files: {self.base}:{row.line}"
        if isinstance(row, BadRow):
            raise PluginError(f"{where}: the header is not a valid CSV row: {row.message}")
        seen: set[str] = set()
        for name in row.cells:
            if name in seen:
                raise PluginError(
                    f"{where}: the header names the column '{name}' twice (one would be lost)"
                )
            seen.add(name)
        self._header = row.cells
        return row.cells

    def _skip_torn(self, path: Path, row: BadRow) -> None:
        self.log.warning(
            "files: %s:%d: skipped an incomplete last line (a write cut short)", path, row.line
        )

    def entries(self) -> Iterator[Entry]:
        """Every current record, in the order it was first made, and every line of the
        base and changes files that holds none (as a BadRow naming its file and line)."""
        overlay = self.overlay()
        seen_in_base: set[str] | None = set() if overlay else None
        for _position, entry in self._base_entries():
            if isinstance(entry, BadRow):
                yield dataclasses.replace(entry, file=str(self.base))
                continue
            record = entry
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
        yield from self._bad_changes

    def scan(self) -> Iterator[Record]:
        """Every current record, in the order it was first made."""
        for entry in self.entries():
            if not isinstance(entry, BadRow):
                yield entry

    def _base_records(self) -> Iterator[tuple[int, Record]]:
        for position, entry in self._base_entries():
            if not isinstance(entry, BadRow):
                yield position, entry

    def get(self, id: str) -> Record | None:
        overlay = self.overlay()
        if id in overlay:
            record = overlay[id]
            return None if record.get(DELETED) else record
        if self.fmt == "csv":
            if self._csv_rows is None:
                self._csv_rows = {str(r.get(self.id_field)): r for _n, r in self._base_records()}
            return self._csv_rows.get(id)
        offset = self.offsets().get(id)
        if offset is None:
            return None
        with open_read(self.base) as fh:
            fh.seek(offset)
            line = fh.readline()
        stored: Record = orjson.loads(line)
        return stored

    def offsets(self) -> dict[str, int]:
        """id → offset of every record in the base (built once, on the first need)."""
        if self._offsets is None:
            self._offsets = {str(r.get(self.id_field)): off for off, r in self._base_records()}
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
                flat = flatten(record)
                if not set(flat) <= set(header):
                    overflow.append(record)
                    continue
                lines.append(csv_line([cell(flat.get(h)) for h in header]))
        else:
            lines = [orjson.dumps(r) + b"\n" for r in records]
        if lines:
            self.base.parent.mkdir(parents=True, exist_ok=True)
            with open_append(self.base) as fh:
                start = fh.tell()
                fh.write(b"".join(lines))
                fh.flush()
                _fsync(fh)
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
        self._repair()
        self.changes.parent.mkdir(parents=True, exist_ok=True)
        with open_append(self.changes) as fh:
            fh.write(b"".join(orjson.dumps(r) + b"\n" for r in records))
            fh.flush()
            _fsync(fh)
        for record in records:
            overlay[str(record[self.id_field])] = record

    def compact(self) -> None:
        """Fold the changes file into a fresh base file. Not while a line of either file
        holds no record: rewriting would drop it (it is reported on every read instead)."""
        if self.read_only or not self.changes.exists():
            return
        self._repair()
        entries = list(self.entries()) if self.fmt == "csv" else None
        bad = 0
        with open_new(self.tmp) as out:
            if entries is not None:
                bad = sum(1 for e in entries if isinstance(e, BadRow))
                records = [e for e in entries if not isinstance(e, BadRow)]
                header = header_of(records, self._header or [])
                out.write(csv_line(header))
                for record in records:
                    flat = flatten(record)
                    out.write(csv_line([cell(flat.get(h)) for h in header]))
            else:
                for entry in self.entries():
                    if isinstance(entry, BadRow):
                        bad += 1
                        continue
                    out.write(orjson.dumps(entry) + b"\n")
            out.flush()
            _fsync(out)
        if bad:
            self.tmp.unlink()
            self.log.warning(
                "files: %s not compacted: %d line(s) hold no record; fix them (each is "
                "reported where it is when the object is read)",
                self.base,
                bad,
            )
            return
        self.tmp.replace(self.base)
        fsync_dir(self.base.parent)
        self.changes.unlink()
        if entries is not None:
            self._header = header_of(
                [e for e in entries if not isinstance(e, BadRow)], self._header or []
            )
        self._overlay = {}
        self._bad_changes = []
        self._offsets = None
        self._csv_rows = None

    def _repair(self) -> None:
        """End, or cut off, a last line left without its line end (see repair_last_line)."""
        if self._repaired:
            return
        self._repaired = True
        base_whole = self._whole_csv_row if self.fmt == "csv" else whole_json_record
        repair_last_line(self.base, base_whole, self.log)
        repair_last_line(self.changes, whole_json_record, self.log)

    def _whole_csv_row(self, tail: bytes) -> bool:
        with open_read(self.base) as fh:
            header = fh.readline()
        return whole_csv_row(header, tail)

    def _csv_header(self, records: Sequence[Record]) -> list[str]:
        if self._header is None and self.base.exists() and self.base.stat().st_size > 0:
            with open_read(self.base) as fh:
                first = fh.readline()
            if first.endswith(b"\n"):
                self._header = next(csv.reader([first.decode("utf-8")]))
        if self._header is None:
            self._header = header_of(records, [])
            self.base.parent.mkdir(parents=True, exist_ok=True)
            with open_append(self.base) as fh:
                fh.write(csv_line(self._header))
        return self._header


def _fsync(fh: Any) -> None:
    os.fsync(fh.fileno())
