"""The throw-away PostgreSQL the tests run against (tests/pgcluster.py): reachable on 127.0.0.1
only and by password only, fresh empty databases, and `run` / `start` / `stop` that leave no
server and no folder behind."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests import pgcluster
from tests.conftest import repo_root

TIMEOUT = 60  # seconds any one pgcluster command may take here (it takes about one)


def pgcluster_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pgcluster", *args],
        cwd=repo_root(),
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def postmaster_alive(pid: int, folder: Path) -> bool:
    """Whether `pid` is still a live postgres process serving the cluster in `folder`."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return state != "Z" and os.fsencode(str(folder / "data")) in cmdline


def line_within(process: subprocess.Popen[str], seconds: float) -> str:
    """The next line CMD prints, failing (not hanging) when none comes in time."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(seconds), f"no line within {seconds}s"
    return process.stdout.readline().strip()


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


# ---- the server -----------------------------------------------------------------------------


def test_the_server_listens_on_127_0_0_1_only(pg_server: str) -> None:
    port = urlsplit(pg_server).port
    assert port is not None

    with psycopg.connect(pg_server) as conn:
        listen = conn.execute("SHOW listen_addresses").fetchone()
        address = conn.execute("SELECT host(inet_server_addr())").fetchone()
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # answers on 127.0.0.1
    with pytest.raises(ConnectionRefusedError):  # another loopback address: nobody there
        socket.create_connection(("127.0.0.2", port), timeout=5).close()

    assert listen == ("127.0.0.1",)
    assert address == ("127.0.0.1",)


def test_a_wrong_or_missing_password_is_refused(pg_server: str) -> None:
    wrong = with_password(pg_server, "not-the-password")
    without = urlunsplit(
        urlsplit(pg_server)._replace(netloc=f"integrate@127.0.0.1:{urlsplit(pg_server).port}")
    )

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        psycopg.connect(without, connect_timeout=5, passfile=os.devnull)


def test_fresh_database_is_empty_even_over_one_in_use(pg_server: str) -> None:
    name = f"pgcluster_fresh_{os.getpid()}"
    first = pgcluster.fresh_database(pg_server, name)
    leaked = psycopg.connect(first, autocommit=True)  # a session a test forgot to close
    try:
        leaked.execute("CREATE TABLE people (email text)")
        leaked.execute("INSERT INTO people VALUES ('ada@example.com')")

        again = pgcluster.fresh_database(pg_server, name)
        with psycopg.connect(again) as conn:
            database = conn.execute("SELECT current_database()").fetchone()
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
    finally:
        leaked.close()
        pgcluster.drop_database(pg_server, name)

    assert again == first
    assert database == (name,)
    assert tables == (0,)


def test_pg_url_is_an_empty_database_of_its_own(pg_url: str, pg_server: str) -> None:
    with psycopg.connect(pg_url) as conn:
        (database,) = conn.execute("SELECT current_database()").fetchone() or ("",)
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()

    assert database.startswith("test_")
    assert database not in {"postgres", "template1"}
    assert tables == (0,)


# ---- the command line -----------------------------------------------------------------------


def test_run_gives_cmd_s_exit_code_and_leaves_no_server_and_no_folder() -> None:
    script = 'echo "$INTEGRATE_TEST_PG_DIR"; head -n 1 "$INTEGRATE_TEST_PG_DIR/data/postmaster.pid"; false'
    process = pgcluster_cli("run", "--", "sh", "-c", script)
    out, err = process.communicate(timeout=TIMEOUT)
    folder, pid = out.split()

    assert process.returncode == 1, err
    assert not Path(folder).exists()
    assert not postmaster_alive(int(pid), Path(folder))


def test_sigterm_to_run_stops_cmd_and_the_cluster() -> None:
    probe = (
        "import os, psycopg, time\n"
        "with psycopg.connect(os.environ['INTEGRATE_TEST_PG']) as conn:\n"
        "    conn.execute('SELECT 1')\n"
        "print(os.environ['INTEGRATE_TEST_PG_DIR'], flush=True)\n"
        "time.sleep(30)\n"
    )
    process = pgcluster_cli("run", "--", sys.executable, "-c", probe)
    try:
        folder = Path(line_within(process, TIMEOUT))
        pid = int((folder / "data/postmaster.pid").read_text().split()[0])
        assert postmaster_alive(pid, folder)

        process.send_signal(signal.SIGTERM)
        process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 128 + signal.SIGTERM
    assert not folder.exists()
    assert not postmaster_alive(pid, folder)


def test_start_prints_exports_and_stop_removes_that_cluster() -> None:
    started = pgcluster_cli("start")
    out, err = started.communicate(timeout=TIMEOUT)
    assert started.returncode == 0, err
    exports = dict(
        line.removeprefix("export ").replace("'", "").split("=", 1) for line in out.splitlines()
    )
    folder = Path(exports["INTEGRATE_TEST_PG_DIR"])
    try:
        with psycopg.connect(exports["INTEGRATE_TEST_PG"], connect_timeout=5) as conn:
            answer = conn.execute("SELECT 1").fetchone()
        pid = int((folder / "data/postmaster.pid").read_text().split()[0])
    finally:
        stopped = pgcluster_cli("stop", env={"INTEGRATE_TEST_PG_DIR": str(folder)})
        stopped.communicate(timeout=TIMEOUT)

    assert sorted(exports) == ["INTEGRATE_TEST_PG", "INTEGRATE_TEST_PG_DIR"]
    assert answer == (1,)
    assert stopped.returncode == 0
    assert not folder.exists()
    assert not postmaster_alive(pid, folder)


def test_stop_leaves_a_folder_it_did_not_make_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")

    stopped = pgcluster_cli("stop", env={"INTEGRATE_TEST_PG_DIR": str(tmp_path)})
    _out, err = stopped.communicate(timeout=TIMEOUT)

    assert stopped.returncode == 1
    assert "not a test cluster" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"
