"""`Router`: request paths to what answers them, by pattern. A pattern is segments: literal
ones, `{name}` for any one segment, and a last `{name*}` for the rest of the path (none or
more segments). Patterns are tried in the order they were added; the first that matches wins.
What a pattern leads to is the emulator's choice: typically a table of HTTP methods to
handlers, so that a path with no pattern and a method the path does not take can each be
refused in the vendor's own words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Route(Generic[T]):
    """A pattern that matched a path: what it leads to and the segments its `{names}` took
    (a `{rest*}` as the segments joined with `/`)."""

    pattern: str
    target: T
    params: Mapping[str, str]


@dataclass(frozen=True)
class _Pattern(Generic[T]):
    text: str
    segments: tuple[tuple[str, bool], ...]  # (literal or name, is a name)
    rest: str | None  # the name of a last `{name*}`
    target: T


class Router(Generic[T]):
    """Paths to targets by pattern (see the module's doc). Empty segments do not count:
    `/a//b/` is `/a/b`. Segments are matched as the path gives them (percent-decoded by the
    server, as vendors' routers see them)."""

    def __init__(self) -> None:
        self._patterns: list[_Pattern[T]] = []

    def add(self, pattern: str, target: T) -> None:
        """`pattern` leads to `target`. ValueError for a pattern that is not one."""
        parts = [p for p in pattern.split("/") if p]
        rest = None
        if parts and parts[-1].startswith("{") and parts[-1].endswith("*}"):
            rest = parts.pop()[1:-2]
        segments = []
        for part in parts:
            name = part.startswith("{") and part.endswith("}")
            if name and part.endswith("*}"):
                raise ValueError(f"{pattern}: only the last segment may be {part}")
            if not name and ("{" in part or "}" in part):
                raise ValueError(f"{pattern}: {part!r} is neither a literal nor a {{name}}")
            segments.append((part[1:-1] if name else part, name))
        self._patterns.append(_Pattern(pattern, tuple(segments), rest, target))

    def match(self, path: str) -> Route[T] | None:
        """The first pattern that matches `path`, or None."""
        parts = [p for p in path.split("/") if p]
        for pattern in self._patterns:
            size = len(pattern.segments)
            if len(parts) < size or (pattern.rest is None and len(parts) != size):
                continue
            params: dict[str, str] = {}
            for (text, name), part in zip(pattern.segments, parts, strict=False):
                if name:
                    params[text] = part
                elif text != part:
                    break
            else:
                if pattern.rest is not None:
                    params[pattern.rest] = "/".join(parts[size:])
                return Route(pattern.text, pattern.target, params)
        return None
