"""A file handed from one connector to another without being held whole: an event flow's
`attach` action gives the target the bytes of the source record's attachment as a
`FileStream` under the values key `ATTACHMENT_FIELD` (docs/plugins.md, "Attachments")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

# The values key under which an `attach` action's WriteItem carries the file itself (the
# `$` keeps it apart from the spec's own fields, which never start with one).
ATTACHMENT_FIELD = "$file"


@dataclass(frozen=True)
class FileStream:
    """A file's name, its declared size (None: not known before it is read) and a way to
    read it in pieces. Nothing is fetched until it is iterated; each iteration opens it
    again (a retried upload reads it from the start). Opening or reading may raise
    ConnectorError (a download refused, or cut at its limit: code RESPONSE_TOO_LARGE)."""

    name: str
    open: Callable[[], Iterator[bytes]]
    size: int | None = None

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.open())

    def __repr__(self) -> str:  # never the bytes, nor the opener's internals
        size = "unknown size" if self.size is None else f"{self.size:,} bytes"
        return f"FileStream({self.name!r}, {size})"
