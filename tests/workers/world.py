"""What the worker tests share: a files → files integration slow enough to be caught
mid-run (thousands of records in batches of 10), worker processes stopped by their pid, and
readers of what a user can see (the state's run history, the queue's jobs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SPEC = """\
integrate: 1
name: {name}
connections:
  src: {{plugin: files, config: {{path: ./{name}/src, cursor_field: changed}}}}
  dst: {{plugin: files, config: {{path: ./{name}/dst}}}}
{schedule}
flows:
  accounts:
    from: src.accounts
    to: dst.accounts
    batch_size: 10
    match: [[name, title]]
    fields: {{title: name, city: city}}
"""


def integration(root: Path, name: str, records: int = 3000, schedule: str = "") -> Path:
    """A spec `<name>.yaml` in `root` copying `records` accounts into an empty folder."""
    (root / name / "src").mkdir(parents=True)
    (root / name / "dst").mkdir(parents=True)
    lines = [
        json.dumps({"id": f"s{i}", "name": f"Company {i:05d}", "city": "Berlin", "changed": i})
        for i in range(records)
    ]
    (root / name / "src" / "accounts.jsonl").write_text("\n".join(lines) + "\n")
    (root / name / "dst" / "accounts.jsonl").write_text("")
    spec = root / f"{name}.yaml"
    spec.write_text(SPEC.format(name=name, schedule=f"schedule: '{schedule}'" if schedule else ""))
    return spec


def target_titles(root: Path, name: str) -> list[str]:
    path = root / name / "dst" / "accounts.jsonl"
    return [json.loads(line)["title"] for line in path.read_text().splitlines() if line.strip()]


def target_bytes(root: Path, name: str) -> int:
    return sum(p.stat().st_size for p in (root / name / "dst").iterdir() if p.is_file())


def runs(url: str, name: str) -> list[dict[str, Any]]:
    """The integration's run history, oldest first: the state in the workers' database."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        if conn.execute("SELECT to_regclass('runs')").fetchone() == {"to_regclass": None}:
            return []  # no run yet has made the state's tables
        return conn.execute(
            "SELECT number, status, trigger, started_at, finished_at, message, worker FROM runs"
            " WHERE integration = %s ORDER BY number",
            (name,),
        ).fetchall()


def jobs(url: str) -> list[dict[str, Any]]:
    """The queue's `integrate.run` jobs, oldest first."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT j.id, j.status::text AS status, j.args, j.lock, j.queueing_lock,"
            " j.queue_name, j.attempts, j.worker_id, n.pid, n.name AS worker"
            " FROM procrastinate_jobs j LEFT JOIN integrate_workers n ON n.worker_id = j.worker_id"
            " WHERE j.task_name = 'integrate.run' ORDER BY j.id"
        ).fetchall()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll `check` until it gives something true (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"waited {timeout:g}s for {what}"
        time.sleep(0.05)


class WorkerProcess:
    """`integrate worker` in a process of its own, its stderr in a file."""

    def __init__(self, root: Path, url: str, specs: list[Path], name: str, *options: str) -> None:
        self.name = name
        self.log_path = root / f"{name}.log"
        env = {**os.environ, "INTEGRATE_STATE": url, "INTEGRATE_HOME": str(root / ".integrate")}
        env.pop("INTEGRATE_BLOCK_PLUGINS", None)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "integrate",
                    "worker",
                    *map(str, specs),
                    "--name",
                    name,
                    "--stalled-after",
                    "2",
                    *options,
                ],
                cwd=root,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text()

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, and its exit code once it has stopped."""
        self.signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=10)


class Workers:
    """The worker processes of a test; each still running at its end is killed by its pid."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.started: list[WorkerProcess] = []

    def start(self, specs: list[Path], name: str, *options: str) -> WorkerProcess:
        worker = WorkerProcess(self.root, self.url, specs, name, *options)
        self.started.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.started:
            worker.kill()


def password(url: str) -> str:
    """The database's password: a canary no output may show."""
    found = urlsplit(url).password
    assert found, "the test database has a password"
    return found
