"""An attachment sent as `multipart/form-data` with one part named `file` (targets.md §4.4,
ASSUMED), streamed: the framing is written here around the file's pieces as they come, so
the body is never held whole, and the bytes are counted on the way out: past the limit the
upload stops (the request is abandoned mid-body, so Ideolve never gets a whole file) and
`TooLarge` says so."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator

from integrate import ConnectorError

TOO_LARGE = "ATTACHMENT_TOO_LARGE"


class TooLarge(ConnectorError):
    """The file is larger than the connection's max_attachment_bytes."""

    def __init__(self, name: str, limit: int, *, declared: int | None = None):
        size = f"is {declared:,} bytes, " if declared is not None else "is "
        super().__init__(
            f"attachment {name!r} {size}over Ideolve's limit of {limit:,} bytes "
            "(max_attachment_bytes); it was not attached",
            code=TOO_LARGE,
        )


def _quoted(name: str) -> str:
    """A filename for a Content-Disposition parameter, as browsers write it (HTML's
    multipart/form-data encoding): `"`, CR and LF percent-encoded, UTF-8 otherwise."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartFile(Iterable[bytes]):
    """The body of one upload: iterating it opens the file again (a resent request starts
    over), frames its pieces and counts them against `limit`."""

    def __init__(self, name: str, pieces: Iterable[bytes], limit: int):
        self.name = name
        self.pieces = pieces
        self.limit = limit
        self.boundary = f"integrate-{secrets.token_hex(16)}"
        self.sent = 0  # file bytes handed to the transport by the last iteration

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __iter__(self) -> Iterator[bytes]:
        self.sent = 0
        yield (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{_quoted(self.name)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        for piece in self.pieces:
            if not piece:
                continue
            self.sent += len(piece)
            if self.sent > self.limit:
                raise TooLarge(self.name, self.limit)
            yield bytes(piece)
        yield f"\r\n--{self.boundary}--\r\n".encode()
