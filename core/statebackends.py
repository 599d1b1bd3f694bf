"""Where a state lives, behind one small interface (`Backend`) with two implementations: a
SQLite file (`FileBackend`, the embedded default; ":memory:" for a dry run's copy) and a
PostgreSQL database (`DatabaseBackend`, for workers on many machines: docs/scaling-out.md).

A backend opens the connection the store runs its SQL on (the same SQL for both: statedb.py)
with the tables made or migrated (stateschema.py), holds the integration's run lock, gives
the connection for what commits beside a run's batch (tokens, metadata, link keys), and the
lock one token refresh at a time takes. The store (state.py) holds everything else."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from integrate.errors import RunLocked, StateError
from integrate.permissions import private_file, private_folder, tighten, tighten_fd
from integrate.statecheck import check_integrity, state_error
from integrate.statedb import Db, PgConnection, connect, is_url, shown
from integrate.stateschema import create_database_tables, create_file_tables


class Backend(Protocol):
    """What the store needs of the place its state lives."""

    file: str  # named in errors (a URL's password hidden)
    path: Path | None  # a file's path (None: in memory, or a database)
    url: str | None  # a database's URL
    dry: bool  # a copy: whatever is written is gone at close

    def open(self, integration: str, *, lock: bool, check: bool) -> Db:
        """The connection, tables ready; with `lock`, the integration's run lock held
        (RunLocked when another run holds it)."""
        ...

    def statements(self) -> tuple[str, str, str]:
        """How a batch's transaction begins, commits and rolls back."""
        ...

    def side(self, db: Db) -> contextlib.AbstractContextManager[Db]:
        """A connection whose statements commit at once, beside a run's batch (a copy's own
        connection, for a copy)."""
        ...

    def keys(self, db: Db) -> Db:
        """The connection that adds the names links are keyed by."""
        ...

    def refreshing(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Held while one refresh of the token `key` happens, across processes."""
        ...

    def close(self) -> None:
        """Let go of the run lock and of connections of the backend's own."""
        ...


def backend_for(location: str | Path, *, dry: bool = False) -> Backend:
    """The backend of a state location: a postgresql:// URL, ":memory:", or a file's path."""
    if is_url(location):
        return DatabaseBackend(str(location), dry=dry)
    return FileBackend(None if str(location) == ":memory:" else Path(location))


def _lock_path(path: Path, integration: str) -> Path:
    """The file whose lock a run of the integration holds on the state file at `path`."""
    return path.with_name(f"{path.name}.{integration}.lock")


def run_going(location: str | Path, integration: str) -> bool:
    """Whether a run of the integration holds its lock on this state now (asked without
    keeping the lock: a run starting next is not refused for it)."""
    if is_url(location):
        db = PgConnection(str(location))
        try:
            key = (_run_lock_key(integration),)
            got = db.execute("SELECT pg_try_advisory_lock(hashtextextended(?, 0))", key)
            if got.fetchone()[0]:
                db.execute("SELECT pg_advisory_unlock(hashtextextended(?, 0))", key)
                return False
            return True
        except sqlite3.DatabaseError as exc:  # a StateError, as the store's own methods raise
            raise state_error(shown(location), exc) from exc
        finally:
            db.close()
    try:
        fd = os.open(_lock_path(Path(location), integration), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing it lets go of the lock, if it was taken here
    return False


class FileBackend:
    """A SQLite file: WAL, synchronous=FULL, `BEGIN IMMEDIATE` batches, an OS lock per
    integration (`<state>.<name>.lock`, released by the kernel when the process dies). No
    path: an in-memory database (a dry run's copy of a file)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.url: str | None = None
        self.file = str(path) if path is not None else ":memory:"
        self.dry = path is None
        self._lock_file: int | None = None

    def open(self, integration: str, *, lock: bool, check: bool) -> Db:
        if self.path is not None:
            # The file holds access tokens and copies of records: the user's alone (0600 in
            # a 0700 folder). Created before SQLite opens it, which gives -wal/-shm its mode.
            private_folder(self.path.parent)
            if lock:
                self._lock(integration)
            private_file(self.path)
            for suffix in ("-wal", "-shm"):
                tighten(self.path.with_name(self.path.name + suffix))
        try:
            db = sqlite3.connect(self.file, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 5000")
            if self.path is not None:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = FULL")
            if check:
                check_integrity(db, self.file)
            create_file_tables(db)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise state_error(self.file, exc) from exc
        except StateError:
            self.close()
            raise
        return db

    def _lock(self, integration: str) -> None:
        assert self.path is not None
        lock_path = _lock_path(self.path, integration)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        tighten_fd(fd, lock_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLocked(
                f"another run of '{integration}' is in progress (lock {lock_path}); try again when it ends"
            ) from None
        self._lock_file = fd

    def statements(self) -> tuple[str, str, str]:
        return "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"

    @contextlib.contextmanager
    def side(self, db: Db) -> Iterator[Db]:
        if self.path is None:
            yield db  # the copy is the only database there is
            return
        try:
            own = connect(self.path)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state file {self.path}: {exc}") from exc
        try:
            yield own
        finally:
            own.close()

    def keys(self, db: Db) -> Db:
        # one writer at a time in a SQLite file: a second connection would wait on the batch
        return db

    @contextlib.contextmanager
    def refreshing(self, key: str) -> Iterator[None]:
        """An OS lock on `<state>.tokens.lock` (0600), for every credential of the file."""
        del key
        if self.path is None:
            yield
            return
        lock_path = self.path.with_name(f"{self.path.name}.tokens.lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"cannot open the token lock {lock_path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def close(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            os.close(self._lock_file)
            self._lock_file = None


def _run_lock_key(integration: str) -> str:
    return f"integrate:run:{integration}"


class DatabaseBackend:
    """A PostgreSQL database: batches are transactions; the run lock is a session advisory
    lock on the store's own connection (the server drops it when that connection ends: a
    killed worker's lock is free at once, and a worker that lost its connection cannot
    commit); a second connection commits tokens, metadata and link keys at once. `dry`: one
    transaction around everything, rolled back at close, batches as savepoints."""

    def __init__(self, url: str, *, dry: bool = False):
        self.url: str | None = url
        self.path: Path | None = None
        self.file = shown(url)
        self.dry = dry
        self._url = url
        self._side: PgConnection | None = None

    def open(self, integration: str, *, lock: bool, check: bool) -> Db:
        del check  # the server keeps its own pages whole
        db = PgConnection(self._url)
        try:
            create_database_tables(db)
            if lock:
                got = db.execute(
                    "SELECT pg_try_advisory_lock(hashtextextended(?, 0))",
                    (_run_lock_key(integration),),
                ).fetchone()[0]
                if not got:
                    raise RunLocked(
                        f"another run of '{integration}' is in progress (it holds the "
                        f"integration's lock in the state database {self.file}); try again "
                        "when it ends"
                    )
            if self.dry:
                db.execute("BEGIN")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise state_error(self.file, exc) from exc
        except BaseException:
            db.close()
            raise
        return db

    def statements(self) -> tuple[str, str, str]:
        if self.dry:
            return "SAVEPOINT batch", "RELEASE SAVEPOINT batch", "ROLLBACK TO SAVEPOINT batch"
        return "BEGIN", "COMMIT", "ROLLBACK"

    def _second(self) -> PgConnection:
        if self._side is None or self._side.closed:
            self._side = PgConnection(self._url)
        return self._side

    @contextlib.contextmanager
    def side(self, db: Db) -> Iterator[Db]:
        yield db if self.dry else self._second()

    def keys(self, db: Db) -> Db:
        # committed at once: runs of other integrations adding the same object's name never
        # wait on (or deadlock with) this run's batch
        return db if self.dry else self._second()

    @contextlib.contextmanager
    def refreshing(self, key: str) -> Iterator[None]:
        """A session advisory lock per credential on a connection of its own (a dead
        worker's ends with it): one refresh at a time across all workers."""
        if self.dry:
            yield
            return
        db = PgConnection(self._url)
        try:
            try:
                db.execute(
                    "SELECT pg_advisory_lock(hashtextextended(?, 0))", (f"integrate:token:{key}",)
                )
            except sqlite3.Error as exc:  # only the lock's: the refresh's errors are its own
                raise StateError(f"cannot lock the access token in {self.file}: {exc}") from exc
            yield
        finally:
            db.close()

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


__all__ = ["Backend", "DatabaseBackend", "FileBackend", "backend_for", "run_going"]
