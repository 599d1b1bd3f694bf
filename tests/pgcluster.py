"""A throw-away PostgreSQL cluster for the tests: `initdb` in a fresh temporary folder (as the
`postgres` user when run as root, since initdb refuses root), started on a free port of
127.0.0.1 only, with a superuser `integrate` whose random password exists only in memory.

    python -m tests.pgcluster run -- CMD ...   cluster up, CMD with INTEGRATE_TEST_PG, cluster gone
    python -m tests.pgcluster start            print `export ...` lines for a developer's shell
    python -m tests.pgcluster stop             stop the one INTEGRATE_TEST_PG_DIR names

Stdlib and psycopg only (psycopg imported where used), so `run` starts fast."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

ENV_URL = "INTEGRATE_TEST_PG"
ENV_DIR = "INTEGRATE_TEST_PG_DIR"
ENV_BIN = "INTEGRATE_TEST_PG_BIN"
DEFAULT_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "integrate"
OS_USER = "postgres"  # who runs initdb and the server when we are root
MARKER = "integrate-test-cluster"  # `stop` removes only a folder holding this file
START_TIMEOUT = 30  # seconds pg_ctl may wait for the server to accept connections
STOP_TIMEOUT = 15  # seconds pg_ctl may wait for a fast shutdown
PORT_TRIES = 3  # a port found free can be taken before the server binds it
CHILD_GRACE = 60  # seconds CMD gets to finish after a forwarded SIGINT/SIGTERM

# This cluster is thrown away after the tests: durability buys nothing, so the settings that
# make a crash lose data are off, which makes commits and CREATE DATABASE cheap.
THROWAWAY_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # 4 workers, each with its pools, plus the tests themselves connect at the same time
    "max_connections": "300",
}

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ClusterError(RuntimeError):
    """The test cluster could not be created, started or stopped; the message says why."""


@dataclass(frozen=True)
class Cluster:
    """A running test cluster: its folder (data/, log, socket), port, superuser URL and the
    postmaster's pid. The URL holds the password, so it stays out of repr."""

    dir: Path
    port: int
    url: str = field(repr=False)
    pid: int


# ---- starting and stopping ----------------------------------------------------------------


def start(base: Path | None = None) -> Cluster:
    """A new cluster in a fresh folder under `base` (the system's temp folder by default),
    running and accepting the superuser's password over TCP on 127.0.0.1."""
    bin_dir = pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="integrate-pg-", dir=base))
    try:
        owner = _owner()
        if owner is not None:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        (folder / MARKER).touch()
        password = secrets.token_urlsafe(24)
        _initdb(bin_dir, folder, password, owner)
        _configure(folder / "data", folder)
        port = _start_server(bin_dir, folder, owner)
        url = f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/postgres"
        return Cluster(folder, port, url, _postmaster_pid(folder))
    except BaseException:
        _stop_folder(bin_dir, folder)
        raise


def stop(cluster: Cluster) -> None:
    """Shut the cluster down (fast: sessions are ended) and remove its folder."""
    _stop_folder(pg_bin(), cluster.dir, cluster.pid)


def pg_bin() -> Path:
    """The folder of initdb and pg_ctl: INTEGRATE_TEST_PG_BIN, else PostgreSQL 15's Debian
    folder, else wherever `initdb` is on PATH."""
    chosen = os.environ.get(ENV_BIN)
    if chosen:
        candidates = [Path(chosen)]
    else:
        on_path = shutil.which("initdb")
        candidates = [DEFAULT_BIN, *([Path(on_path).parent] if on_path else [])]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise ClusterError(
        f"no initdb and pg_ctl in {', '.join(map(str, candidates)) or 'PATH'}: install "
        f"PostgreSQL 15 (Debian: postgresql-15) or set {ENV_BIN} to its bin folder"
    )


