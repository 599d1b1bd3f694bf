"""Values a connector keeps between runs, with an expiry: a vendor's metadata (Zoho's module
and field lists) that would otherwise be read again on every run, at the cost of API calls.

Entries live in the state file's `metadata_cache` table (in memory for a dry run, and for a
connector made outside a run), named by the account they describe, not by the integration:
several specs on one account share them. It is a cache: an entry lost, expired or unreadable
is read from the vendor again; an entry that would hold a secret is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from integrate.clock import Clock, SystemClock
from integrate.errors import PluginError, StateError
from integrate.secrets import REDACTOR, reveal
from integrate.state import side_connection
from integrate.statedb import Db

if TYPE_CHECKING:
    from integrate.state import StateStore

log = logging.getLogger("integrate.metacache")


class CacheEntries(Protocol):
    """Where a MetadataCache keeps its entries: a key's JSON text, when it was stored and
    when it expires (clock seconds)."""

    def load(self, key: str) -> tuple[str, float, float] | None: ...

    def save(self, key: str, text: str, stored_at: float, expires_at: float) -> None: ...

    def drop(self, key: str) -> None: ...


class MemoryEntries:
    """Entries for one process (a connector made outside a run, tests)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, float, float]] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> tuple[str, float, float] | None:
        with self._lock:
            return self.rows.get(key)

    def save(self, key: str, text: str, stored_at: float, expires_at: float) -> None:
        with self._lock:
            self.rows[key] = (text, stored_at, expires_at)

    def drop(self, key: str) -> None:
        with self._lock:
            self.rows.pop(key, None)


class StateEntries:
    """The state file's `metadata_cache` table, through connections of its own: each write
    commits at once, never inside a run's batch transaction. A dry run's store is an
    in-memory copy of the file: that copy is written, never the file."""

    def __init__(self, store: StateStore):
        self.store = store

    def _db(self) -> contextlib.AbstractContextManager[Db]:
        return side_connection(self.store, "the metadata cache")

    def load(self, key: str) -> tuple[str, float, float] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT value, stored_at, expires_at FROM metadata_cache WHERE key = ?", (key,)
            ).fetchone()
        return (str(row[0]), float(row[1]), float(row[2])) if row else None

    def save(self, key: str, text: str, stored_at: float, expires_at: float) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO metadata_cache(key, value, stored_at, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                " stored_at = excluded.stored_at, expires_at = excluded.expires_at",
                (key, text, stored_at, expires_at),
            )

    def drop(self, key: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM metadata_cache WHERE key = ?", (key,))


def _digest(parts: tuple[Any, ...]) -> str:
    """A SHA-256 of the parts (secrets revealed only to be hashed), in a stable form."""
    text = orjson.dumps(
        [_plain(p) for p in parts], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    )
    return hashlib.sha256(text).hexdigest()


def _plain(value: Any) -> Any:
    value = reveal(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class MetadataCache:
    """What a connector keeps between runs: `get(key)` answers the value `put(key, value,
    ttl_seconds)` stored, until it expires (None: not cached, expired, or unreadable).
    Values are JSON data. Keys are those of one account: `account(...)` gives the view of
    another (the runtime hands each connector the view of its whole connection config)."""

    def __init__(
        self, entries: CacheEntries | None = None, clock: Clock | None = None, *, scope: str = ""
    ):
        self.entries: CacheEntries = entries if entries is not None else MemoryEntries()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.scope = scope

    def account(self, name: str, *parts: Any) -> MetadataCache:
        """The view of the account `parts` identify (a base URL, a client id, a refresh
        token ...: only their SHA-256 is kept), under `name` (the plugin's, kept in clear).
        Connections naming the same account share its entries, whatever else differs."""
        return MetadataCache(self.entries, self.clock, scope=f"{name}:{_digest(parts)}:")

    def get(self, key: str, max_age: float | None = None) -> Any:
        """The value kept under `key`, or None: not kept, expired, older than `max_age`
        seconds (a caller may want fresher than whoever stored it), or unreadable."""
        try:
            row = self.entries.load(self.scope + key)
        except StateError as exc:
            log.warning("metadata cache not read (%s): reading %s from the system", exc, key)
            return None
        if row is None:
            return None
        text, stored_at, expires_at = row
        now = self.clock.now()
        # An entry stored "in the future" (the clock was set back) is as good as expired.
        if not stored_at <= now < expires_at:
            return None
        if max_age is not None and now - stored_at >= max_age:
            return None
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return None

    def put(self, key: str, value: Any, ttl_seconds: float) -> None:
        """Keep `value` (JSON data) for `ttl_seconds`; 0 or less drops the key instead."""
        if ttl_seconds <= 0:
            self.forget(key)
            return
        try:
            text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError as exc:
            raise PluginError(f"metadata cache: the value of {key!r} is not JSON: {exc}") from exc
        if REDACTOR.redact(text) != text or REDACTOR.redact(key) != key:
            raise PluginError(
                f"metadata cache: the entry {REDACTOR.redact(key)!r} holds a secret; "
                "it is not stored (keep secrets out of cached values and keys)"
            )
        now = self.clock.now()
        try:
            self.entries.save(self.scope + key, text, now, now + ttl_seconds)
        except StateError as exc:
            log.warning("metadata cache not written (%s): %s is read again next run", exc, key)

    def forget(self, key: str) -> None:
        """Drop one entry (the next get() answers None)."""
        try:
            self.entries.drop(self.scope + key)
        except StateError as exc:
            log.warning("metadata cache entry %s not dropped (%s)", key, exc)
