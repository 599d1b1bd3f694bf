"""Where the state lives: a SQLite file (the embedded default) or a PostgreSQL database
(`--state postgresql://…`, for workers on many machines: docs/scaling-out.md).

The store's SQL is written once, in the dialect both servers share (`ON CONFLICT … DO
UPDATE`, `RETURNING`, `?` marks). A PostgreSQL connection here takes that SQL as a SQLite
connection would: `PgConnection` turns the marks into psycopg's, `INSERT OR IGNORE` into `ON
CONFLICT DO NOTHING` and SQLite's column types into PostgreSQL's, and raises its errors as
`PostgresError`, a `sqlite3.DatabaseError`, so every place that turns a database error into a
StateError that says what to do handles both. psycopg is imported only for a PostgreSQL state.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeAlias, TypeGuard
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from integrate.errors import StateError
from integrate.secrets import MASK, REDACTOR

SCHEMES = ("postgresql://", "postgres://")


def is_url(location: str | Path | None) -> TypeGuard[str]:
    """Whether a state location names a PostgreSQL database rather than a file."""
    return isinstance(location, str) and location.startswith(SCHEMES)


def shown(location: str | Path) -> str:
    """A location as it may be printed: a URL as written, its password (in the user part or
    the query) replaced by ***."""
    text = str(location)
    if "://" not in text:
        return text
    parts = urlsplit(text)
    if parts.password is not None:
        user = parts.netloc.rpartition("@")[0]
        name = user.split(":", 1)[0]
        text = text.replace(f"{user}@", f"{name}:{MASK}@", 1)
    pairs = parse_qsl(parts.query)
    if any(key == "password" for key, _ in pairs):
        query = urlencode([(k, MASK if k == "password" else v) for k, v in pairs], safe="*")
        text = text.replace(f"?{parts.query}", f"?{query}", 1)
    return text


def hide_password(url: str) -> None:
    """Mask a URL's password (in the user part or the query) in every output from now on."""
    parts = urlsplit(url)
    if parts.password:
        REDACTOR.register(parts.password)
    for key, value in parse_qsl(parts.query):
        if key == "password" and value:
            REDACTOR.register(value)
    if parts.password:
        REDACTOR.register(unquote(parts.password))  # as libpq reads it


class PostgresError(sqlite3.DatabaseError):
    """A PostgreSQL error, as the store's error handling knows database errors. `lost`: the
    connection is gone (the server stopped, the network dropped): nothing more is written."""

    def __init__(self, message: str, *, lost: bool = False):
        super().__init__(message)
        self.lost = lost


class _Cursor:
    def __init__(self, rows: list[Any], rowcount: int):
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """The store's SQL (SQLite's marks and words) as PostgreSQL takes it through psycopg."""
    text = sql.replace("%", "%%").replace("?", "%s")
    text = re.sub(r"\bBEGIN IMMEDIATE\b", "BEGIN", text)
    text = re.sub(r"\bIS NOT %s", "IS DISTINCT FROM %s", text)
    if re.match(r"\s*INSERT OR IGNORE INTO\b", text):
        text = re.sub(r"INSERT OR IGNORE INTO", "INSERT INTO", text, count=1)
        head, sep, tail = text.partition(" RETURNING ")
        text = head + " ON CONFLICT DO NOTHING" + (sep + tail if sep else "")
    return text


def postgres_schema(sql: str) -> str:
    """A schema written for SQLite, in PostgreSQL's types: one definition for both."""
    text = re.sub(r"INTEGER PRIMARY KEY( AUTOINCREMENT)?", "BIGSERIAL PRIMARY KEY", sql)
    text = re.sub(r"\bINTEGER\b", "BIGINT", text)
    text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text)
    return re.sub(r"\bBLOB\b", "BYTEA", text)


class PgConnection:
    """One connection to the state's PostgreSQL database, in autocommit mode: a transaction
    is the store's own BEGIN … COMMIT, as on SQLite. Thread-safe (one lock a statement)."""

    def __init__(self, url: str, *, timeout: float = 10.0):
        try:
            import psycopg
        except ImportError as exc:  # the `postgres` extra is not installed
            raise StateError(
                "a PostgreSQL state needs the 'postgres' extra: pip install 'integrate-sync[postgres]'"
            ) from exc
        self._psycopg = psycopg
        self.url = url
        hide_password(url)
        try:
            self._conn = psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, int(timeout)), prepare_threshold=None
            )
        except psycopg.Error as exc:
            raise StateError(
                f"cannot connect to the state database {shown(url)}: {first_line(exc)}; check "
                "that the server runs, the URL (host, port, database, user) and the password"
            ) from exc
        self._lock = threading.RLock()

    @property
    def in_transaction(self) -> bool:
        status = self._conn.info.transaction_status
        return bool(status != self._psycopg.pq.TransactionStatus.IDLE)

    @property
    def closed(self) -> bool:
        return bool(self._conn.closed)

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        with self._lock:
            try:
                cur = self._conn.execute(translate(sql), _params(parameters))
                rows = cur.fetchall() if cur.description is not None else []
                return _Cursor(rows, cur.rowcount)
            except self._psycopg.Error as exc:
                raise self._error(exc) from exc

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> _Cursor:
        with self._lock:
            try:
                cur = self._conn.cursor()
                cur.executemany(translate(sql), [_params(p) for p in parameters])
                return _Cursor([], cur.rowcount)
            except self._psycopg.Error as exc:
                raise self._error(exc) from exc

    def executescript(self, sql_script: str, /) -> None:
        for statement in sql_script.split(";"):
            if statement.strip():
                self.execute(statement)

    def close(self) -> None:
        self._conn.close()

    def _error(self, exc: Exception) -> PostgresError:
        lost = isinstance(exc, self._psycopg.OperationalError) and bool(self._conn.closed)
        return PostgresError(first_line(exc), lost=lost)


# A connection to the state: a file's, or a PostgreSQL database's taking the same SQL.
Db: TypeAlias = sqlite3.Connection | PgConnection


def _params(parameters: Any) -> Sequence[Any]:
    """sqlite3's blobs are bytes (psycopg: bytea); everything else passes as it is."""
    return tuple(parameters) if parameters is not None else ()


def first_line(exc: BaseException) -> str:
    """An error's first line, secrets masked: what a message about a database failure says."""
    text = str(exc).strip().splitlines()
    return REDACTOR.redact(text[0] if text else type(exc).__name__)


def connect(location: str | Path, *, timeout: float = 5.0) -> Db:
    """A new connection to a state: each statement commits at once unless inside BEGIN."""
    if is_url(location):
        return PgConnection(str(location), timeout=timeout)
    return sqlite3.connect(str(location), isolation_level=None, timeout=timeout)


__all__ = [
    "SCHEMES",
    "Db",
    "PgConnection",
    "PostgresError",
    "connect",
    "is_url",
    "postgres_schema",
    "shown",
    "translate",
]
