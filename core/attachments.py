"""A file handed from one connector to another without being held whole: an event flow's
`attach` action gives the target the bytes of the source record's attachment as a
`FileStream` under the values key `ATTACHMENT_FIELD` (docs/plugins.md, "Attachments")."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from integrate.connector import Connector

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


def source_file(
    connector: Connector, object: str, id: str, values: Mapping[str, Any]
) -> FileStream | None:
    """The attachment an `attach` action's values name (`attachment_id`, `file_name`,
    `file_size`) on record `id` of the source, opened only when the target reads it; None
    when the source's plugin cannot download (no Connector.download) or no id is given."""
    attachment_id = values.get("attachment_id")
    if type(connector).download is Connector.download or attachment_id in (None, ""):
        return None
    wanted = str(attachment_id)

    def opened() -> Iterator[bytes]:
        return connector.download(object, id, wanted)

    return FileStream(
        name=str(values.get("file_name") or wanted),
        open=opened,
        size=_declared(values.get("file_size")),
    )


def _declared(size: Any) -> int | None:
    """A `file_size` as bytes: a number, or digits as text (Zoho's `Size`); else unknown."""
    if isinstance(size, bool):
        return None
    if isinstance(size, int | float):
        return int(size)
    if isinstance(size, str) and size.strip().isdigit():
        return int(size.strip())
    return None
