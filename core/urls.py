"""Putting values into URL paths safely: a record id, a module name or any other value that
comes from data or an operator becomes exactly one path segment, whatever it holds."""

from __future__ import annotations

from urllib.parse import quote

# Dot segments survive percent-encoding as dots, and httpx removes them ("a/../b" is "b"):
# a value that is all dots is encoded dot by dot, so it stays one segment naming itself.
_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}


def path_segment(value: object) -> str:
    """`value` as one URL path segment: every character but the unreserved ones (letters,
    digits, `-`, `.`, `_`, `~`) percent-encoded, so `/`, `?`, `#`, `%` and `..` cannot reach
    another path. Raises ValueError for an empty value (it would drop the segment)."""
    text = str(value)
    if text == "":
        raise ValueError("an empty value cannot be a URL path segment")
    return _DOT_SEGMENTS.get(text) or quote(text, safe="")
