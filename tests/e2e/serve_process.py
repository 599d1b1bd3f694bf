"""`integrate serve` as a subprocess of a test: started in the test's folder with its
environment, waited on with a bound, its state database read while it runs (conftest.py's
`stopping` kills, by pid, what a test started and left running)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEADLINE = 30.0  # seconds any one wait may take


class ServeProcesses:
    """serve processes started in `root` with `env`; a subclass sets both."""

    root: Path
    env: dict[str, str]
    poll = 0.02  # seconds between two looks of `wait`

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "integrate", "serve", "spec.yaml", "--port", "0"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait(self, what: str, done: Callable[[], bool], process: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + DEADLINE
        while not done():
            assert process.poll() is None, (what, process.communicate())
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"{what}: not within {DEADLINE}s", process.communicate())
            time.sleep(self.poll)

    def db(self, sql: str) -> list[tuple[Any, ...]]:
        path = self.root / ".integrate/state.db"
        if not path.exists():
            return []
        db = sqlite3.connect(path, timeout=5)
        try:
            return db.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []  # not made yet
        finally:
            db.close()

    def runs(self) -> list[tuple[str, str]]:
        """The run history: (trigger, status) of each run, in order."""
        return [(t, s) for t, s in self.db("SELECT trigger, status FROM runs ORDER BY run_id")]
