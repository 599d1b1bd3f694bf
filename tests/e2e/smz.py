"""The SALESmanago ⇄ Zoho CRM spec (specs/salesmanago-zoho_crm.yaml) run as it runs against
the real systems, its settings from `${env:...}`, against both plugins' emulators in this
process on one fake clock. A test seeds and edits the two systems as their users would, runs
the spec (each run six hours after the one before, as its schedule has it), and looks at the
records, the run report and what each emulator was asked (its call counts)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import FakeClock
from integrate.build import load_spec
from integrate.engine import RunOptions, run_spec
from integrate.engine.plan import Change
from integrate.plugins import make_plugins
from integrate_salesmanago.emulator import SalesManagoEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import edited_copy, repo_root
from tests.plugins.zoho_crm.emulator_kit import zoho_variables

SPEC = repo_root() / "specs/salesmanago-zoho_crm.yaml"
START = 1_790_000_000.0  # 2026-09-21T14:13:20+00:00
RUN_EVERY = 6 * 3600  # SM-6: the spec runs every six hours
MAIN = "sales@vendor.example"  # the SALESmanago account's main user (its `owner` setting)
SM_WRITES = ("upsert", "batchupsert", "insert", "update", "delete", "optin", "optout")
CRM_WRITES = ("insert", "update", "upsert", "convert", "delete")
# The spec's list of the account's users, and an operator's copy naming this account's.
USERS_LINE = "      users: []"


@dataclass
class Run:
    """One run: its report (as `--json` prints it), its plan lines, the calls it made."""

    report: dict[str, Any]
    changes: list[Change]
    sm_calls: Counter[str]
    crm_calls: Counter[str]

    @property
    def totals(self) -> dict[str, int]:
        return dict(self.report["flows"][0]["totals"])

    @property
    def outcomes(self) -> dict[str, dict[str, int]]:
        return {k: dict(v) for k, v in self.report["flows"][0]["outcomes"].items()}

    @property
    def reasons(self) -> list[str]:
        return [r["reason"] for r in self.report["flows"][0]["reasons"]]

    def writes(self) -> tuple[int, int]:
        """Write calls made to (SALESmanago, Zoho CRM)."""
        sm = sum(n for kind, n in self.sm_calls.items() if kind in SM_WRITES)
        crm = sum(n for kind, n in self.crm_calls.items() if kind.split(":")[0] in CRM_WRITES)
        return sm, crm


@dataclass
class World:
    """A SALESmanago account (server app3, like the spec's) and a Zoho CRM org (EU data
    centre), the spec's variables pointing at them, a state file in `folder`."""

    folder: Path
    monkeypatch: pytest.MonkeyPatch
    spec: Path = SPEC
    sm_users: tuple[str, ...] = (MAIN,)
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sm = SalesManagoEmulator(clock=self.clock, server="app3", users=list(self.sm_users))
        self.crm = ZohoCrmEmulator(clock=self.clock, data_center="eu")
        env = self.monkeypatch.setenv
        env("SALESMANAGO_CLIENT_ID", self.sm.client_id)
        env("SALESMANAGO_API_SECRET", self.sm.api_secret)
        env("SALESMANAGO_OWNER", self.sm.users[0])
        for name, value in zoho_variables(self.crm.connection_config()).items():
            env(name, value)
        self.plugins = make_plugins()
        self.wire = Recording(self.sm.transport())

    # ---- running the spec ---------------------------------------------------------------

    def run(self) -> Run:
        """The next scheduled run (six hours on)."""
        self.clock.advance(RUN_EVERY)
        sm_before, crm_before = Counter(self.sm.calls()), Counter(self.crm.calls())
        changes: list[Change] = []
        spec = load_spec(self.spec, self.plugins)
        options = RunOptions(
            transports={"sm": self.wire, "crm": self.crm.transport()},
            clock=self.clock,
            state_path=self.folder / "state.db",
            failures_path=self.folder / "failed.jsonl",
            observer=changes.append,
        )
        report = run_spec(spec, self.plugins, options).as_dict()
        assert report["status"] in ("succeeded", "completed_with_errors"), report["error"]
        done = Run(
            report,
            changes,
            Counter(self.sm.calls()) - sm_before,
            Counter(self.crm.calls()) - crm_before,
        )
        self.runs.append(done)
        return done

    def settled(self) -> Run:
        """A run after nothing changed: it must write nothing anywhere (no echo)."""
        quiet = self.run()
        assert quiet.writes() == (0, 0), quiet.changes
        assert quiet.totals["created"] == quiet.totals["updated"] == 0, quiet.changes
        return quiet

    # ---- the two systems, as their users see them ---------------------------------------

    def later(self, seconds: float = 60) -> None:
        """Time passes between users' edits (modification times differ)."""
        self.clock.advance(seconds)

    def contacts(self) -> dict[str, dict[str, Any]]:
        """SALESmanago contacts by email (lower case), as the connector reads them."""
        return {c["email"].lower(): _sm_read(c) for c in self.sm.records("contacts")}

    def contact(self, email: str) -> dict[str, Any]:
        return self.contacts()[email.lower()]

    def crm_records(self) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """Zoho records by email (lower case): (module, record), converted Leads left out."""
        out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for module in ("Leads", "Contacts"):
            for record in self.crm.records(module):
                if record.get("Converted__s"):
                    continue
                out.setdefault(str(record.get("Email")).lower(), []).append((module, record))
        return out

    def crm_record(self, email: str) -> tuple[str, dict[str, Any]]:
        """The one Zoho record of this email: (module, record)."""
        [found] = self.crm_records()[email.lower()]
        return found

    def sm_id(self, email: str) -> str:
        return str(self.contact(email)["id"])

    def convert_lead(self, lead_id: str) -> str:
        """What a Zoho user does in the CRM: convert a Lead (Zoho makes a Contact and an
        Account). Returns the Contact's id."""
        answer = self.zoho("POST", f"Leads/{lead_id}/actions/convert", json={"data": [{}]})
        return str(answer["data"][0]["details"]["Contacts"]["id"])

    def zoho_users(self) -> dict[str, str]:
        """The Zoho org's users: email → id."""
        users = self.zoho("GET", "users", params={"type": "AllUsers"})["users"]
        return {u["email"]: u["id"] for u in users}

    def zoho(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call to the emulated Zoho API as a Zoho user's browser makes it."""
        config = self.crm.connection_config()
        with httpx.Client(transport=self.crm.transport()) as http:
            token = http.post(
                "https://accounts.zoho.eu/oauth/v2/token",
                params={
                    "grant_type": "refresh_token",
                    "client_id": config["client_id"],
                    "client_secret": config["client_secret"],
                    "refresh_token": config["refresh_token"],
                },
            ).json()["access_token"]
            answer = http.request(
                method,
                f"https://www.zohoapis.eu/crm/v8/{path}",
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
                **kwargs,
            )
        assert answer.status_code in (200, 201), answer.text
        return answer.json()


class Recording(httpx.BaseTransport):
    """The SALESmanago transport, keeping each request's method and JSON body: what the
    connector sent over the wire."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.removeprefix("/api/")
        self.sent.append((method, json.loads(request.read() or b"{}")))
        return self.inner.handle_request(request)

    def items(self, method: str = "contact/batchupsert") -> dict[str, dict[str, Any]]:
        """The upsert items sent with `method`, by email (the last one of each email)."""
        return {
            str(item["contact"]["email"]).lower(): item
            for name, body in self.sent
            if name == method
            for item in body.get("upsertDetails", [])
        }


def _sm_read(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact with `birthday` as YYYYMMDD (what the connector reads), from the three
    integers SALESmanago keeps."""
    parts = (contact.get("birthdayYear"), contact.get("birthdayMonth"), contact.get("birthdayDay"))
    birthday = None
    if all(p is not None for p in parts):
        birthday = f"{parts[0]:04d}{parts[1]:02d}{parts[2]:02d}"
    return {**contact, "birthday": birthday}


def operator_copy(folder: Path, *changes: tuple[str, str]) -> Path:
    """The operator's copy of the spec with these (old, new) text edits (same name, so the
    same integration)."""
    return edited_copy(SPEC, folder, *changes)
