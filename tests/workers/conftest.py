"""A throw-away PostgreSQL for the worker tests: one cluster per test session (initdb, on a
free loopback port, stopped by its pid at the end), a fresh database per test (`pg_url`).
Its password is a canary: no test output may show it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workers.world import Workers, started_workers

BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "pg-canary-5e3f1a"  # a throw-away cluster's, and a canary


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    """initdb and postgres refuse root: as root, run them as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def pg_server() -> Iterator[tuple[str, int]]:
    """(host, port) of a PostgreSQL 15 cluster of this session, user `postgres`."""
    if not (BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 is not installed ({BIN})")
    # not under pytest's folder: as root, that is closed to the `postgres` user
    root = Path(tempfile.mkdtemp(prefix="integrate-pg-"))
    data, password_file = root / "data", root / "password"
    password_file.write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(password_file, "postgres")
    subprocess.run(
        _as_owner(
            [
                str(BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        _as_owner(
            [
                str(BIN / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ]
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
            check=False,
            capture_output=True,
        ).returncode:
            assert server.poll() is None, "postgres did not start"
            assert time.monotonic() < deadline, "postgres did not answer in 30 s"
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        # the postmaster itself (as root, `server` is runuser): SIGINT is a fast shutdown
        pid_file = data / "postmaster.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
        else:
            server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: tuple[str, int]) -> Iterator[str]:
    """A fresh database of the session's cluster, as a postgresql:// URL (dropped after)."""
    import psycopg

    host, port = pg_server
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = f"postgresql://postgres:{PASSWORD}@{host}:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres:{PASSWORD}@{host}:{port}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def workers(workdir: Path, pg_url: str) -> Iterator[Workers]:
    """Worker processes started in the test's folder on its database (killed at the end)."""
    yield from started_workers(workdir, pg_url)
