"""The Zoho CRM → Ideolve spec (specs/zoho_crm-ideolve.yaml), or a copy of it, run in this
process against both plugins' emulators on one fake clock, its settings from `${env:...}` as
an operator gives them. A test adds Zoho records as CRM users would, runs the spec, and reads
the notes Ideolve holds, the run's report and the failures the run kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate.build import load_spec
from integrate.engine import RunOptions, run_spec
from integrate.engine.runner import RunFailed
from integrate.plugins import make_plugins
from integrate_ideolve.emulator import IdeolveEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import repo_root
from tests.plugins.zoho_crm.emulator_kit import zoho_variables

SPEC = repo_root() / "specs/zoho_crm-ideolve.yaml"
# The attachments handler's own schedule (every 2 hours) is read on the wall clock, not the
# run's: a copy without it looks for attachments on every run.
EVERY_TWO_HOURS = '        schedule: "0 */2 * * *"\n'


def copy_of_spec(folder: Path, *changes: tuple[str, str]) -> Path:
    """The operator's copy of the spec with these (old, new) text edits (same name)."""
    text = SPEC.read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / SPEC.name
    path.write_text(text)
    return path


START = 1_796_551_200.0  # 2026-12-06T10:00:00+00:00


@dataclass
class Flow:
    """A Zoho CRM org (the spec's `in` data centre) and an Ideolve org without workspaces,
    the spec's variables pointing at them; the state and failed-records file in `folder`."""

    folder: Path
    monkeypatch: pytest.MonkeyPatch
    spec: Path = SPEC
    ideolve_options: dict[str, Any] = field(default_factory=dict)
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))

    def __post_init__(self) -> None:
        self.crm = ZohoCrmEmulator(clock=self.clock, data_center="in")
        self.ideolve = IdeolveEmulator(clock=self.clock, seed=24, **self.ideolve_options)
        for name, value in zoho_variables(self.crm.connection_config()).items():
            self.monkeypatch.setenv(name, value)
        config = self.ideolve.connection_config()
        self.monkeypatch.setenv("IDEOLVE_CLIENT_ID", config["client_id"])
        self.monkeypatch.setenv("IDEOLVE_API_KEY", config["api_key"])
        self.plugins = make_plugins()

    def run(self, advance: float = 600) -> dict[str, Any]:
        """One run of the spec, `advance` seconds on; its report (as `--json` prints it)."""
        self.clock.advance(advance)
        spec = load_spec(self.spec, self.plugins)
        options = RunOptions(
            transports={"crm": self.crm.transport(), "ideolve": self.ideolve.transport()},
            clock=self.clock,
            state_path=self.folder / "state.db",
            failures_path=self.folder / "failed.jsonl",
        )
        try:
            return dict(run_spec(spec, self.plugins, options).as_dict())
        except RunFailed as failed:
            return dict(failed.report.as_dict())

    def notes(self) -> list[dict[str, Any]]:
        return self.ideolve.records("notes")

    def account(self, **values: Any) -> str:
        [made] = self.crm.seed("Accounts", [values])
        return str(made["id"])
