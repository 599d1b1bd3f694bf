"""Access tokens kept in the state file and shared by every integration (and process) that
uses the same credentials.

A token is stored under a digest of its credential (token URL, client id, refresh token;
never the secret itself), so eight runs of eight specs on one Zoho connection share one
access token. A refresh happens under a lock every process sharing the state respects (an OS lock on
`<state>.tokens.lock`, 0600, released by the kernel if the holder dies; on PostgreSQL an
advisory lock per credential, released by the server); inside it the cache is read again, and only a token that
is still stale is refreshed: one refresh per expiry, however many processes noticed it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from integrate.state import StateStore, dumps, loads, side_connection
from integrate.statedb import Db


class StateTokenCache:
    """The TokenCache of a run: the state store's `credential_tokens` table, one row per
    credential, read and written through its own connection (never inside a run's batch
    transaction), with a cross-process lock for refreshes."""

    def __init__(self, store: StateStore):
        self.store = store
        self._thread_lock = threading.Lock()

    def _db(self) -> contextlib.AbstractContextManager[Db]:
        return side_connection(self.store, "the access tokens")

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
        """Held while one refresh happens: by one thread here and one process of all that
        share the state (an OS lock on a file's `<state>.tokens.lock`, an advisory lock per
        credential in a database)."""
        with self._thread_lock, self.store.backend.refreshing(key):
            yield
