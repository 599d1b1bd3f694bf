"""`integrate emulate` in its own process, as an operator starts it: what it prints (the URL,
the `export` lines, the spec's connection) read back for a test. Stopped by its pid."""

from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Emulating:
    url: str
    exports: dict[str, str]  # NAME → value, as the shell would set them
    snippet: str  # the spec's `connections:` block that reads them
    lines: list[str]  # everything printed before "Ctrl-C stops it."


@contextmanager
def emulate(plugin: str, *options: str, home: Path) -> Iterator[Emulating]:
    """Serve `plugin`'s emulator with `integrate emulate` (options as `--set` gives them)
    until the block ends; reading what it prints takes at most 30 s."""
    args = [sys.executable, "-m", "integrate", "emulate", plugin]
    for option in options:
        args += ["--set", option]
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "INTEGRATE_HOME": str(home)},
    )
    try:
        yield _read(process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read(process: subprocess.Popen[bytes]) -> Emulating:
    assert process.stdout is not None
    out = b""
    deadline = time.monotonic() + 30
    while b"Ctrl-C stops it." not in out:
        assert time.monotonic() < deadline, f"integrate emulate printed only {out!r} in 30 s"
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, f"integrate emulate ended: {out!r}"
            out += chunk
    lines = out.decode().split("Ctrl-C stops it.")[0].splitlines()
    url = lines[0].split(" on ", 1)[1].strip()
    exports: dict[str, str] = {}
    for line in lines:
        if line.startswith("export "):
            [_, assignment] = shlex.split(line)
            name, _, value = assignment.partition("=")
            exports[name] = value
    snippet = "\n".join(lines[lines.index("connections:") :]) + "\n"
    return Emulating(url, exports, snippet, lines)