def _owner() -> pwd.struct_passwd | None:
    """The `postgres` account when we are root (initdb and postgres refuse root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError as exc:
        raise ClusterError(
            f"running as root, and PostgreSQL refuses root: create a `{OS_USER}` user "
            "(Debian's postgresql package does) or run the tests as another user"
        ) from exc


def _initdb(bin_dir: Path, folder: Path, password: str, owner: pwd.struct_passwd | None) -> None:
    pwfile = folder / "pwfile"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
        if owner is not None:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        argv = [str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", SUPERUSER]
        argv += [f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"]
        argv += ["--no-sync", "--no-instructions"]  # no-sync: thrown away, why wait for the disk
        _pg(owner, folder, argv, timeout=120)
    finally:
        pwfile.unlink(missing_ok=True)


def _configure(data: Path, folder: Path) -> None:
    """Loopback only, the socket in the cluster's own folder, the throw-away settings."""
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": _quoted(str(folder)),
        **THROWAWAY_SETTINGS,
    }
    lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(f"\n# integrate's throw-away test cluster (tests/pgcluster.py)\n{lines}")


def _start_server(bin_dir: Path, folder: Path, owner: pwd.struct_passwd | None) -> int:
    """Start on a free port of 127.0.0.1 and return it; another port if that one was taken."""
    problem: ClusterError | None = None
    for _ in range(PORT_TRIES):
        port = free_port()
        try:
            argv = [str(bin_dir / "pg_ctl"), "start", "-w", f"-t{START_TIMEOUT}"]
            argv += ["-D", str(folder / "data"), "-l", str(folder / "log"), "-o", f"-p {port}"]
            _pg(owner, folder, argv, timeout=START_TIMEOUT + 10)
            return port
        except ClusterError as exc:
            problem = exc
            if "already in use" not in _tail(folder / "log"):
                break
    assert problem is not None
    raise ClusterError(f"{problem}\nserver log ({folder / 'log'}):\n{_tail(folder / 'log')}")


def _stop_folder(bin_dir: Path, folder: Path, pid: int | None = None) -> None:
    """Stop the server of `folder` if one runs (pg_ctl, else its postmaster by pid), then
    remove the folder. Bounded: every wait has a timeout."""
    data = folder / "data"
    pid = pid or _postmaster_pid(folder, missing_ok=True)
    if pid and _running(pid, data):
        argv = [str(bin_dir / "pg_ctl"), "stop", "-w", f"-t{STOP_TIMEOUT}", "-D", str(data)]
        with contextlib.suppress(ClusterError):  # then it is killed by pid below
            _pg(_owner(), folder, [*argv, "-m", "fast"], timeout=STOP_TIMEOUT + 5)
        _kill(pid, data)
    shutil.rmtree(folder, ignore_errors=True)


def _kill(pid: int, data: Path) -> None:
    """SIGQUIT (immediate shutdown), then SIGKILL, to the postmaster if it still runs."""
    for sig, wait in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if not _running(pid, data):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while _running(pid, data) and time.monotonic() < deadline:
            time.sleep(0.05)
    if _running(pid, data):
        raise ClusterError(f"the postmaster of {data} (pid {pid}) outlived SIGKILL")


