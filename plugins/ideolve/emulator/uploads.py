"""An attachment's upload read as it streams in: a `multipart/form-data` body (RFC 7578, CRLF
line breaks) whose one part named `file` is counted and hashed chunk by chunk, never held.
Past the limit reading stops (413), so the emulator holds at most a chunk and a part's headers,
whatever the client sends.

Neither of werkzeug's parsers is used: `request.files` reads the whole body (spooling files
over 500 KB to disk) before anything could be counted, and its sans-IO `MultipartDecoder`
(werkzeug 3.1) hands a file's last CR over as data when a chunk ends just after the closing
boundary's dashes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

from werkzeug.http import parse_options_header

CHUNK = 64 * 1024
HEADERS = 16 * 1024  # the most a part's headers may take
# What the body may hold besides the file (framing, other parts) before reading stops.
SLACK = 1024 * 1024
PART = "file"


@dataclass(frozen=True)
class Upload:
    """What was uploaded: the file part's name, size in bytes, SHA-256 and content type."""

    filename: str
    size: int
    sha256: str
    content_type: str


class UploadRefused(Exception):
    """An upload not taken: `reason` is `too_large`, `no_file`, `two_files`, `no_name` or
    `broken`."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"upload refused: {reason}")
        self.reason = reason


def read_upload(stream: IO[bytes], content_type: str, limit: int) -> Upload:
    """The file part of a multipart body read from `stream`, at most `limit` bytes of it (one
    byte more is `too_large`: reading stops there)."""
    kind, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not 0 < len(boundary) <= 70 or not boundary.isascii():
        raise UploadRefused("no_file")
    parser = _Parser(boundary.encode("ascii"), limit)
    read = 0
    while not parser.done:
        data = stream.read(CHUNK)
        if not data:
            raise UploadRefused("broken")  # the body ended before its closing boundary
        read += len(data)
        if read > limit + SLACK:
            raise UploadRefused("too_large")
        parser.feed(data)
    if parser.found is None:
        raise UploadRefused("no_file")
    return parser.found


class _Parser:
    """The body's parts as its bytes come: the preamble passed over, each part's headers read,
    the file part's bytes counted and hashed, other parts' bytes passed over."""

    def __init__(self, boundary: bytes, limit: int) -> None:
        self.first = b"--" + boundary
        self.delimiter = b"\r\n--" + boundary
        self.limit = limit
        self.buffer = bytearray()
        self.state = "preamble"  # preamble | after | headers | body | done
        self.done = False
        self.found: Upload | None = None
        self._file: tuple[str, str] | None = None  # (filename, content type) being read
        self._size = 0
        self._hash = hashlib.sha256()

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while not self.done and self._step():
            pass

    def _step(self) -> bool:
        """One step on the buffer; False when it needs more data."""
        if self.state == "preamble":
            return self._preamble()
        if self.state == "after":
            return self._after()
        if self.state == "headers":
            return self._headers()
        return self._body()

    def _preamble(self) -> bool:
        if self.buffer.startswith(self.first):
            del self.buffer[: len(self.first)]
            self.state = "after"
            return True
        at = self.buffer.find(self.delimiter)
        if at < 0:
            keep = len(self.delimiter) - 1
            if len(self.buffer) > keep:  # a preamble is passed over
                del self.buffer[: len(self.buffer) - keep]
            return False
        del self.buffer[: at + len(self.delimiter)]
        self.state = "after"
        return True

    def _after(self) -> bool:
        """After a boundary: `--` ends the body, else blanks and a CRLF start a part."""
        if len(self.buffer) < 2:
            return False
        if self.buffer.startswith(b"--"):
            self.done = True
            return False
        end = self.buffer.find(b"\r\n")
        if end < 0:
            if len(self.buffer) > 64:
                raise UploadRefused("broken")
            return False
        if self.buffer[:end].strip(b" \t"):
            raise UploadRefused("broken")
        del self.buffer[: end + 2]
        self.state = "headers"
        return True

    def _headers(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > HEADERS:
                raise UploadRefused("broken")
            return False
        block = bytes(self.buffer[:end])
        del self.buffer[: end + 4]
        self._part(block)
        self.state = "body"
        return True

    def _part(self, block: bytes) -> None:
        headers: dict[str, str] = {}
        for line in block.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                raise UploadRefused("broken")
            headers[name.strip().lower()] = value.strip()
        disposition, options = parse_options_header(headers.get("content-disposition", ""))
        if disposition != "form-data" or "name" not in options:
            raise UploadRefused("broken")
        if options["name"] != PART:
            self._file = None  # another part: its bytes are passed over
            return
        if self.found is not None:
            raise UploadRefused("two_files")
        filename = options.get("filename", "")
        if not 0 < len(filename) <= 255:
            raise UploadRefused("no_name")
        self._file = (filename, headers.get("content-type") or "application/octet-stream")

    def _body(self) -> bool:
        at = self.buffer.find(self.delimiter)
        if at < 0:  # all but what could be the start of the delimiter is the part's
            self._take(len(self.buffer) - (len(self.delimiter) - 1))
            return False
        self._take(at)
        del self.buffer[: len(self.delimiter)]
        if self._file is not None:
            filename, content_type = self._file
            self.found = Upload(filename, self._size, self._hash.hexdigest(), content_type)
            self._file = None
        self.state = "after"
        return True

    def _take(self, size: int) -> None:
        if size <= 0:
            return
        if self._file is not None:
            self._size += size
            if self._size > self.limit:
                raise UploadRefused("too_large")
            self._hash.update(memoryview(self.buffer)[:size])
        del self.buffer[:size]
