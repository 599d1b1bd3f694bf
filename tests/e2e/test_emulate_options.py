"""`integrate emulate`'s `--set` options as an operator types them: sizes left out get the
emulator's hand-test defaults and the command says what it seeded; objects and lists are JSON;
a bad value is one line and exit 2, never a traceback. Each emulator runs in a subprocess,
read until it is ready and stopped by its pid."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest


def _start(workdir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "integrate", "emulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "INTEGRATE_HOME": str(workdir / ".integrate")},
    )


def _first_lines(process: subprocess.Popen[str], until: str = "Ctrl-C stops it.") -> list[str]:
    """stdout's lines up to `until` (bounded: 30 s), the emulator left running."""
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while not seen or seen[-1] != until:
        left = deadline - time.monotonic()
        assert left > 0, f"not ready in 30 s: {seen}"
        assert process.poll() is None, f"the emulator ended: {seen}"
        try:
            seen.append(lines.get(timeout=min(left, 0.5)).rstrip("\n"))
        except queue.Empty:
            continue
    return seen


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_zoho_accounts_come_with_contacts_and_the_command_says_what_it_seeded(
    workdir: Path,
) -> None:
    process = _start(workdir, "zoho_crm", "--set", "accounts=4", "--set", 'faults={"latency": 0}')
    try:
        lines = _first_lines(process)
    finally:
        _stop(process)

    [seeded] = [line for line in lines if line.startswith("seeded:")]
    assert "4 Accounts" in seeded
    assert "8 Contacts" in seeded  # two a account unless --set contacts_per_account says


def test_a_size_given_with_set_wins_over_the_default(workdir: Path) -> None:
    process = _start(workdir, "zoho_crm", "--set", "accounts=3", "--set", "contacts_per_account=0")
    try:
        lines = _first_lines(process)
    finally:
        _stop(process)

    [seeded] = [line for line in lines if line.startswith("seeded:")]
    assert "3 Accounts" in seeded
    assert "Contacts" not in seeded


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ('faults={"latency": 0.1', "--set faults: not valid JSON"),
        ('faults={"lateness": 0.1}', "zoho_crm emulator: "),
        ("faults=5", "zoho_crm emulator: "),
        ("accounts=many", "zoho_crm emulator: "),
    ],
)
def test_a_bad_value_is_one_clear_line_and_exit_2(workdir: Path, option: str, said: str) -> None:
    process = _start(workdir, "zoho_crm", "--set", option)
    try:
        _out, err = process.communicate(timeout=30)
    finally:
        _stop(process)

    assert process.returncode == 2, err
    assert said in err
    assert "check the --set options" in err or "not valid JSON" in err
    assert "Traceback" not in err
