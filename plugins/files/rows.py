"""The rows of the two formats. Reading the lines of a file into records, or into bad rows
that say where and why: one broken line is reported where it is and the lines after it are
still read (JSON lines: bad JSON, a line that is not an object; CSV: a row with more cells
than the header, a quoted cell never closed, which would swallow every later row, text
after a closing quote). And CSV cells: nested fields as dotted columns and back."""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

Record = dict[str, Any]

# A quoted cell may hold newlines; one that runs on for more lines than this is taken to be
# a quote that was never closed.
MAX_ROW_LINES = 1000


@dataclass(frozen=True)
class BadRow:
    """A line (or CSV row) of a file that holds no record: its line number, why, its text."""

    line: int
    message: str
    raw: str
    # The file's last line, without its line end and not a whole record: a write cut short
    # (by a crash) rather than bad data. Readers skip it; the next write cuts it off.
    torn: bool = False
    file: str = ""


@dataclass(frozen=True)
class Row:
    """One CSV row: the line it starts on and its cells."""

    line: int
    cells: list[str]


class _Lines:
    """The physical lines a csv reader pulls, numbered; the lines of the row being read are
    kept, so those after a broken row's first line can be given back and read again. Past
    MAX_ROW_LINES lines of one row it answers "end of file", which ends an unclosed quote."""

    def __init__(self, lines: Iterable[str]):
        self.source = iter(lines)
        self.pending: deque[tuple[int, str]] = deque()
        self.number = 0
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_ROW_LINES:
            raise StopIteration
        if self.pending:
            line = self.pending.popleft()
        else:
            text = next(self.source)  # StopIteration at the end
            self.number += 1
            line = (self.number, text)
        self.taken.append(line)
        return line[1]

    def give_back(self) -> None:
        """Every line of the current row but its first is read again, as rows of its own."""
        self.pending.extendleft(reversed(self.taken[1:]))


def read_rows(lines: Iterable[str], header: list[str] | None = None) -> Iterator[Row | BadRow]:
    """Rows (the header first, unless `header` is given) or bad rows, from physical lines
    that keep their line endings. The last line may lack its ending."""
    feed = _Lines(lines)
    reader = csv.reader(feed, strict=True)
    width = len(header) if header is not None else None
    while True:
        feed.taken = []
        try:
            cells = next(reader)
        except StopIteration:
            if not feed.taken:
                return
            cells = None  # a row cut off at MAX_ROW_LINES lines
            why = _NOT_CLOSED
        except csv.Error as exc:
            # Over several lines (or to the end), the quote that opened on the first one was
            # never closed; on one line, something else is wrong.
            why = (
                _NOT_CLOSED
                if len(feed.taken) > 1 or "end of data" in str(exc)
                else (f"not a valid CSV row ({exc})")
            )
            cells = None
        if not feed.taken:
            return
        start, first = feed.taken[0]
        if cells is None:
            if len(feed.taken) == 1 and not first.endswith(("\n", "\r")):
                yield BadRow(start, "an incomplete last row", _shown(first), torn=True)
                return
            feed.give_back()
            yield BadRow(start, why, _shown(first))
            continue
        if not cells:
            continue  # a blank line
        if width is None:
            width = len(cells)
            yield Row(start, cells)
            continue
        text = first if len(feed.taken) == 1 else "".join(t for _n, t in feed.taken)
        if len(cells) != width and not text.endswith(("\n", "\r")):
            yield BadRow(start, "an incomplete last row", _shown(text), torn=True)
            return
        if len(feed.taken) > 1 and len(cells) != width:
            # A quote left open on this line, closed by a stray one further down: only this
            # line is bad; the lines it swallowed are rows of their own.
            feed.give_back()
            yield BadRow(start, _NOT_CLOSED, _shown(first))
            continue
        if not text.isascii() and not all(_is_text(cell) for cell in cells):
            yield BadRow(start, "not UTF-8 text", _shown(text))
            continue
        if len(cells) > width:
            yield BadRow(
                start,
                f"the row has {len(cells)} cells but the header has {width} columns "
                "(the cells past the last column would be lost)",
                _shown(text),
            )
            continue
        yield Row(start, cells)


_NOT_CLOSED = (
    'a quoted cell is not closed (no closing " before the end of the file or of the row); '
    "the lines after it are read as rows of their own"
)


def _shown(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").rstrip("\r\n")


def _is_text(cell: str) -> bool:
    """False for a cell holding bytes that were not UTF-8 (read as lone surrogates)."""
    if cell.isascii():
        return True
    try:
        cell.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def whole_csv_row(header: bytes, tail: bytes) -> bool:
    """Whether a last line without its line end is a whole row: as many cells as the
    header (or the header itself)."""
    if header == tail:
        return True
    try:
        [names] = list(csv.reader([header.decode("utf-8")], strict=True))
        [cells] = list(csv.reader([tail.decode("utf-8")], strict=True))
    except (csv.Error, UnicodeDecodeError, ValueError):
        return False
    return len(cells) == len(names)


# ---- JSON lines ---------------------------------------------------------------------------


def json_entry(line: bytes, number: int) -> dict[str, Any] | BadRow:
    """The record on one line of a JSON-lines file, or why there is none."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if not line.endswith(b"\n"):
            return BadRow(number, "an incomplete last line", text_of(line), torn=True)
        text = text_of(line)
        column = min(exc.pos, len(text)) + 1
        return BadRow(number, f"not valid JSON ({exc.msg}, at column {column})", text)
    if not isinstance(value, dict):
        return BadRow(
            number,
            f"not a record: each line must hold one JSON object {{...}}, this one holds "
            f"{_kind(value)}",
            text_of(line),
        )
    return value


def whole_json_record(tail: bytes) -> bool:
    try:
        return isinstance(orjson.loads(tail), dict)
    except orjson.JSONDecodeError:
        return False


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a text"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number"


def text_of(line: bytes) -> str:
    return line.decode("utf-8", "replace").rstrip("\r\n")


# ---- CSV cells -----------------------------------------------------------------------------


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def unflatten(row: Mapping[str, str]) -> Record:
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


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return str(value)


def csv_line(values: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


def header_of(records: Sequence[Record], start: Sequence[str]) -> list[str]:
    header = list(start)
    for record in records:
        for key in flatten(record):
            if key not in header:
                header.append(key)
    return header
