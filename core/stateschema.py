"""The state's schema: one definition for a SQLite file and a PostgreSQL database (written in
SQLite's types, translated for PostgreSQL by statedb.postgres_schema), and the numbered
migrations both take, recorded in `meta.schema_version`."""

from __future__ import annotations

import sqlite3

from integrate.errors import StateError
from integrate.links import SCHEMA as LINKS_SCHEMA
from integrate.links import LinkTable
from integrate.statedb import Db, PgConnection, postgres_schema

# The schema's versions, kept in `meta.schema_version` (a versioned migration table of our
# own: ten tables, raw SQL over two drivers; Alembic would bring SQLAlchemy into the core for
# it, and a state file is upgraded by whichever `integrate` opens it, with no script folder).
# 2: runs numbered per integration (`runs.number`); every other table's run_id names that number
# 3: `runs.worker`, the worker that ran it (docs/scaling-out.md)
BASE_VERSION = 2  # what _SCHEMA and the links' SCHEMA make
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (3, "the worker that ran each run", "ALTER TABLE runs ADD COLUMN worker TEXT"),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs(
  run_id INTEGER PRIMARY KEY AUTOINCREMENT,
  integration TEXT NOT NULL,
  number INTEGER,
  status TEXT NOT NULL,
  trigger TEXT NOT NULL DEFAULT 'manual',
  dry_run INTEGER NOT NULL DEFAULT 0,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  stats TEXT,
  plugins TEXT,
  message TEXT
);
CREATE TABLE IF NOT EXISTS flow_state(
  integration TEXT NOT NULL,
  flow TEXT NOT NULL,
  side TEXT NOT NULL,
  cursor TEXT,
  completed_runs INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL,
  PRIMARY KEY(integration, flow, side)
);
CREATE TABLE IF NOT EXISTS held(
  integration TEXT NOT NULL,
  flow TEXT NOT NULL,
  side TEXT NOT NULL,
  source_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  record TEXT NOT NULL,
  candidates TEXT,
  resolution TEXT,
  attempts INTEGER NOT NULL DEFAULT 1,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  run_id INTEGER,
  code TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(integration, flow, side, source_id)
);
CREATE TABLE IF NOT EXISTS failures(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  integration TEXT NOT NULL,
  run_id INTEGER,
  flow TEXT NOT NULL,
  side TEXT NOT NULL,
  source_id TEXT,
  stage TEXT NOT NULL,
  code TEXT,
  message TEXT NOT NULL,
  location TEXT,
  record TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seen(
  integration TEXT NOT NULL,
  flow TEXT NOT NULL,
  source_id TEXT NOT NULL,
  related TEXT NOT NULL,
  related_id TEXT NOT NULL,
  PRIMARY KEY(integration, flow, source_id, related, related_id)
);
CREATE TABLE IF NOT EXISTS tokens(
  integration TEXT NOT NULL,
  connection TEXT NOT NULL,
  data TEXT NOT NULL,
  expires_at REAL,
  PRIMARY KEY(integration, connection)
);
CREATE TABLE IF NOT EXISTS credential_tokens(
  credential TEXT PRIMARY KEY,
  data TEXT NOT NULL,
  expires_at REAL
);
CREATE TABLE IF NOT EXISTS webhook_events(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  integration TEXT NOT NULL,
  flow TEXT NOT NULL,
  provider TEXT NOT NULL,
  event_key TEXT NOT NULL,
  object TEXT NOT NULL,
  operation TEXT NOT NULL,
  ids TEXT NOT NULL,
  received_at TEXT NOT NULL,
  applied_at TEXT,
  run_id INTEGER,
  UNIQUE(integration, flow, event_key)
);
CREATE TABLE IF NOT EXISTS channels(
  integration TEXT NOT NULL,
  flow TEXT NOT NULL,
  connection TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  objects TEXT NOT NULL,
  notify_url TEXT NOT NULL,
  token TEXT NOT NULL,
  previous_token TEXT,
  rotated_at REAL,
  expires_at REAL NOT NULL,
  PRIMARY KEY(integration, flow)
);
CREATE TABLE IF NOT EXISTS metadata_cache(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  stored_at REAL NOT NULL,
  expires_at REAL NOT NULL
);
"""


def create_file_tables(db: sqlite3.Connection) -> None:
    """This version's tables, in a new file or one an older version wrote (which gains the
    columns added since, then the migrations after the base version)."""
    _base_tables(db)
    db.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(BASE_VERSION),)
    )
    version = _version(db)
    if version < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            _migrate(db, _version(db))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _version(db: Db) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StateError(
            f"the state was written by a newer integrate (schema version {version}; this one "
            f"knows up to {SCHEMA_VERSION}): upgrade integrate on this machine"
        )
    return version


def _migrate(db: Db, version: int) -> None:
    """The migrations after `version`, in the transaction the caller opened."""
    for number, _what, sql in MIGRATIONS:
        if number > version:
            db.execute(sql)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


# Databases this process found at this schema version: a worker opens the state for every
# run, and then reads the version alone (one statement, not a locked transaction of four).
_CURRENT: set[str] = set()


def create_database_tables(db: PgConnection) -> None:
    """The tables in a PostgreSQL database: made from the same schema as a file's, then the
    same migrations; one transaction, under a lock so workers starting together take turns."""
    if db.url in _CURRENT and _version(db) == SCHEMA_VERSION:
        return
    db.execute("BEGIN")
    try:
        db.execute("SELECT pg_advisory_xact_lock(hashtextextended('integrate:schema', 0))")
        known = db.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
        version = _version(db) if known else 0
        if version == 0:
            db.executescript(postgres_schema(_SCHEMA + LINKS_SCHEMA))
            db.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(BASE_VERSION),)
            )
            version = BASE_VERSION
        if version < SCHEMA_VERSION:
            _migrate(db, version)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    _CURRENT.add(db.url)


def _base_tables(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    held_columns = {row[1] for row in db.execute("PRAGMA table_info(held)")}
    if "code" not in held_columns:
        db.execute("ALTER TABLE held ADD COLUMN code TEXT NOT NULL DEFAULT ''")
    LinkTable.create(db)
    if "number" not in {row[1] for row in db.execute("PRAGMA table_info(runs)")}:
        _number_runs(db)


# The tables whose run_id names the run that wrote a row (a run's number, since version 2).
_RUN_REFERENCES = ("held", "failures", "webhook_events", "links")


def _number_runs(db: sqlite3.Connection) -> None:
    """A file from version 1, where runs shared one sequence across integrations: each run
    gets its number within its integration (in the order they ran), and the rows that name a
    run by its id name it by that number instead. One transaction: all or nothing."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE runs ADD COLUMN number INTEGER")
        db.execute(
            "UPDATE runs SET number = (SELECT COUNT(*) FROM runs AS r WHERE"
            " r.integration = runs.integration AND r.run_id <= runs.run_id)"
        )
        for table in _RUN_REFERENCES:
            db.execute(
                f"UPDATE {table} SET run_id = (SELECT number FROM runs"
                f" WHERE runs.run_id = {table}.run_id) WHERE run_id IS NOT NULL"
            )
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?",
            ("2", 2),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


__all__ = [
    "BASE_VERSION",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "create_database_tables",
    "create_file_tables",
]
