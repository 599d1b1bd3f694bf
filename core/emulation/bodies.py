"""What an attacker may send an emulator, read without harm: a JSON request body under a size
cap (`json_object`, refused with `BodyRefused`), a number that fits the 64 bits the kit's JSON
answers can carry (`int64`), and a hostile value shortened before a message quotes it back
(`quoted`). Each refusal is answered by the vendor, in its own words."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Text that may stand for a 64-bit number: 19 digits, a sign, a space or two.
NUMBER_TEXT = 20


class BodyRefused(Exception):
    """A request body the emulator does not read: `reason` is `too_large` (over the cap),
    `malformed` (not JSON: broken syntax, not in a Unicode encoding, nested too deep to parse)
    or `not_object` (JSON, but not an object)."""

    def __init__(self, reason: str):
        super().__init__(f"request body refused: {reason}")
        self.reason = reason


def json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The request's body as a JSON object, reading at most `max_bytes` + 1 bytes of it (a
    bigger body is never read whole), or `BodyRefused`. JSON's NaN and Infinity are read as
    numbers, as Python's and Java's parsers read them; `int64` refuses them where a whole
    number is wanted."""
    data = request.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BodyRefused("too_large")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BodyRefused("malformed") from exc
    if not isinstance(body, dict):
        raise BodyRefused("not_object")
    return body


def int64(value: Any) -> int | None:
    """The whole number a JSON value stands for, when it fits in 64 bits: an integer, a
    number cut to its whole part, or text of at most 20 characters that reads as one. None
    for anything else: true and false, NaN, infinity, text that is no number, a number out
    of range (which the kit's JSON encoder could not answer)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and len(value) > NUMBER_TEXT:
        return None  # int() of long text costs time: an attacker's 5,000 digits
    try:
        found = int(value)
    except (ValueError, OverflowError):  # text that is no number, NaN, infinity
        return None
    return found if INT64_MIN <= found <= INT64_MAX else None


def quoted(value: Any, limit: int = 80) -> str:
    """`value` as a message quotes it back: text as it is, anything else as its `repr`, cut
    to `limit` characters and "..." (an attacker's megabyte stays out of the answer)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
