"""The state store: runs, cursors, links (with the values last synced on each side), held
records (pending queue, deferred, failed), the failure ledger. SQLite by default: WAL,
synchronous=FULL, one IMMEDIATE transaction per batch, an OS lock per integration. Or a
PostgreSQL database (`--state postgresql://…`, statedb.py): the same tables and SQL, one
transaction per batch, a session advisory lock per integration (released by the server when
the process holding it dies), so workers on many machines share one state."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from integrate.errors import StateError
from integrate.links import Link, LinkTable
from integrate.secrets import REDACTOR
from integrate.statebackends import Backend, backend_for, run_going
from integrate.statecheck import check_integrity, state_error, translating
from integrate.statedb import Db, is_url
from integrate.stateschema import create_file_tables

ORPHANED = (
    "its process ended before the run did (killed?); marked interrupted by the next run "
    "that took the lock. Its committed batches stand; the next run carried on from there"
)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


@dataclass
class Held:
    """A record waiting: queued for an operator, deferred, or failed."""

    flow: str
    side: str
    source_id: str
    kind: str  # queue | defer | fail
    reason: str
    record: dict[str, Any]
    candidates: list[dict[str, Any]]
    resolution: dict[str, Any] | None
    attempts: int
    first_seen: str
    last_seen: str
    code: str = ""  # why, for the engine: AMBIGUOUS for a create with no clear answer
    below_floor: int = 0  # candidates `pending list` leaves out: their score is below its floor


@contextlib.contextmanager
def side_connection(store: StateStore, what: str) -> Iterator[Db]:
    """A connection of its own to a store's state, for state kept beside the runs (tokens,
    vendor metadata): each statement commits at once, never inside a run's batch
    transaction. A dry run's store is a copy (in memory, or a transaction rolled back at its
    end): that copy is used. `what` names the state in errors."""
    try:
        with store.backend.side(store.db) as db:
            yield db
    except sqlite3.Error as exc:
        raise StateError(f"cannot use {what} in {store.file}: {exc}") from exc


@translating
class StateStore:
    """State of one integration in a SQLite file or a PostgreSQL database (its `backend`,
    statebackends.py). Every database error of its methods is a StateError naming the file
    (or the database, its password hidden) and saying what to do."""

    def __init__(
        self,
        location: str | Path,
        integration: str,
        *,
        lock: bool = False,
        check: bool = False,
        dry: bool = False,
    ):
        """`location`: a file's path, ":memory:", or a postgresql:// URL. `lock`: take the
        integration's run lock (and mark runs left `running` by a process that died as
        interrupted); `check`: check a file's integrity first (runs do); `dry`: (PostgreSQL)
        everything written is rolled back at close (a dry run's copy)."""
        self.integration = integration
        self.backend: Backend = backend_for(location, dry=dry)
        self.url, self.path, self.dry = self.backend.url, self.backend.path, self.backend.dry
        self.file = self.backend.file  # named in errors
        self._in_tx = False
        self._tx_time = ""  # one timestamp for every row a transaction writes
        self.db = self.backend.open(integration, lock=lock, check=check)
        try:
            if lock:
                # The lock was free, so a run of this integration still `running` lost its
                # process (SIGKILL, a crash, a power cut): it ended, interrupted.
                self.db.execute(
                    "UPDATE runs SET status = 'interrupted', message = ?"
                    " WHERE integration = ? AND status = 'running'",
                    (ORPHANED, integration),
                )
        except sqlite3.DatabaseError as exc:
            self.close()
            raise state_error(self.file, exc) from exc
        except BaseException:
            self.close()
            raise
        # the names' connection (a database's second one) is opened when a name is first added
        self.link_table = LinkTable(self.db, integration, keys=lambda: self.backend.keys(self.db))

    @classmethod
    def snapshot(cls, path: Path | str | None, integration: str) -> StateStore:
        """A copy of the state (for --dry-run: nothing is written): a file's, in memory,
        checked like the file a run opens; a database's, a transaction rolled back at close."""
        if is_url(path):
            return cls(path, integration, dry=True)
        path = Path(path) if path is not None else None
        store = cls(":memory:", integration)
        if path is not None and path.exists():
            store.file = str(path)
            assert isinstance(store.db, sqlite3.Connection)
            try:
                source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                try:
                    source.backup(store.db)
                finally:
                    source.close()
            except sqlite3.DatabaseError as exc:
                store.close()
                raise state_error(path, exc) from exc
            try:
                check_integrity(store.db, path)
                # a file an older version wrote: its copy gets this version's tables
                create_file_tables(store.db)
            except StateError:
                store.close()
                raise
            except sqlite3.DatabaseError as exc:
                store.close()
                raise state_error(path, exc) from exc
        return store

    @staticmethod
    def run_going(path: Path | str, integration: str) -> bool:
        """Whether a run of the integration holds its lock on this state now (asked
        without keeping the lock: a run starting next is not refused for it)."""
        return run_going(path, integration)

    def close(self) -> None:
        """Ends the run lock (closing a database's connection ends it, and rolls back a dry
        store's transaction)."""
        try:
            self.db.close()
        finally:
            self.backend.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit: everything inside commits together or not at all."""
        if self._in_tx:
            yield
            return
        begin, commit, rollback = self.backend.statements()
        try:
            self.db.execute(begin)
        except sqlite3.DatabaseError as exc:
            raise state_error(self.file, exc) from exc
        self._in_tx = True
        self._tx_time = now()
        try:
            yield
            try:
                self.link_table.flush()
                self.db.execute(commit)
            except sqlite3.DatabaseError as exc:
                raise state_error(self.file, exc) from exc
        except BaseException:
            self.link_table.discard()
            self._rollback(rollback)
            raise
        finally:
            self._in_tx = False

    def _rollback(self, statement: str = "ROLLBACK") -> None:
        """Undo the open transaction, if the database has not already (SQLite does on a full
        disk; a PostgreSQL connection that was lost has nothing left to undo)."""
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.DatabaseError):
                self.db.execute(statement)

    # ---- runs ---------------------------------------------------------------------------

    def start_run(
        self, *, trigger: str, dry_run: bool, plugins: dict[str, Any], worker: str = ""
    ) -> int:
        """Record a run as `running`; its number is the integration's next (run #1, #2 ...),
        whatever other integrations share the state. `worker`: the worker running it."""
        with self.transaction():
            self.db.execute(
                "INSERT INTO runs(integration, number, status, trigger, dry_run, started_at,"
                " plugins, worker) VALUES (?, (SELECT COALESCE(MAX(number), 0) + 1 FROM runs"
                " WHERE integration = ?), 'running', ?, ?, ?, ?, ?)",
                (
                    self.integration,
                    self.integration,
                    trigger,
                    int(dry_run),
                    now(),
                    dumps(plugins),
                    worker or None,
                ),
            )
            (number,) = self.db.execute(
                "SELECT MAX(number) FROM runs WHERE integration = ?", (self.integration,)
            ).fetchone()
        return int(number)

    def finish_run(self, run_id: int, status: str, stats: Any, message: str = "") -> None:
        """`run_id`: the run's number within the integration (as start_run gave it)."""
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, stats = ?, message = ?"
                " WHERE integration = ? AND number = ?",
                (
                    status,
                    now(),
                    REDACTOR.redact(dumps(stats)),
                    REDACTOR.redact(message),
                    self.integration,
                    run_id,
                ),
            )

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT number, status, trigger, dry_run, started_at, finished_at, stats, message,"
            " plugins, worker FROM runs WHERE integration = ? ORDER BY number DESC LIMIT ?",
            (self.integration, limit),
        ).fetchall()
        keys = (
            "run_id",
            "status",
            "trigger",
            "dry_run",
            "started_at",
            "finished_at",
            "stats",
            "message",
            "plugins",
            "worker",
        )
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            item["stats"] = loads(item["stats"])
            item["plugins"] = loads(item["plugins"])
            out.append(item)
        return out

    # ---- cursors ------------------------------------------------------------------------

    def cursor(self, flow: str, side: str) -> Any:
        row = self.db.execute(
            "SELECT cursor FROM flow_state WHERE integration = ? AND flow = ? AND side = ?",
            (self.integration, flow, side),
        ).fetchone()
        return loads(row[0]) if row else None

    def set_cursor(self, flow: str, side: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO flow_state(integration, flow, side, cursor, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(integration, flow, side) DO UPDATE SET cursor = excluded.cursor,"
            " updated_at = excluded.updated_at",
            (self.integration, flow, side, dumps(value), now()),
        )

    def completed_runs(self, flow: str) -> int:
        row = self.db.execute(
            "SELECT MAX(completed_runs) FROM flow_state WHERE integration = ? AND flow = ?",
            (self.integration, flow),
        ).fetchone()
        return int(row[0] or 0)

    def mark_completed(self, flow: str) -> None:
        self.db.execute(
            "INSERT INTO flow_state(integration, flow, side, completed_runs, updated_at)"
            " VALUES (?, ?, '*', 1, ?) ON CONFLICT(integration, flow, side)"
            " DO UPDATE SET completed_runs = flow_state.completed_runs + 1, updated_at = excluded.updated_at",
            (self.integration, flow, now()),
        )

    def flow_states(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT flow, side, cursor, completed_runs, updated_at FROM flow_state"
            " WHERE integration = ? ORDER BY flow, side",
            (self.integration,),
        ).fetchall()
        return [
            {"flow": f, "side": s, "cursor": loads(c), "completed_runs": n, "updated_at": u}
            for f, s, c, n, u in rows
        ]

    # ---- links (links.py) ------------------------------------------------------------------

    def links(
        self, flow: str, side_index: int, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Link]:
        """Links whose (object, id) on side 0 (a) or 1 (b) is one of `keys`, keyed by it."""
        return self.link_table.links(flow, side_index, keys)

    def link(self, flow: str, side_index: int, obj: str, id: str) -> Link | None:
        return self.links(flow, side_index, [(obj, id)]).get((obj, id))

    def pairs(self, flow: str, *, not_b_object: str) -> list[tuple[str, str, str]]:
        """(a_id, b_id, a_object) of every link of a flow whose b side is not in `not_b_object`."""
        return self.link_table.pairs(flow, not_b_object=not_b_object)

    def linked_to(self, flow: str, side_index: int, id: str, obj: str | None = None) -> str | None:
        """The id on the other side that `id` (on side 0 or 1, in `obj` if given) is linked to."""
        return self.link_table.linked_to(flow, side_index, id, obj)

    def save_link(
        self, flow: str, link: Link, run_id: int | None, *, compact: bool = False
    ) -> None:
        """Keep a link (with the transaction; at once outside one). `compact`: keep digests of
        the snapshots' values, not the values (sync flows)."""
        self.link_table.save(flow, link, run_id, compact=compact)
        if not self._in_tx:
            self.link_table.flush()

    def delete_link(self, flow: str, side_index: int, obj: str, id: str) -> None:
        self.link_table.delete(flow, side_index, obj, id)

    def count_links(self, flow: str | None = None) -> dict[str, int]:
        counts = self.link_table.count()
        return {f: n for f, n in counts.items() if flow is None or f == flow}

    # ---- held records -------------------------------------------------------------------

    def hold(
        self,
        flow: str,
        side: str,
        source_id: str,
        kind: str,
        reason: str,
        record: dict[str, Any],
        run_id: int | None,
        candidates: list[dict[str, Any]] | None = None,
        code: str = "",
    ) -> None:
        stamp = now()
        self.db.execute(
            "INSERT INTO held(integration, flow, side, source_id, kind, reason, record, candidates,"
            " first_seen, last_seen, run_id, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(integration, flow, side, source_id) DO UPDATE SET kind = excluded.kind,"
            " reason = excluded.reason, record = excluded.record, code = excluded.code,"
            " candidates = COALESCE(excluded.candidates, held.candidates),"
            " attempts = held.attempts + 1, last_seen = excluded.last_seen, run_id = excluded.run_id,"
            " resolution = CASE WHEN held.kind = excluded.kind THEN held.resolution ELSE NULL END",
            (
                self.integration,
                flow,
                side,
                source_id,
                kind,
                REDACTOR.redact(reason),
                dumps(record),
                dumps(candidates) if candidates is not None else None,
                stamp,
                stamp,
                run_id,
                code,
            ),
        )

    def release(self, flow: str, side: str, source_id: str) -> None:
        self.db.execute(
            "DELETE FROM held WHERE integration = ? AND flow = ? AND side = ? AND source_id = ?",
            (self.integration, flow, side, source_id),
        )

    def held(
        self,
        flow: str | None = None,
        *,
        side: str | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[Held]:
        sql = (
            "SELECT flow, side, source_id, kind, reason, record, candidates, resolution, attempts,"
            " first_seen, last_seen, code FROM held WHERE integration = ?"
        )
        args: list[Any] = [self.integration]
        if flow is not None:
            sql += " AND flow = ?"
            args.append(flow)
        if side is not None:
            sql += " AND side = ?"
            args.append(side)
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        sql += " ORDER BY flow, first_seen, source_id"
        return [
            Held(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                loads(r[5]),
                loads(r[6]) or [],
                loads(r[7]),
                r[8],
                r[9],
                r[10],
                r[11],
            )
            for r in self.db.execute(sql, args)
        ]

    def resolve(self, flow: str, source_id: str, resolution: dict[str, Any]) -> Held:
        rows = [h for h in self.held(flow, kinds=("queue",)) if h.source_id == source_id]
        if not rows:
            raise StateError(
                f"no pending record '{source_id}' in flow '{flow}' (see `integrate pending list`)"
            )
        held = rows[0]
        with self.transaction():
            self.db.execute(
                "UPDATE held SET resolution = ? WHERE integration = ? AND flow = ? AND side = ? AND source_id = ?",
                (dumps(resolution), self.integration, flow, held.side, source_id),
            )
        held.resolution = resolution
        return held

    # ---- failure ledger -----------------------------------------------------------------

    def add_failure(
        self,
        *,
        run_id: int | None,
        flow: str,
        side: str,
        source_id: str | None,
        stage: str,
        code: str,
        message: str,
        location: str,
        record: Any,
    ) -> None:
        self.db.execute(
            "INSERT INTO failures(integration, run_id, flow, side, source_id, stage, code, message,"
            " location, record, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.integration,
                run_id,
                flow,
                side,
                source_id,
                stage,
                code,
                REDACTOR.redact(message),
                location,
                dumps(REDACTOR.redact_data(record)),
                now(),
            ),
        )

    def failures(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, run_id, flow, side, source_id, stage, code, message, location, created_at"
            " FROM failures WHERE integration = ? ORDER BY id DESC LIMIT ?",
            (self.integration, limit),
        ).fetchall()
        keys = (
            "id",
            "run_id",
            "flow",
            "side",
            "source_id",
            "stage",
            "code",
            "message",
            "location",
            "created_at",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # ---- events -------------------------------------------------------------------------

    def events_waiting(self, flows: Sequence[str]) -> dict[str, int]:
        """flow → the ledger's last sequence number of its events waiting (flows with any)."""
        if not flows:
            return {}
        marks = ",".join("?" * len(flows))
        rows = self.db.execute(
            "SELECT flow, MAX(seq) FROM webhook_events WHERE integration = ? AND applied_at"
            f" IS NULL AND flow IN ({marks}) GROUP BY flow",
            (self.integration, *flows),
        ).fetchall()
        return {flow: int(upto) for flow, upto in rows}

    def events_applied(self, marks: dict[str, int], run_id: int) -> int:
        """The events waiting when run `run_id` started, of its flows, applied by it (it
        committed): a notification leads to one run's work, whichever serve received it and
        whichever worker ran the run."""
        count = 0
        with self.transaction():
            for flow, upto in marks.items():
                count += self.db.execute(
                    "UPDATE webhook_events SET applied_at = ?, run_id = ? WHERE integration = ?"
                    " AND flow = ? AND applied_at IS NULL AND seq <= ?",
                    (now(), run_id, self.integration, flow, upto),
                ).rowcount
        return count

    def seen_related(self, flow: str, source_id: str, related: str) -> set[str]:
        rows = self.db.execute(
            "SELECT related_id FROM seen WHERE integration = ? AND flow = ? AND source_id = ? AND related = ?",
            (self.integration, flow, source_id, related),
        ).fetchall()
        return {r[0] for r in rows}

    def mark_seen(self, flow: str, source_id: str, related: str, related_id: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO seen(integration, flow, source_id, related, related_id) VALUES (?, ?, ?, ?, ?)",
            (self.integration, flow, source_id, related, related_id),
        )

    # ---- maintenance --------------------------------------------------------------------

    def reset(self, flow: str | None = None) -> dict[str, int]:
        """Forget cursors, links, held records and seen events (of one flow or all; for all,
        the cached vendor metadata too). Never touches any system's data; run history, the
        failure ledger and access tokens are kept."""
        counts: dict[str, int] = {}
        with self.transaction():
            counts["links"] = self.link_table.reset(flow)
            for table in ("flow_state", "held", "seen"):
                sql = f"DELETE FROM {table} WHERE integration = ?"
                args: list[Any] = [self.integration]
                if flow is not None:
                    sql += " AND flow = ?"
                    args.append(flow)
                counts[table] = self.db.execute(sql, args).rowcount
            if flow is None:
                counts["tokens"] = self.db.execute(
                    "DELETE FROM tokens WHERE integration = ?", (self.integration,)
                ).rowcount
                # Shared by every integration in the file, but only a cache: the others read
                # their metadata again once. A reset is how an operator says "start afresh".
                counts["metadata_cache"] = self.db.execute("DELETE FROM metadata_cache").rowcount
        return counts

    def counts(self) -> dict[str, Any]:
        held = self.db.execute(
            "SELECT flow, kind, COUNT(*) FROM held WHERE integration = ? GROUP BY flow, kind",
            (self.integration,),
        ).fetchall()
        out: dict[str, Any] = {"links": self.count_links(), "held": {}}
        for flow, kind, n in held:
            out["held"].setdefault(flow, {})[kind] = n
        return out
