"""What one HTTP call returned, as the core's own value: `HttpClient.request` returns an
`HttpAnswer` and classifiers receive one, so nothing of httpx's response is patched or kept.

The body is read whole (within the call's deadline and size cap) before the answer is made;
its JSON is parsed at most once by the HTTP layer, and that value is handed to the first
`json()` call only: each later call parses afresh, so no caller sees another's changes.
"""

from __future__ import annotations

import codecs
import json
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import httpx

__all__ = ["HttpAnswer", "loads"]


def loads(content: bytes) -> Any:
    """JSON from bytes: orjson, or the standard library for what orjson refuses but it
    takes (NaN, integers past 64 bits, UTF-16). Raises ValueError for anything else."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


class Headers(Mapping[str, str]):
    """An answer's headers, read-only, looked up by name in any case; a header sent more
    than once reads as its values joined by ", " (as HTTP allows and httpx does)."""

    __slots__ = ("_values",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()):
        pairs = items.items() if isinstance(items, Mapping) else items
        values: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            values[key] = f"{values[key]}, {value}" if key in values else value
        self._values = values

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        # Names only: a value may be a session cookie.
        return f"Headers({sorted(self._values)})"


@dataclass(frozen=True, eq=False, slots=True)
class HttpAnswer:
    """One HTTP answer: its status, headers (by name in any case) and whole decoded body, the
    request's method and URL (as sent, query included), and whether the request carried the
    connection's credentials (`Auth`), so a classifier can tell a refused token from a refused
    key. Its repr names status, method, host and path only: never a query, header or body."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    url: str
    authenticated: bool = False
    # The parsed body waiting for the first json() call (empty once taken or never parsed).
    _first: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))

    @classmethod
    def from_httpx(
        cls, response: httpx.Response, *, content: bytes | None = None, authenticated: bool = False
    ) -> HttpAnswer:
        """The answer of an httpx response whose body is `content` (default: the body httpx
        read; for a plugin's own streamed call that ends in an error, say)."""
        request = response.request
        return cls(
            status_code=response.status_code,
            headers=Headers(response.headers.multi_items()),
            content=response.content if content is None else content,
            method=request.method,
            url=str(request.url),
            authenticated=authenticated,
        )

    @property
    def path(self) -> str:
        """The request's path as sent (escaped: an id with a "/" stays one segment)."""
        return urllib.parse.urlsplit(self.url).path

    @property
    def text(self) -> str:
        """The body as text, in the charset its Content-Type names (UTF-8 if none or unknown);
        bytes that do not decode become U+FFFD."""
        return self.content.decode(_charset(self.headers.get("Content-Type", "")), "replace")

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not JSON). The first call takes the
        value the HTTP layer parsed already; later calls parse afresh, so each caller gets
        its own value to change."""
        try:
            return self._first.pop("value")  # one atomic step: no two callers share it
        except KeyError:
            return loads(self.content)

    def is_json(self) -> bool:
        """Whether the body is whole JSON. It is parsed here once and kept for the first
        `json()` call, which then parses nothing."""
        if "value" in self._first:
            return True
        try:
            self._first["value"] = loads(self.content)
        except ValueError:
            return False
        return True

    def message(self, key: str, limit: int = 200) -> str:
        """The JSON body's `key` field as text (a vendor's error message, say), or, when the
        body is not a JSON object or that field is missing or empty, the body's text, stripped
        and cut to `limit` characters."""
        try:
            body = self.json()
        except ValueError:
            body = None
        if isinstance(body, Mapping) and body.get(key) not in (None, ""):
            return str(body[key])
        return self.text.strip()[:limit]

    def __repr__(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or ""  # never the user:password of a URL
        return f"<HttpAnswer {self.status_code} {self.method} {host}{parts.path}>"


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').strip("'")
            try:
                return codecs.lookup(charset).name
            except LookupError:
                break
    return "utf-8"
