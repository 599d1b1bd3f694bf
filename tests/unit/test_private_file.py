"""Making a state file private must not drop the SQLite locks this process holds on it:
closing any descriptor of a file releases every POSIX lock of the process on that file, so a
run opening the state while another thread of `integrate serve` (its webhook receiver) holds
a write lock would leave that lock gone, and SQLite answers "disk I/O error" or worse."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from integrate.permissions import private_file

OTHER_WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=0.2)
try:
    db.execute("BEGIN IMMEDIATE")
    print("took the lock")
except sqlite3.OperationalError as exc:
    print(exc)
"""


def test_a_lock_held_by_this_process_stays_held_when_the_file_is_made_private(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # a write lock, as a receiver's insert holds one
    try:
        private_file(path)  # what StateStore does when a run opens the state

        other = subprocess.run(
            [sys.executable, "-c", OTHER_WRITER, str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert other.stdout.strip() == "database is locked"


def test_a_new_file_is_made_with_owner_only_permissions(tmp_path: Path) -> None:
    path = tmp_path / "state.db"

    private_file(path)

    assert path.stat().st_mode & 0o777 == 0o600
