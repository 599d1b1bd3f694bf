"""Runs on Procrastinate workers over PostgreSQL (docs/scaling-out.md): `integrate worker`,
`integrate enqueue`, `integrate workers`. Imported only when a user asks for workers: the
embedded default (SQLite, the in-process scheduler) never loads Procrastinate or psycopg."""
