"""A damaged, full or unwritable state file is an error that says which file, what is wrong
and what to do — never a traceback, never a run that goes on past it. Runs check the file's
integrity when they open it (`PRAGMA quick_check`, a read of every page)."""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from integrate.errors import StateError
from integrate.statedb import PostgresError

T = TypeVar("T")

# SQLite's primary result codes (https://sqlite.org/rescode.html)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = (
    3, 5, 6, 8, 10, 11, 13, 14, 26,
)  # fmt: skip


def damaged(path: Path | str, detail: str) -> StateError:
    """The message for a state file whose pages are damaged or that is no database."""
    return StateError(
        f"the state file {path} is damaged ({detail}). Restore it from a backup, or move it "
        f"aside (`mv {path} {path}.damaged`, and its -wal and -shm files if any): the next run "
        "then starts over with empty state, matching records by their keys (first-run policies "
        "apply again); nothing in any system is deleted, but the pending queue, open failures "
        "and run history it held are left in the moved file"
    )


def state_error(path: Path | str, exc: sqlite3.DatabaseError) -> StateError:
    """A sqlite3 error from the state store as a StateError that says what to do."""
    if isinstance(exc, PostgresError):
        return _postgres_error(path, exc)
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    text = str(exc)
    if code in (_CORRUPT, _NOTADB) or "malformed" in text or "not a database" in text:
        return damaged(path, text)
    if code == _FULL or "disk is full" in text:
        return StateError(
            f"the disk holding the state file {path} is full ({text}): free some space and run "
            "again. The state file is as the last committed batch left it; the batch in flight "
            "was not recorded, and the next run carries on from there"
        )
    if code == _IOERR:
        return StateError(
            f"the state file {path} could not be read or written ({text}): check the disk and "
            "its free space, then run again; the last committed batch is kept"
        )
    if code in (_BUSY, _LOCKED):
        return StateError(
            f"the state file {path} is busy: another process has held it for over 5 seconds "
            f"({text}); try again when it is done"
        )
    if code in (_READONLY, _PERM, _CANTOPEN):
        return StateError(
            f"cannot write or open the state file {path} ({text}): check that it and its "
            "folder exist and that the user running integrate may write them"
        )
    return StateError(f"the state file {path} failed: {text}")


def _postgres_error(where: Path | str, exc: PostgresError) -> StateError:
    """A PostgreSQL state's error (`where` names the database, its password hidden)."""
    if exc.lost:
        return StateError(
            f"the connection to the state database {where} was lost ({exc}): the run stopped "
            "there; its last committed batch stands and the next run carries on from it. Check "
            "that the server runs and is reachable"
        )
    return StateError(f"the state database {where} failed: {exc}")


def check_integrity(db: sqlite3.Connection, path: Path | str) -> None:
    """Raise a StateError when the file has damaged pages (cost: one read of the file)."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise state_error(path, exc) from exc
    problems = [str(row[0]) for row in rows if row[0] != "ok"]
    if problems:
        detail = " ".join(" ".join(problems[:2]).split())
        raise damaged(path, detail[:240] + ("…" if len(detail) > 240 else ""))


def translating(cls: type[T]) -> type[T]:
    """Every public method of a store class turns sqlite3 errors about the file (damage, a
    full disk, I/O, locks, permissions) into StateErrors that name the store's `file`. A
    ProgrammingError (a statement that cannot work) is a bug and keeps its traceback."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        setattr(cls, name, _translated(member))
    return cls


def _translated(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except sqlite3.ProgrammingError:
            raise
        except sqlite3.DatabaseError as exc:
            raise state_error(self.file, exc) from exc

    return method
