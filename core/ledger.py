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

PENDING = "pending"
APPLIED = "applied"


@dataclass(frozen=True)
class KeptChannel:
    """A channel as the state keeps it: which flow's, on which connection, and the token it
    had before its last rotation (accepted until `rotated_at` + the grace)."""

    flow: str
    connection: str
    channel: Channel
    previous_token: str | None = None
    rotated_at: float | None = None


def event_counts(db: sqlite3.Connection, integration: str) -> dict[str, dict[str, int]]:
    """flow → {"pending": n, "applied": n} of the ledger (flows with events only)."""
    out: dict[str, dict[str, int]] = {}
    rows = db.execute(
        "SELECT flow, applied_at IS NULL, COUNT(*) FROM webhook_events WHERE integration = ?"
        " GROUP BY flow, applied_at IS NULL",
        (integration,),
    ).fetchall()
    for flow, pending, n in rows:
        counts = out.setdefault(flow, {PENDING: 0, APPLIED: 0})
        counts[PENDING if pending else APPLIED] = n
    return out


def recent_events(db: sqlite3.Connection, integration: str, limit: int = 20) -> list[dict[str, Any]]:
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
    """The ledger and channels of one integration in one state file; safe to share between
    the receiver's threads and the serve loop (one connection, one lock)."""

    def __init__(self, path: Path, integration: str):
        self.path = path
        self.integration = integration
        StateStore(path, integration).close()  # the file exists, private, with these tables
        try:
            self.db = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=5.0
            )
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state file {path}: {exc}") from exc
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def _do(self, what: str, sql: str, args: tuple[Any, ...]) -> sqlite3.Cursor:
        with self.lock:
            try:
                return self.db.execute(sql, args)
            except sqlite3.Error as exc:
                raise StateError(
                    f"cannot {what} in {self.path}: {exc}; check the disk and the file's "
                    "permissions, then start `integrate serve` again"
                ) from exc

    # ---- events ---------------------------------------------------------------------------

    def record(self, flow: str, provider: str, notice: Notice) -> bool:
        """Keep a notification as pending; False when its key was seen before (nothing new)."""
        cursor = self._do(
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
        return cursor.rowcount == 1

    def pending(self, flow: str) -> tuple[int, int]:
        """(how many events of the flow wait, the ledger's last sequence number of them)."""
        row = self._do(
            "read the event ledger",
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM webhook_events"
            " WHERE integration = ? AND flow = ? AND applied_at IS NULL",
            (self.integration, flow),
        ).fetchone()
        return int(row[0]), int(row[1])

    def applied(self, flow: str, upto: int, run_id: int | None) -> int:
        """Mark the flow's pending events up to `upto` applied by run `run_id` (the run that
        committed after they were received); how many."""
        cursor = self._do(
            "mark events applied",
            "UPDATE webhook_events SET applied_at = ?, run_id = ? WHERE integration = ?"
            " AND flow = ? AND applied_at IS NULL AND seq <= ?",
            (now(), run_id, self.integration, flow, upto),
        )
        return cursor.rowcount

    def counts(self) -> dict[str, dict[str, int]]:
        with self.lock:
            try:
                return event_counts(self.db, self.integration)
            except sqlite3.Error as exc:
                raise StateError(f"cannot read the event ledger in {self.path}: {exc}") from exc

    def last_run(self) -> dict[str, Any] | None:
        """The integration's latest run: id, status, trigger, when it started and ended."""
        row = self._do(
            "read the run history",
            "SELECT run_id, status, trigger, started_at, finished_at FROM runs"
            " WHERE integration = ? ORDER BY run_id DESC LIMIT 1",
            (self.integration,),
        ).fetchone()
        if row is None:
            return None
        keys = ("run_id", "status", "trigger", "started_at", "finished_at")
        return dict(zip(keys, row, strict=True))

    def completed_at(self, flow: str) -> str | None:
        """When a run of the flow last completed (None: never)."""
        row = self._do(
            "read the flow's state",
            "SELECT updated_at FROM flow_state WHERE integration = ? AND flow = ? AND side = '*'",
            (self.integration, flow),
        ).fetchone()
        return None if row is None else str(row[0])

    # ---- channels -------------------------------------------------------------------------

    def channel(self, flow: str) -> KeptChannel | None:
        row = self._do(
            "read a channel",
            "SELECT connection, channel_id, objects, notify_url, token, expires_at,"
            " previous_token, rotated_at FROM channels WHERE integration = ? AND flow = ?",
            (self.integration, flow),
        ).fetchone()
        if row is None:
            return None
        connection, cid, objects, url, token, expires, previous, rotated = row
        channel = Channel(cid, tuple(loads(objects)), url, token, float(expires))
        return KeptChannel(flow, connection, channel, previous, rotated)

    def keep_channel(self, kept: KeptChannel) -> None:
        c = kept.channel
        self._do(
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
