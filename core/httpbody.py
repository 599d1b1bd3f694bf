"""Reading an answer's body within the call's deadline and the connection's size cap.

The body is streamed: Content-Length above the cap is refused before a byte of the body is
read; otherwise bytes are counted as they are decoded (so a small gzip body that inflates to
gigabytes is counted at its real size) and reading stops as soon as the count passes the cap,
so no more than the cap plus one chunk is ever held. The deadline is checked between chunks;
each socket read is itself bounded by the time the call had left when it was sent.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from integrate.errors import ConnectorError

if TYPE_CHECKING:
    import httpx

CHUNK = 64 * 1024  # most decoded bytes taken from the decoder at once
MIB = 1024 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 50 * MIB
MAX_RESPONSE_BYTES_CEILING = 1024 * MIB


class ResponseTooLarge(ConnectorError):
    """An answer is larger than `limits.max_response_bytes`."""


class PastDeadline(Exception):
    """The call's deadline (`limits.timeout`) passed while its answer was still coming."""


class BrokenBody(Exception):
    """The body's Content-Encoding could not be decoded (a cut or corrupt answer)."""


def too_large(what: str, limit: int, seen: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{what}: the answer is larger than limits.max_response_bytes ({limit:,} bytes): "
        f"{seen}; reading stopped. Raise the connection's limits.max_response_bytes (at most "
        f"{MAX_RESPONSE_BYTES_CEILING:,}) if answers this large are expected, or ask for "
        "smaller pages",
        code="RESPONSE_TOO_LARGE",
    )


def read_body(response: httpx.Response, *, limit: int, deadline: float, what: str) -> bytes:
    """The whole decoded body of a streamed response, or an error: ResponseTooLarge past
    `limit` decoded bytes, PastDeadline once `time.monotonic()` passes `deadline`."""
    length = response.headers.get("Content-Length", "").strip()
    if length.isdigit() and int(length) > limit:
        raise too_large(what, limit, f"its Content-Length says {int(length):,} bytes")
    if response.is_stream_consumed:  # read already (a transport that answers in memory)
        if len(response.content) > limit:
            raise too_large(what, limit, f"it holds {len(response.content):,} bytes")
        return response.content
    body = bytearray()
    for piece in _decoded(response):
        if len(body) + len(piece) > limit:
            raise too_large(what, limit, f"more than {limit:,} bytes arrived")
        body += piece
        if time.monotonic() > deadline:
            raise PastDeadline()
    return bytes(body)


def _decoded(response: httpx.Response) -> Iterator[bytes]:
    """Decoded pieces of at most CHUNK bytes (identity, gzip and deflate; what we ask for)."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        # As the socket gives them (at most 64 KiB each): re-chunking would wait for more
        # bytes before the deadline could be checked.
        yield from response.iter_raw()
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        # Not asked for (we accept gzip and deflate only): httpx decodes what it knows.
        yield from response.iter_bytes()
        return
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    decoder = zlib.decompressobj(wbits)
    first = True
    for raw in response.iter_raw():
        try:
            data = decoder.decompress(raw, CHUNK)
        except zlib.error as exc:
            if not (first and encoding == "deflate"):
                raise BrokenBody(f"a {encoding} body that does not decode") from exc
            # Some servers send raw deflate without the zlib wrapper.
            decoder = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                data = decoder.decompress(raw, CHUNK)
            except zlib.error as again:
                raise BrokenBody(f"a {encoding} body that does not decode") from again
        first = False
        yield data
        while decoder.unconsumed_tail:
            try:
                data = decoder.decompress(decoder.unconsumed_tail, CHUNK)
            except zlib.error as exc:
                raise BrokenBody(f"a {encoding} body that does not decode") from exc
            yield data
    try:
        yield decoder.flush()
    except zlib.error as exc:
        raise BrokenBody(f"a {encoding} body that does not decode") from exc
