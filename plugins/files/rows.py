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


class _QuoteState:
    """Whether the text read so far ends inside a quoted cell (CSV's rules: a quote opens a
    quoted cell only at the start of a cell; inside one, `""` is a quote)."""

    def __init__(self) -> None:
        self.inside = False
        self.cell_start = True
        self.just_closed = False

    def feed(self, text: str) -> None:
        if '"' not in text and not self.inside:
            self.cell_start = text.endswith(("\n", "\r", ","))
            self.just_closed = False
            return
        for char in text:
            if self.inside:
                if char == '"':
                    self.inside = False
                    self.just_closed = True
                continue
            if char == '"' and (self.cell_start or self.just_closed):
                self.inside = True
                self.cell_start = self.just_closed = False
                continue
            self.just_closed = False
            self.cell_start = char in ",\r\n"


def read_rows(lines: Iterable[str], header: list[str] | None = None) -> Iterator[Row | BadRow]:
    """Rows (the header first, unless `header` is given) or bad rows, from physical lines
    that keep their line endings. The last line may lack its ending."""
    pending: deque[tuple[int, str]] = deque()
    source = iter(lines)
    number = 0
    width = len(header) if header is not None else None

    def next_line() -> tuple[int, str] | None:
        nonlocal number
        if pending:
            return pending.popleft()
        text = next(source, None)
        if text is None:
            return None
        number += 1
        return number, text

    while True:
        first = next_line()
        if first is None:
            return
        start, text = first
        if not text.strip("\r\n"):
            continue
        taken = [text]
        state = _QuoteState()
        state.feed(text)
        while state.inside and len(taken) < MAX_ROW_LINES:
            more = next_line()
            if more is None:
                break
            taken.append(more[1])
            state.feed(more[1])
        if state.inside:
            _give_back(pending, start, taken)
            yield BadRow(start, _NOT_CLOSED, _shown(text))
            continue
        try:
            [cells] = list(csv.reader(["".join(taken)], strict=True))
        except (csv.Error, ValueError) as exc:
            _give_back(pending, start, taken)
            # Over several lines, the quote that opened on the first one was never closed.
            why = _NOT_CLOSED if len(taken) > 1 else f"not a valid CSV row ({exc})"
            yield BadRow(start, why, _shown(text))
            continue
        if width is None:
            width = len(cells)
            yield Row(start, cells)
            continue
        if not taken[-1].endswith(("\n", "\r")) and len(cells) != width:
            yield BadRow(start, "an incomplete last row", _shown("".join(taken)), torn=True)
            return
        if len(taken) > 1 and len(cells) != width:
            # A quote left open on this line, closed by a stray one further down: only this
            # line is bad; the lines it swallowed are rows of their own.
            _give_back(pending, start, taken)
            yield BadRow(start, _NOT_CLOSED, _shown(text))
            continue
        if not all(_is_text(cell) for cell in cells):
            yield BadRow(start, "not UTF-8 text", _shown("".join(taken)))
            continue
        if len(cells) > width:
            yield BadRow(
                start,
                f"the row has {len(cells)} cells but the header has {width} columns "
                "(the cells past the last column would be lost)",
                _shown("".join(taken)),
            )
            continue
        yield Row(start, cells)


_NOT_CLOSED = (
    'a quoted cell is not closed (no closing " before the end of the file or of the row); '
    "the lines after it are read as rows of their own"
)


def _give_back(pending: deque[tuple[int, str]], start: int, taken: list[str]) -> None:
    """Put every line but the first back, to be read again as rows of their own."""
    for offset in range(len(taken) - 1, 0, -1):
        pending.appendleft((start + offset, taken[offset]))


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
