"""The ClientSuccess ⇄ Zoho CRM spec (specs/clientsuccess-zoho_crm.yaml) run as it runs against
the real systems, its settings from `${env:...}`, against both plugins' emulators in this
process on one fake clock. A test seeds and edits the two systems as their users would, runs
the spec's flows, and looks at the records, the run report and what each emulator was asked
(its call counts)."""

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
from integrate.engine.runner import RunFailed
from integrate.engine.watch import Look, look
from integrate.plugins import make_plugins
from integrate_clientsuccess.emulator import ClientSuccessEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import edited_copy, repo_root
from tests.plugins.zoho_crm.emulator_kit import zoho_variables

SPEC = repo_root() / "specs/clientsuccess-zoho_crm.yaml"
START = 1_790_000_000.0  # 2026-09-21T14:13:20+00:00
HOUR = 3600
# ClientSuccess client types, named as the Zoho Account_Type values they stand for (CS-2)
SEGMENTS = ("Customer", "Partner", "Reseller")
CS_WRITES = ("create", "update", "patch", "delete")  # the emulator's kinds of call
CRM_WRITES = ("insert", "update", "upsert", "delete")


@dataclass
class Run:
    """One run: its report (as `--json` prints it), its plan lines, the calls it made."""

    report: dict[str, Any]
    changes: list[Change]
    cs_calls: Counter[str]
    crm_calls: Counter[str]

    def flow(self, name: str) -> dict[str, Any]:
        [found] = [f for f in self.report["flows"] if f["flow"] == name]
        return dict(found)

    def totals(self, name: str) -> dict[str, int]:
        return dict(self.flow(name)["totals"])

    def writes(self) -> tuple[int, int]:
        """Write calls made to (ClientSuccess, Zoho CRM)."""
        cs = sum(n for kind, n in self.cs_calls.items() if kind in CS_WRITES)
        crm = sum(n for kind, n in self.crm_calls.items() if kind in CRM_WRITES)
        return cs, crm


@dataclass
class World:
    """A ClientSuccess account (no clients yet; admin user unless `admin` is False) and a
    Zoho CRM org (com data centre, as the spec's), the spec's variables pointing at them, a
    state file in `folder`."""

    folder: Path
    monkeypatch: pytest.MonkeyPatch
    spec: Path = SPEC
    admin: bool = True
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cs = ClientSuccessEmulator(
            clock=self.clock, clients=0, contacts_per_client=0, segments=SEGMENTS
        )
        self.crm = ZohoCrmEmulator(clock=self.clock)
        users = self.cs.users
        user = users[0] if self.admin else users[1]
        self.monkeypatch.setenv("CLIENTSUCCESS_USERNAME", user.username)
        self.monkeypatch.setenv("CLIENTSUCCESS_PASSWORD", user.password)
        for name, value in zoho_variables(self.crm.connection_config()).items():
            self.monkeypatch.setenv(name, value)
        self.plugins = make_plugins()

    # ---- running the spec ---------------------------------------------------------------

    def run(
        self, *flows: str, advance: float = HOUR, ok: bool = True, full_refresh: bool = False
    ) -> Run:
        """A run of these flows (all when none are named), `advance` seconds on (with
        `full_refresh`, every record read again, as `--full` does)."""
        self.clock.advance(advance)
        cs_before, crm_before = Counter(self.cs.calls()), Counter(self.crm.calls())
        changes: list[Change] = []
        spec = load_spec(self.spec, self.plugins)
        options = self.options(
            observer=changes.append, flows=tuple(flows) or None, full_refresh=full_refresh
        )
        try:
            report = run_spec(spec, self.plugins, options).as_dict()
        except RunFailed as failed:
            if ok:
                raise
            report = failed.report.as_dict()
        if ok:
            assert report["status"] == "succeeded", (report["error"], changes)
        done = Run(
            report,
            changes,
            Counter(self.cs.calls()) - cs_before,
            Counter(self.crm.calls()) - crm_before,
        )
        self.runs.append(done)
        return done

    def options(self, **settings: Any) -> RunOptions:
        return RunOptions(
            transports={"cs": self.cs.transport(), "crm": self.crm.transport()},
            clock=self.clock,
            state_path=self.state,
            failures_path=self.folder / "failed.jsonl",
            **settings,
        )

    def look(self, flow: str = "contacts", side: str = "cs") -> tuple[Look, Counter[str]]:
        """What `integrate serve`'s watch of `side` finds (CS-6), and the ClientSuccess calls
        it made."""
        before = Counter(self.cs.calls())
        found = look(load_spec(self.spec, self.plugins), self.plugins, flow, side, self.options())
        return found, Counter(self.cs.calls()) - before

    @property
    def state(self) -> Path:
        return self.folder / "state.db"

    def settled(self, *flows: str) -> Run:
        """A run after nothing changed: it must write nothing anywhere (no echo)."""
        quiet = self.run(*flows)
        assert quiet.writes() == (0, 0), quiet.changes
        return quiet

    def later(self, seconds: float = 60) -> None:
        """Time passes between users' edits (modification times differ)."""
        self.clock.advance(seconds)

    # ---- the two systems, as their users see them ---------------------------------------

    def accounts(self, *records: dict[str, Any]) -> list[str]:
        """Zoho Accounts a CRM user adds; their ids."""
        return [str(r["id"]) for r in self.crm.seed("Accounts", list(records))]

    def crm_contacts(self, *records: dict[str, Any]) -> list[str]:
        return [str(r["id"]) for r in self.crm.seed("Contacts", list(records))]

    def crm_record(self, module: str, id: str) -> dict[str, Any]:
        [found] = [r for r in self.crm.records(module) if str(r["id"]) == id]
        return found

    def clients(self) -> dict[str, dict[str, Any]]:
        """ClientSuccess clients by externalId (the Zoho Account id)."""
        return {str(c["externalId"]): c for c in self.cs.records("clients")}

    def cs_contacts(self) -> dict[str, dict[str, Any]]:
        """ClientSuccess contacts by externalId (the Zoho Contact id), or by email for one
        made in ClientSuccess."""
        return {str(c.get("externalId") or c.get("email")): c for c in self.cs.records("contacts")}

    def segment(self, title: str) -> int:
        [found] = [s["id"] for s in self.cs.records("client_segments") if s["title"] == title]
        return int(found)


def operator_copy(folder: Path, *changes: tuple[str, str]) -> Path:
    """The operator's copy of the spec with these (old, new) text edits (same name, so the
    same integration)."""
    return edited_copy(SPEC, folder, *changes)