def _running(pid: int, data: Path) -> bool:
    """Whether `pid` is a live (not zombie) postgres serving `data`: a pid can be reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in {"Z", "X"} and os.fsencode(str(data)) in cmdline


def _postmaster_pid(folder: Path, *, missing_ok: bool = False) -> int:
    try:
        return int((folder / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError) as exc:
        if missing_ok:
            return 0
        raise ClusterError(
            f"no postmaster.pid in {folder / 'data'}: did the server start?"
        ) from exc


def _pg(owner: pwd.struct_passwd | None, folder: Path, argv: list[str], *, timeout: float) -> None:
    """Run a PostgreSQL program, as `owner` via runuser when given; ClusterError with its
    output when it fails or overruns."""
    program = Path(argv[0]).name
    if owner is not None:
        argv = ["runuser", "-u", owner.pw_name, "--", *argv]
    # PG* variables of the caller's shell (PGDATA, PGPORT, ...) must not steer our programs
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    try:
        done = subprocess.run(
            argv,
            cwd=folder,  # the postgres user may not be able to enter the caller's folder
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"{program} took over {timeout}s: {' '.join(argv)}") from exc
    except OSError as exc:
        raise ClusterError(f"could not run {program}: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise ClusterError(f"{program} failed (exit {done.returncode}): {' '.join(argv)}\n{output}")


# ---- databases ----------------------------------------------------------------------------


def fresh_database(url: str, name: str) -> str:
    """An empty database `name` on the server of `url` (dropped first if it exists, whoever
    is connected to it); returns the URL naming it."""
    drop_database(url, name)
    _admin(url, "CREATE DATABASE {}", name)
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    """Drop database `name` if it exists, ending the sessions still connected to it."""
    _admin(url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def redacted(url: str) -> str:
    """`url` with its password replaced by ***, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _admin(url: str, statement: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    if not NAME.match(name):
        raise ValueError(f"database name {name!r}: use lowercase letters, digits and _")
    server = with_database(url, "postgres")
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise ClusterError(f"{statement.format(name)} on {redacted(server)}: {exc}") from exc


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---- command line -------------------------------------------------------------------------

USAGE = """usage: python -m tests.pgcluster run -- CMD [ARG ...]
       python -m tests.pgcluster start
       python -m tests.pgcluster stop"""
EXIT_CLUSTER = 125  # the cluster failed (as env(1) answers for its own failures)
EXIT_NOT_FOUND = 127  # CMD not found


def run(cmd: Sequence[str]) -> int:
    """Start a cluster, run `cmd` with INTEGRATE_TEST_PG (and _DIR) set, stop the cluster
    whatever happens; CMD's exit code (128+N when a signal N ended it or us first)."""
    got: list[int] = []
    child: list[subprocess.Popen[bytes]] = []
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        got.append(signum)
        if stopping:
            return  # the cluster is being stopped: let that finish
        if not child:
            if len(got) == 1:  # a second one must not cut start()'s clean-up short
                raise KeyboardInterrupt  # unwinds start(), which removes what it made
            return
        # Ctrl-C in a terminal reaches CMD already (same process group): tell it once only
        if not (signum == signal.SIGINT and _terminal_sent_it()):
            child[0].send_signal(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            cluster = start()
        except ClusterError as exc:
            print(f"pgcluster: could not start PostgreSQL: {exc}", file=sys.stderr)
            return EXIT_CLUSTER
        except KeyboardInterrupt:
            return 128 + got[0]
        try:
            env = {**os.environ, ENV_URL: cluster.url, ENV_DIR: str(cluster.dir)}
            child.append(subprocess.Popen(list(cmd), env=env))
            return _wait(child[0], got)
        except KeyboardInterrupt:  # a signal before CMD started
            return 128 + got[0]
        except OSError as exc:
            print(f"pgcluster: could not run {cmd[0]}: {exc}", file=sys.stderr)
            return EXIT_NOT_FOUND
        finally:
            stopping = True
            stop(cluster)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait(child: subprocess.Popen[bytes], got: list[int]) -> int:
    """CMD's exit code; once a signal was passed on, it gets CHILD_GRACE seconds, then SIGKILL."""
    deadline: float | None = None
    while True:
        try:
            code = child.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if got and deadline is None:
                deadline = time.monotonic() + CHILD_GRACE
            if deadline is not None and time.monotonic() > deadline:
                child.kill()
    if code < 0:
        return 128 - code
    return code


def _terminal_sent_it() -> bool:
    """Whether we are in the foreground of a terminal, where Ctrl-C signals the whole group."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        return False


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["run"]:
        cmd = list(argv[1:])
        if cmd[:1] == ["--"]:
            cmd = cmd[1:]
        if not cmd:
            print(USAGE, file=sys.stderr)
            return 2
        return run(cmd)
    if list(argv) == ["start"]:
        try:
            cluster = start()
        except ClusterError as exc:
            print(f"pgcluster: could not start PostgreSQL: {exc}", file=sys.stderr)
            return EXIT_CLUSTER
        print(f"export {ENV_URL}='{cluster.url}'")
        print(f"export {ENV_DIR}='{cluster.dir}'")
        return 0
    if list(argv) == ["stop"]:
        return _stop_named()
    print(USAGE, file=sys.stderr)
    return 2


def _stop_named() -> int:
    named = os.environ.get(ENV_DIR)
    if not named:
        print(f"pgcluster: {ENV_DIR} is not set: nothing to stop", file=sys.stderr)
        return 1
    folder = Path(named)
    if not (folder / MARKER).is_file():
        print(
            f"pgcluster: {folder} is not a test cluster made by `start` (no {MARKER} file): "
            "left alone",
            file=sys.stderr,
        )
        return 1
    try:
        _stop_folder(pg_bin(), folder)
    except ClusterError as exc:
        print(f"pgcluster: {exc}", file=sys.stderr)
        return 1
    print(f"stopped and removed {folder}; unset {ENV_URL} {ENV_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
