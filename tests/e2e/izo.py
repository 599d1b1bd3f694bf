"""The Zoho CRM → Ideolve spec (specs/zoho_crm-ideolve.yaml) run as it runs against the real
systems, its settings from `${env:...}`, against both plugins' emulators in this process on
one fake clock. A test makes records in Zoho as its users would, runs the spec's flow, and
looks at the notes, comments and attachments Ideolve holds, and at the run report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate.build import load_spec
from integrate.engine import RunOptions, run_spec
from integrate.engine.plan import Change
from integrate.plugins import make_plugins
from integrate_ideolve.emulator import IdeolveEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import repo_root
from tests.plugins.zoho_crm.emulator_kit import zoho_variables

SPEC = repo_root() / "specs/zoho_crm-ideolve.yaml"
START = 1_790_000_000.0  # 2026-09-21T14:13:20+00:00
POLL = 600  # the spec polls every ten minutes


@dataclass
class Run:
    """One run: its report (as `--json` prints it), its plan lines, the calls it made."""

    report: dict[str, Any]
    changes: list[Change]
    crm_calls: Counter[str]
    ideolve_calls: Counter[str]

    @property
    def totals(self) -> dict[str, int]:
        return dict(self.report["flows"][0]["totals"])


@dataclass
class World:
    """A Zoho CRM org (India data centre, as the spec's) and an Ideolve org whose acting
    user is the spec's, the spec's variables pointing at them, a state file in `folder`."""

    folder: Path
    monkeypatch: pytest.MonkeyPatch
    spec: Path = SPEC
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        # a callback's POST waits for serve's answer up to 30 s of real time: a loaded test
        # machine must not turn a slow answer into a retry the test did not ask for
        self.crm = ZohoCrmEmulator(clock=self.clock, data_center="in", callback_timeout=30)
        self.ideolve = IdeolveEmulator(clock=self.clock, user="sales.bot@example.com")
        for name, value in zoho_variables(self.crm.connection_config()).items():
            self.monkeypatch.setenv(name, value)
        config = self.ideolve.connection_config()
        self.monkeypatch.setenv("IDEOLVE_CLIENT_ID", config["client_id"])
        self.monkeypatch.setenv("IDEOLVE_API_KEY", config["api_key"])
        self.plugins = make_plugins()

    def options(self, **settings: Any) -> RunOptions:
        return RunOptions(
            transports={"crm": self.crm.transport(), "ideolve": self.ideolve.transport()},
            clock=self.clock,
            state_path=self.folder / "state.db",
            failures_path=self.folder / "failed.jsonl",
            **settings,
        )

    def run(self, advance: float = POLL) -> Run:
        """The next poll (ten minutes on, as the spec's schedule has it)."""
        self.clock.advance(advance)
        crm_before, ideolve_before = Counter(self.crm.calls()), Counter(self.ideolve.calls())
        changes: list[Change] = []
        spec = load_spec(self.spec, self.plugins)
        report = run_spec(spec, self.plugins, self.options(observer=changes.append)).as_dict()
        assert report["status"] in ("succeeded", "completed_with_errors"), report["error"]
        done = Run(
            report,
            changes,
            Counter(self.crm.calls()) - crm_before,
            Counter(self.ideolve.calls()) - ideolve_before,
        )
        self.runs.append(done)
        return done

    def later(self, seconds: float = 60) -> None:
        self.clock.advance(seconds)

    # ---- Zoho, as its users see it ------------------------------------------------------

    def add(self, module: str, **values: Any) -> str:
        """A record a Zoho user makes; its id."""
        [made] = self.crm.seed(module, [values])
        return str(made["id"])

    def edit(self, module: str, id: str, **values: Any) -> None:
        self.crm.change(module, id, values)

    def attach(self, module: str, id: str, name: str, content: bytes) -> str:
        """A file a Zoho user attaches to a record; the attachment's id."""
        [made] = self.crm.seed(
            "Attachments",
            [
                {
                    "Parent_Id": {"id": id},
                    "$se_module": module,
                    "File_Name": name,
                    "content": content,
                }
            ],
        )
        return str(made["id"])

    # ---- Ideolve, as its users see it ---------------------------------------------------

    def notes(self) -> dict[str, dict[str, Any]]:
        """Ideolve's notes by subject."""
        return {n["subject"]: n for n in self.ideolve.records("notes")}

    def note(self, subject: str) -> dict[str, Any]:
        return self.notes()[subject]

    def workspaces(self) -> dict[str, dict[str, Any]]:
        return {w["name"]: w for w in self.ideolve.records("workspaces")}
