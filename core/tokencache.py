"""Access tokens kept in the state file and shared by every integration (and process) that
uses the same credentials.

A token is stored under a digest of its credential (token URL, client id, refresh token;
never the secret itself), so eight runs of eight specs on one Zoho connection share one
access token. A refresh happens under an OS lock on `<state>.tokens.lock` (0600, released
by the kernel if the holder dies); inside it the cache is read again, and only a token that
is still stale is refreshed: one refresh per expiry, however many processes noticed it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from integrate.errors import StateError
from integrate.state import StateStore, dumps, loads, side_connection
from integrate.statedb import Db, PgConnection


class StateTokenCache:
    """The TokenCache of a run: the state store's `credential_tokens` table, one row per
    credential, read and written through its own connection (never inside a run's batch
    transaction), with a cross-process lock for refreshes."""

    def __init__(self, store: StateStore):
        self.store = store
        self.path = store.path  # a dry run's snapshot
        self._thread_lock = threading.Lock()

    @property
    def lock_path(self) -> Path | None:
        return None if self.path is None else self.path.with_name(f"{self.path.name}.tokens.lock")

    def _db(self) -> contextlib.AbstractContextManager[Db]:
        return side_connection(self.store, "the access tokens")

    @contextlib.contextmanager
    def _database_lock(self, key: str) -> Iterator[None]:
        """A session advisory lock on a connection of its own (a dead worker's ends with it)."""
        assert self.store.url is not None
        db = PgConnection(self.store.url)
        try:
            args = (f"integrate:token:{key}",)
            db.execute("SELECT pg_advisory_lock(hashtextextended(?, 0))", args)
            yield
        except sqlite3.Error as exc:
            raise StateError(f"cannot lock the access token in {self.store.file}: {exc}") from exc
        finally:
            db.close()

    def load(self, key: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT data FROM credential_tokens WHERE credential = ?", (key,)
            ).fetchone()
        data: dict[str, Any] | None = loads(row[0]) if row else None
        return data

    def save(self, key: str, data: dict[str, Any]) -> None:
        """An access token (never a refresh token) and when it expires."""
        with self._db() as db:
            db.execute(
                "INSERT INTO credential_tokens(credential, data, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT(credential) DO UPDATE SET data = excluded.data,"
                " expires_at = excluded.expires_at",
                (key, dumps(data), data.get("expires_at")),
            )

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Held while one refresh happens: by one thread here and one process on the host
        (on a PostgreSQL state, one process of all the workers: an advisory lock)."""
        with self._thread_lock:
            if self.store.url is not None and not self.store.dry:
                with self._database_lock(key):
                    yield
                return
            lock_path = self.lock_path
            if lock_path is None:
                yield
                return
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StateError(f"cannot open the token lock {lock_path}: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock
