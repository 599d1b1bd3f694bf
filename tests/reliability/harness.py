"""What several reliability tests share: an emulator served by its own process (so it
outlives the `integrate run` processes killed under it), `integrate run` as a subprocess
killed at seeded points, and counting the target's records by external id.

The served emulator takes commands on its stdin, one JSON line each, and answers one JSON
line on its stdout: `{"call": "records", "args": ["Accounts"], "fields": ["id"]}`. The
commands are the `Emulator` methods a test uses (`seed`, `records`, `change`, `delete`,
`calls`, `expire_tokens`, `save`) and `faults` (set the emulation kit's `Faults`). Run this
file as a script to serve (that is what `ServedEmulator` does):

    python tests/reliability/harness.py zoho_crm '{"seed": 1}'

`run_in_process` runs a spec in the test's own process instead, against emulators' in-process
transports on their fake clock.

Sizes: tests run scaled down; `INTEGRATE_RELIABILITY_FULL=1` makes `scale()` pick the full
size of shared/RELIABILITY.md §5, and `INTEGRATE_RELIABILITY_SEED=<n>` replays a seed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from integrate import Clock
    from integrate.engine import RunReport

FULL_ENV = "INTEGRATE_RELIABILITY_FULL"
SEED_ENV = "INTEGRATE_RELIABILITY_SEED"
COMMANDS = ("seed", "records", "change", "delete", "calls", "expire_tokens", "save")
HERE = Path(__file__).resolve()


def full_size() -> bool:
    """Whether the suite runs at the sizes of RELIABILITY §5 (by hand) or scaled (CI)."""
    return os.environ.get(FULL_ENV, "") not in ("", "0")


def scale(ci: int, full: int) -> int:
    """A size: `ci` in the suite, `full` with INTEGRATE_RELIABILITY_FULL=1."""
    return full if full_size() else ci


def seed(default: int) -> int:
    """The seed of a test's random choices: `INTEGRATE_RELIABILITY_SEED`, else the test's."""
    return int(os.environ.get(SEED_ENV) or default)


# ---- an emulator in its own process ------------------------------------------------------


class ServedEmulator:
    """A plugin's emulator served on a loopback port by a child process, driven through its
    stdin/stdout. `url` and `config` (the connection settings that point a spec at it) are
    known once it has started."""

    def __init__(self, plugin: str, options: Mapping[str, Any]) -> None:
        self.plugin = plugin
        self.process = subprocess.Popen(
            [sys.executable, str(HERE), plugin, json.dumps(dict(options))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE.parent,
        )
        try:
            hello = self._answer()
        except (RuntimeError, ValueError):
            self.close()
            raise
        self.url: str = hello["url"]
        self.config: dict[str, Any] = hello["config"]

    def call(self, name: str, *args: Any, **extra: Any) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"call": name, "args": list(args), **extra}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.plugin} emulator process ended")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.plugin} emulator: {answer['error']}")
        return answer["ok"]

    def calls(self) -> dict[str, int]:
        calls: dict[str, int] = self.call("calls")
        return calls

    def records(self, object: str, fields: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The object's records as the system holds them (only `fields`, when given)."""
        extra = {"fields": list(fields)} if fields is not None else {}
        records: list[dict[str, Any]] = self.call("records", object, **extra)
        return records

    def close(self) -> None:
        """End the process: EOF on its stdin, then SIGKILL by pid if it does not go."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> ServedEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(plugin: str, options: dict[str, Any]) -> None:
    """The child's side: build the emulator, serve it, answer commands until stdin ends."""
    from integrate import Faults, HttpEmulator
    from integrate.plugins import make_plugins

    emulator = make_plugins().emulators[plugin](**options)
    assert isinstance(emulator, HttpEmulator)
    url = emulator.serve()
    out = sys.stdout
    _reply(out, {"ok": {"url": url, "config": emulator.connection_config()}})
    for line in sys.stdin:
        command = json.loads(line)
        name, args = command["call"], command.get("args", [])
        try:
            with emulator.lock:
                if name == "faults":
                    emulator.faults = Faults.of(args[0])
                    result: Any = None
                elif name in COMMANDS:
                    if name == "save":
                        args = [Path(args[0])]
                    result = getattr(emulator, name)(*args)
                    if name == "calls":
                        result = dict(result)
                    elif name == "records" and "fields" in command:
                        keep = command["fields"]
                        result = [{k: r.get(k) for k in keep} for r in result]
                else:
                    raise ValueError(f"no command {name!r} (commands: faults, {COMMANDS})")
        except (ValueError, KeyError, TypeError) as exc:
            _reply(out, {"error": f"{name}: {exc}"})
            continue
        _reply(out, {"ok": result})
    emulator.close()


def _reply(out: IO[str], answer: dict[str, Any]) -> None:
    out.write(json.dumps(answer, default=str) + "\n")
    out.flush()


# ---- `integrate run` as a process -----------------------------------------------------------


@dataclass
class Workspace:
    """A folder holding a spec, its state and the output of every run started in it."""

    root: Path
    spec: Path
    env: dict[str, str] = field(default_factory=dict)
    runs: int = 0

    def start(self, *args: str, verbose: int = 0) -> Run:
        """`integrate [-v…] run SPEC --state state.db ARGS` in its own process; stdout and
        stderr go to files (a pipe nobody reads would stall a chatty run)."""
        self.runs += 1
        out = self.root / f"run{self.runs}.out"
        err = self.root / f"run{self.runs}.err"
        flags = [f"-{'v' * verbose}"] if verbose else []
        argv = [sys.executable, "-m", "integrate", *flags, "run", str(self.spec)]
        argv += ["--state", "state.db", *args]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                argv,
                cwd=self.root,
                env=self.environment(),
                stdout=stdout,
                stderr=stderr,
            )
        return Run(process, out, err)

    def run(self, *args: str, verbose: int = 0, timeout: float = 600) -> Run:
        """A run to its end."""
        run = self.start(*args, verbose=verbose)
        run.process.wait(timeout=timeout)
        return run

    def command(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Another `integrate` command (`pending list SPEC --state state.db --json` ...)."""
        return subprocess.run(
            [sys.executable, "-m", "integrate", *args],
            cwd=self.root,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env, "INTEGRATE_HOME": str(self.root / ".integrate")}

    def held(self, listing: str) -> list[dict[str, Any]]:
        """`integrate pending list` / `failures list` (listing: pending | failures)."""
        done = self.command(listing, "list", str(self.spec), "--state", "state.db", "--json")
        assert done.returncode == 0, done.stderr
        rows: list[dict[str, Any]] = json.loads(done.stdout)
        return rows


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    @property
    def code(self) -> int | None:
        return self.process.poll()

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


def kill_points(seed: int, kills: int, total: int) -> list[int]:
    """`kills` distinct points, sorted, spread over (0, total): a point is a count of target
    writes after which a run is killed. The same seed gives the same points."""
    top = max(kills + 1, total)
    return sorted(random.Random(seed).sample(range(1, top), kills))


def kill_at(
    workspace: Workspace,
    points: Iterable[int],
    progress: Callable[[], int],
    *,
    seed: int,
    deadline: float = 120,
) -> list[int]:
    """For each point: start a run, wait until `progress()` (the target's write count)
    reaches it, wait a seeded moment more (0 to 20 ms: the kill lands before, during or after
    the state commit of the batch just acknowledged), SIGKILL the run by its pid. Returns
    the points at which a run was still alive and was killed."""
    rnd = random.Random(seed)
    killed: list[int] = []
    for point in points:
        extra = rnd.uniform(0, 0.02)
        run = workspace.start()
        give_up = time.monotonic() + deadline
        while run.code is None and progress() < point and time.monotonic() < give_up:
            time.sleep(0.01)
        time.sleep(extra)
        if run.code is None:
            os.kill(run.process.pid, signal.SIGKILL)
            killed.append(point)
        run.process.wait(timeout=30)
    return killed


# ---- a run in this process -------------------------------------------------------------------


def run_in_process(
    spec: str | Path,
    transports: Mapping[str, httpx.BaseTransport] | None = None,
    clock: Clock | None = None,
) -> RunReport:
    """A run of the spec in this process, as `integrate run` makes it (the plugins, the spec
    loaded and checked, then run): each connection named in `transports` calls through it
    (an emulator's `transport()`), on `clock` (the emulator's: nothing waits for real)."""
    # Imported here: the served emulator's process, which runs this file, needs none of it.
    from integrate import SystemClock
    from integrate.build import load_spec
    from integrate.engine import RunOptions, run_spec
    from integrate.plugins import make_plugins

    options = RunOptions(transports=transports or {}, clock=clock or SystemClock())
    plugins = make_plugins()
    return run_spec(load_spec(spec, plugins), plugins, options)


def reasons(report: RunReport, part: str) -> int:
    """The records of the report's first flow whose reason (in its summary) holds `part`."""
    return sum(n for (_o, reason), n in report.flows[0].reasons.items() if part in reason)


# ---- the target, read back -------------------------------------------------------------------


def duplicates(records: Iterable[Mapping[str, Any]], key: str) -> dict[Any, int]:
    """External ids held by more than one record, with their counts."""
    counts = Counter(r.get(key) for r in records)
    return {k: n for k, n in counts.items() if n > 1}


if __name__ == "__main__":
    _serve(sys.argv[1], json.loads(sys.argv[2]))
