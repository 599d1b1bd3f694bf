"""Paging helpers: a page of a listing by offset, a window on a sorted listing that does not
copy it, and opaque page tokens kept server-side, bound to the query that issued them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar, overload

T = TypeVar("T")


def page_of(rows: Sequence[T], offset: int, size: int) -> tuple[Sequence[T], bool]:
    """`size` rows from `offset` (0-based), and whether more rows follow them."""
    return rows[offset : offset + size], len(rows) > offset + size


class Window(Sequence[T]):
    """`rows[start:stop]` without copying them (a slice of the window is a list): paging a
    big sorted listing from a bisected position costs the page, not the rest."""

    def __init__(self, rows: Sequence[T], start: int, stop: int):
        self.rows, self.start, self.stop = rows, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            first, last, step = index.indices(len(self))
            chunk = self.rows[self.start + first : self.start + last : step]
            return chunk if isinstance(chunk, list) else list(chunk)
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.rows[self.start + index % len(self)]


@dataclass
class PageToken:
    """What a page token stands for: the query it belongs to, where the next page starts,
    and when it was issued (on the emulator's clock)."""

    signature: str
    offset: int
    issued: float


class PageTokenRefused(Exception):
    """A page token the server does not take: `reason` is `unknown`, `expired` (older than
    the tokens' lifetime) or `mismatch` (issued for another query). The vendor answers it
    in its own words."""

    def __init__(self, reason: str):
        super().__init__(f"page token refused: {reason}")
        self.reason = reason


class PageTokens:
    """Opaque page tokens, kept server-side with what they are bound to. `signature` is
    whatever names the query (its parameters, the caller); a token redeemed with another
    signature, or after `lifetime` seconds, is refused. Same seed, same tokens."""

    def __init__(self, seed: int, lifetime: float):
        self._seed = seed
        self._count = 0
        self.lifetime = lifetime
        self.tokens: dict[str, PageToken] = {}

    def issue(self, signature: str, offset: int, now: float) -> str:
        """A token for the page of the query `signature` that starts at `offset`."""
        self._count += 1
        token = hashlib.sha256(f"{self._seed}:{self._count}:{signature}".encode()).hexdigest()
        self.tokens[token] = PageToken(signature, offset, now)
        return token

    def redeem(self, token: str, signature: str, now: float) -> PageToken:
        """What `token` stands for, or `PageTokenRefused`."""
        state = self.tokens.get(token)
        if state is None:
            raise PageTokenRefused("unknown")
        if now - state.issued > self.lifetime:
            raise PageTokenRefused("expired")
        if state.signature != signature:
            raise PageTokenRefused("mismatch")
        return state
