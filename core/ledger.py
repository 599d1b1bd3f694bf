"""The event ledger and the notification channels of `integrate serve`, kept in the state file.

The ledger holds one row per notification received (its key: the same call delivered twice
has the same key), pending until a run of its flow commits, then applied with that run's id.
The channels table keeps, per webhook flow, the channel subscribed at the source: its id,
token (and the token before the last rotation, valid for a short grace), URL and expiry. Both
are written through a connection of their own, beside the runs (never inside a run's batch)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrate.connector import Channel, Notice
from integrate.errors import StateError
from integrate.state import StateStore, dumps, loads, now
from integrate.statedb import Db, PgConnection, connect, is_url, shown

PENDING = "pending"
APPLIED = "applied"
_COUNTS = (
    "SELECT flow, applied_at IS NULL, COUNT(*) FROM webhook_events WHERE integration = ?"
    " GROUP BY flow, applied_at IS NULL"
)


@dataclass(frozen=True)
class KeptChannel:
    """A channel as the state keeps it: which flow's, on which connection, and the token it
    had before its last rotation (accepted until `rotated_at` + the grace)."""

    flow: str
    connection: str
    channel: Channel
    previous_token: str | None = None
    rotated_at: float | None = None


def event_counts(db: Db, integration: str) -> dict[str, dict[str, int]]:
    """flow → {"pending": n, "applied": n} of the ledger (flows with events only)."""
    out: dict[str, dict[str, int]] = {}
    rows = db.execute(_COUNTS, (integration,)).fetchall()
    for flow, pending, n in rows:
        counts = out.setdefault(flow, {PENDING: 0, APPLIED: 0})
        counts[PENDING if pending else APPLIED] = n
    return out


def recent_events(db: Db, integration: str, limit: int = 20) -> list[dict[str, Any]]:
    """The latest events received, newest first: flow, object, operation, ids, when, status."""
    rows = db.execute(
        "SELECT seq, flow, provider, object, operation, ids, received_at, applied_at, run_id"
        " FROM webhook_events WHERE integration = ? ORDER BY seq DESC LIMIT ?",
        (integration, limit),
    ).fetchall()
    return [
        {
            "seq": seq,
            "flow": flow,
            "provider": provider,
            "object": obj,
            "operation": operation,
            "ids": loads(ids),
            "received_at": received,
            "status": APPLIED if applied else PENDING,
            "applied_at": applied,
            "run_id": run_id,
        }
        for seq, flow, provider, obj, operation, ids, received, applied, run_id in rows
    ]


class EventLedger:
    """The ledger and channels of one integration in one state (a file, or a PostgreSQL
    database every serve instance and worker shares); safe to share between the receiver's
    threads and the serve loop (one lock; on a file, a connection a statement, see _do)."""

    def __init__(self, path: Path | str, integration: str):
        self.path = path
        self.integration = integration
        StateStore(path, integration).close()  # the file exists, private, with these tables
        self.lock = threading.Lock()
        self._pg: PgConnection | None = None

    def close(self) -> None:
        """On a file nothing is held open between calls (see _do); a database's connection
        is closed."""
        with self.lock:
            if self._pg is not None:
                self._pg.close()
                self._pg = None

    def _connect(self) -> Db:
        if is_url(self.path):
            if self._pg is None or self._pg.closed:
                self._pg = PgConnection(str(self.path))
            return self._pg
        return connect(self.path)

    def _do(self, what: str, sql: str, args: tuple[Any, ...]) -> list[Any] | int:
        """One statement on a connection of its own, committed at once: rows for a SELECT,
        else the rows changed. Not a connection kept open: another connection of this process
        to the file (a run's) opening and closing it must not drop this one's SQLite locks."""
        with self.lock:
            try:
                db = self._connect()
            except sqlite3.Error as exc:
                raise StateError(f"cannot open the state file {self.path}: {exc}") from exc
            try:
                cursor = db.execute(sql, args)
                return cursor.fetchall() if sql.startswith("SELECT") else cursor.rowcount
            except sqlite3.Error as exc:
                check = (
                    "that the database server runs and is reachable"
                    if db is self._pg
                    else "the disk and the file's permissions"
                )
                raise StateError(
                    f"cannot {what} in {shown(self.path)}: {exc}; check {check}, then start "
                    "`integrate serve` again"
                ) from exc
            finally:
                if db is not self._pg:
                    db.close()

    def _rows(self, what: str, sql: str, args: tuple[Any, ...]) -> list[Any]:
        rows = self._do(what, sql, args)
        assert isinstance(rows, list)
        return rows

    def _change(self, what: str, sql: str, args: tuple[Any, ...]) -> int:
        count = self._do(what, sql, args)
        assert isinstance(count, int)
        return count

    # ---- events ---------------------------------------------------------------------------

    def record(self, flow: str, provider: str, notice: Notice) -> bool:
        """Keep a notification as pending; False when its key was seen before (nothing new)."""
        return (
            self._change(
                "record a notification",
                "INSERT OR IGNORE INTO webhook_events(integration, flow, provider, event_key, object,"
                " operation, ids, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.integration,
                    flow,
                    provider,
                    notice.key,
                    notice.object,
                    notice.operation,
                    dumps(list(notice.ids)),
                    now(),
                ),
            )
            == 1
        )

    def pending(self, flow: str) -> tuple[int, int]:
        """(how many events of the flow wait, the ledger's last sequence number of them)."""
        [row] = self._rows(
            "read the event ledger",
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM webhook_events"
            " WHERE integration = ? AND flow = ? AND applied_at IS NULL",
            (self.integration, flow),
        )
        return int(row[0]), int(row[1])

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for flow, pending, n in self._rows("read the event ledger", _COUNTS, (self.integration,)):
            counts = out.setdefault(flow, {PENDING: 0, APPLIED: 0})
            counts[PENDING if pending else APPLIED] = n
        return out

    def last_run(self) -> dict[str, Any] | None:
        """The integration's latest run: id, status, trigger, when it started and ended."""
        rows = self._rows(
            "read the run history",
            "SELECT number, status, trigger, started_at, finished_at FROM runs"
            " WHERE integration = ? ORDER BY number DESC LIMIT 1",
            (self.integration,),
        )
        if not rows:
            return None
        keys = ("run_id", "status", "trigger", "started_at", "finished_at")
        return dict(zip(keys, rows[0], strict=True))

    def completed_at(self, flow: str) -> str | None:
        """When a run of the flow last completed (None: never)."""
        rows = self._rows(
            "read the flow's state",
            "SELECT updated_at FROM flow_state WHERE integration = ? AND flow = ? AND side = '*'",
            (self.integration, flow),
        )
        return str(rows[0][0]) if rows else None

    # ---- channels -------------------------------------------------------------------------

    def channel(self, flow: str) -> KeptChannel | None:
        rows = self._rows(
            "read a channel",
            "SELECT connection, channel_id, objects, notify_url, token, expires_at,"
            " previous_token, rotated_at FROM channels WHERE integration = ? AND flow = ?",
            (self.integration, flow),
        )
        if not rows:
            return None
        connection, cid, objects, url, token, expires, previous, rotated = rows[0]
        channel = Channel(cid, tuple(loads(objects)), url, token, float(expires))
        return KeptChannel(flow, connection, channel, previous, rotated)

    def keep_channel(self, kept: KeptChannel) -> None:
        c = kept.channel
        self._change(
            "keep a channel",
            "INSERT INTO channels(integration, flow, connection, channel_id, objects, notify_url,"
            " token, previous_token, rotated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(integration, flow) DO UPDATE SET connection = excluded.connection,"
            " channel_id = excluded.channel_id, objects = excluded.objects,"
            " notify_url = excluded.notify_url, token = excluded.token,"
            " previous_token = excluded.previous_token, rotated_at = excluded.rotated_at,"
            " expires_at = excluded.expires_at",
            (
                self.integration,
                kept.flow,
                kept.connection,
                c.id,
                dumps(list(c.objects)),
                c.notify_url,
                c.token,
                kept.previous_token,
                kept.rotated_at,
                c.expires,
            ),
        )


__all__ = ["APPLIED", "PENDING", "EventLedger", "KeptChannel", "event_counts", "recent_events"]
