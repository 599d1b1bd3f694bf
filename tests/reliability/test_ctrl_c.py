"""Ctrl-C typed at a terminal: `integrate run` under a pseudo-terminal whose line discipline
turns ^C into SIGINT for the whole foreground process group, as a user's shell does. The run
stops after its last committed batch, is recorded `interrupted`, exits 130 without click's
"Aborted!", and says the command that resumes it; that command finishes the run with nothing
written twice. The SDP emulator (20 ms a call) and the files source are test_signals.py's."""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.test_signals import ACCOUNTS, World

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def served(workdir: Path) -> Iterator[World]:
    made = World(workdir)
    yield made
    made.sdp.close()


def _start_in_a_terminal(world: World) -> tuple[int, int]:
    """`integrate run` in a new session whose controlling terminal is a pty; (pid, master)."""
    env = {**os.environ, **world.env, "INTEGRATE_HOME": str(world.root / ".integrate")}
    argv = [sys.executable, "-m", "integrate", "run", "spec.yaml", "--state", "state.db"]
    pid, master = pty.fork()
    if pid == 0:  # the child: exec at once, whatever happens
        try:
            os.chdir(world.root)
            os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    return pid, master


def _read_to_the_end(pid: int, master: int, deadline: float) -> tuple[str, int]:
    """Everything the terminal showed, and the exit code (bounded by `deadline`)."""
    out = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return ANSI.sub("", out.decode(errors="replace")).replace(
        "\r\n", "\n"
    ), os.waitstatus_to_exitcode(status)


def test_ctrl_c_stops_the_run_records_it_interrupted_and_says_how_to_resume(
    served: World, cli: Any
) -> None:
    world = served
    pid, master = _start_in_a_terminal(world)
    deadline = time.monotonic() + 30
    while world.created() < 5:  # mid-run (the progress line it draws is a few bytes)
        assert time.monotonic() < deadline, "the run created nothing in 30 s"
        time.sleep(0.005)

    os.write(master, b"\x03")  # what the Ctrl-C key sends
    shown, code = _read_to_the_end(pid, master, time.monotonic() + 30)

    assert code == 130, shown
    assert "Aborted!" not in shown
    assert "Traceback" not in shown
    assert "the run was interrupted by SIGINT: stopped after the last committed batch" in shown
    [resume] = re.findall(r"resume with: (integrate run .*)", shown)
    created = world.created()
    assert 0 < created < ACCOUNTS
    [run] = world.runs(cli)
    assert run["status"] == "interrupted"

    world.sdp.faults.latency = 0
    again = cli(*shlex.split(resume)[1:], env=world.env)

    assert again.exit_code == 0, again.output
    names = [a["name"] for a in world.sdp.records("accounts")]
    assert sorted(names) == [f"Customer {i:02d}" for i in range(ACCOUNTS)]  # each once
    second, first = world.runs(cli)
    assert (first["status"], second["status"]) == ("interrupted", "succeeded")
    [flow] = second["stats"]["flows"]
    assert flow["totals"]["created"] == ACCOUNTS - created  # carried on, nothing again
