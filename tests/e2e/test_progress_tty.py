"""The progress line on a real terminal: `integrate run` under a pseudo-terminal redraws one
line in place (carriage return, erase line) and leaves the final count alone on its line,
instead of appending every update to the last (issue 14).

The run reads 400 accounts from the ServiceDesk Plus emulator served on loopback, 100 a page,
with 0.15 s of latency a call: each page comes more than the progress line's 0.1 s apart, so
the line is drawn several times (about 1 s of real time)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from integrate import Faults
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator

SPEC = """\
integrate: 1
name: progress
connections:
  sdp:
    plugin: servicedesk_msp
    config: {url: "${env:SDP_URL}", technician_key: "${env:SDP_TECHNICIAN_KEY}"}
  out: {plugin: files, config: {path: ./out}}
flows:
  accounts:
    from: sdp.accounts
    to: out.accounts
    match: [[name, name]]
    fields: {name: name}
"""
REDRAW = b"\r\x1b[2K"
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def screen(raw: bytes) -> list[str]:
    """The lines a terminal shows for this output: `\\r` goes back to the line's start,
    ESC[2K erases the line, other escape codes (colours) draw nothing."""
    lines: list[list[str]] = [[]]
    col = 0
    text = raw.decode("utf-8", errors="replace")
    pos = 0
    while pos < len(text):
        if text.startswith("\x1b[2K", pos):
            lines[-1] = []
            pos += 4
            continue
        control = CONTROL.match(text, pos)
        if control:
            pos = control.end()
            continue
        char = text[pos]
        pos += 1
        if char == "\r":
            col = 0
        elif char == "\n":
            lines.append([])
            col = 0
        else:
            line = lines[-1]
            line.extend(" " * (col - len(line)))
            if col < len(line):
                line[col] = char
            else:
                line.append(char)
            col += 1
    return ["".join(line).rstrip() for line in lines]


def run_in_terminal(root: Path, env: dict[str, str]) -> tuple[int, bytes]:
    """`integrate run` with stdout and stderr on a pseudo-terminal; its exit code and every
    byte it wrote there (bounded: 30 s)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "integrate", "run", "spec.yaml", "--state", "state.db"],
        cwd=root,
        env={**os.environ, **env, "TERM": "xterm", "COLUMNS": "100", "LINES": "40"},
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    raw = bytearray()
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process ended
                    break
                if not chunk:
                    break
                raw += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return code, bytes(raw)


def test_the_progress_line_is_redrawn_in_place_on_a_terminal(workdir: Path) -> None:
    sdp = ServiceDeskMspEmulator(seed=5, accounts=400, faults=Faults(latency=0.15))
    try:
        env = {"SDP_URL": sdp.serve(), "SDP_TECHNICIAN_KEY": sdp.technician_key}
        (workdir / "spec.yaml").write_text(SPEC)
        code, raw = run_in_terminal(workdir, env)
    finally:
        sdp.close()
    shown = screen(raw)
    assert code == 0, "\n".join(shown)
    # Several live updates, each drawn over the last: back to the start, erase, the count.
    updates = re.findall(rb"\r\x1b\[2Kaccounts: read ([\d,]+) from sdp\.accounts\xe2\x80\xa6", raw)
    assert len(updates) >= 2, raw
    assert updates == sorted(updates, key=lambda n: int(n.replace(b",", b""))), updates
    # The final count stands alone on its line, and no line holds two updates.
    assert "accounts: read 400 from sdp.accounts" in shown, shown
    assert not [line for line in shown if line.count("accounts: read") > 1], shown
    assert raw.count(REDRAW) >= len(updates) + 1  # the final line is a redraw too
