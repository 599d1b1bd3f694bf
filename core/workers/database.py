"""The PostgreSQL database the workers share with the state: its URL (checked, and shown with
the password masked), a connection, and Procrastinate's schema applied once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from integrate.errors import StateError, UsageError
from integrate.secrets import REDACTOR
from integrate.statedb import first_line, hide_password, shown

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql", "postgres")
ENV = "INTEGRATE_STATE"
# Every worker and `integrate enqueue` may find the database new at the same moment: the
# first to take this transaction lock applies the schema, the others then find it there.
_SCHEMA_LOCK = "integrate:workers-schema"
# Which worker is which: Procrastinate knows a worker by a number and its heartbeat; we keep
# its name, host and process beside it (the row goes when Procrastinate forgets the worker).
_WORKERS_TABLE = """
CREATE TABLE IF NOT EXISTS integrate_workers(
  worker_id bigint PRIMARY KEY REFERENCES procrastinate_workers(id) ON DELETE CASCADE,
  name text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  integrations integer NOT NULL,
  stalled_after double precision NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Database:
    """A postgresql:// URL: `url` to connect with, `shown` to print (password masked)."""

    url: str
    shown: str

    def __str__(self) -> str:
        return self.shown


def database(text: str | None, option: str = "--state") -> Database:
    """The database a `--state` (or $INTEGRATE_STATE) names; a UsageError (exit 2) when it is
    missing or not a postgresql:// URL. Its password is masked in every message from now on."""
    if not text:
        raise UsageError(
            f"{option} is required: a postgresql:// URL (or set {ENV}); workers share their "
            "queue and state in PostgreSQL"
        )
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES or (not parts.netloc and not parts.path.strip("/")):
        given = REDACTOR.redact(text) if "://" not in text else shown(text)
        raise UsageError(
            f"{option} {given} is not a postgresql:// URL: workers, enqueue and `integrate "
            "workers` need PostgreSQL (postgresql://user:password@host:port/database)"
        )
    hide_password(text)
    return Database(text, shown(text))


def connect(db: Database, *, autocommit: bool = False) -> psycopg.Connection:
    """A connection of its own; a StateError (exit 1) naming the database when it fails."""
    import psycopg

    try:
        return psycopg.connect(db.url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        raise StateError(f"cannot connect to {db}: {first_line(exc)}") from exc


def prepare(db: Database) -> None:
    """Apply Procrastinate's schema (and our table of worker names) unless it is there: once,
    in one transaction under a lock, however many processes start at the same moment."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with connect(db) as conn:
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (_SCHEMA_LOCK,)
                )
                found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
                if found is None or found[0] is None:
                    conn.execute(SchemaManager.get_schema())
                conn.execute(_WORKERS_TABLE)
        except psycopg.Error as exc:
            raise StateError(
                f"cannot prepare the workers' tables in {db}: {first_line(exc)} (the user needs "
                "the right to create tables there)"
            ) from exc


def ready(db: Database) -> bool:
    """Whether Procrastinate's tables are in the database (read only)."""
    import psycopg

    with connect(db, autocommit=True) as conn:
        try:
            return has_tables(conn)
        except psycopg.Error as exc:
            raise StateError(f"cannot read {db}: {first_line(exc)}") from exc


def has_tables(conn: psycopg.Connection) -> bool:
    """Whether `prepare` has made the tables, on a connection of the caller's."""
    found = conn.execute(
        "SELECT to_regclass('procrastinate_jobs'), to_regclass('integrate_workers')"
    ).fetchone()
    return found is not None and None not in found
