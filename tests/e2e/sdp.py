"""The Zoho CRM → ServiceDesk Plus MSP spec, run as an operator runs it (`integrate run
SPEC --sandbox`) against both plugins' emulators; between commands a test looks at or
changes the emulated systems, as their users would."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from integrate.build import load_spec
from integrate.emulator import Emulator
from integrate.plugins import make_plugins
from integrate.sandbox import opened
from tests.conftest import CliResult, repo_root

SPEC = repo_root() / "specs/zoho_crm-servicedesk_msp.yaml"
ZOHO_WRITES = ("insert", "update", "upsert", "delete", "convert")
SDP_WRITES = ("create", "update", "delete")


class Sdp:
    """One sandbox of the spec; `spec` may be an operator's edited copy (same name, so the
    same sandbox)."""

    def __init__(self, cli: Any, spec: Path = SPEC):
        self.cli = cli
        self.spec = spec
        self.plugins = make_plugins()

    # ---- the operator's commands ------------------------------------------------------

    def run(self, *args: str) -> tuple[CliResult, dict[str, Any]]:
        result: CliResult = self.cli("run", str(self.spec), "--sandbox", "--json", *args)
        assert result.exit_code in (0, 3), result.output
        return result, json.loads(result.stdout)

    def command(self, *args: str) -> CliResult:
        result: CliResult = self.cli(*args[:2], str(self.spec), *args[2:], "--sandbox")
        return result

    def pending(self) -> list[dict[str, Any]]:
        result = self.cli("pending", "list", str(self.spec), "--sandbox", "--json")
        assert result.exit_code == 0, result.output
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    def queued(self, name: str) -> dict[str, Any]:
        """The pending row of the CRM account with this name."""
        [row] = [r for r in self.pending() if f"'{name}'" in r["reason"]]
        return row

    def resolve(self, flow: str, record_id: str, *how: str) -> CliResult:
        result: CliResult = self.cli(
            "pending", "resolve", str(self.spec), flow, record_id, *how, "--sandbox"
        )
        return result

    # ---- the emulated systems ---------------------------------------------------------

    @contextlib.contextmanager
    def systems(self, *, fresh: bool = False, demo: bool = True) -> Iterator[dict[str, Emulator]]:
        """The sandbox's emulators (crm, sdp); what changes in the block is kept."""
        spec = load_spec(self.spec, self.plugins, strict_env=False)
        with opened(spec, self.plugins, fresh=fresh, demo=demo) as emulators:
            yield emulators

    def records(self, alias: str, object: str) -> list[dict[str, Any]]:
        with self.systems() as emulators:
            return emulators[alias].records(object)

    def calls(self, alias: str) -> dict[str, int]:
        with self.systems() as emulators:
            return dict(emulators[alias].calls())

    def requesters(self) -> dict[str, dict[str, Any]]:
        """SDP requesters by '<email> @ <account>'."""
        return {
            f"{r['email_id']} @ {r['account']['name']}": r
            for r in self.records("sdp", "requesters")
        }

    def accounts(self) -> dict[str, dict[str, Any]]:
        return {a["name"]: a for a in self.records("sdp", "accounts")}

    def crm_id(self, module: str, name: str) -> str:
        key = "Account_Name" if module == "Accounts" else "Email"
        [record] = [r for r in self.records("crm", module) if r.get(key) == name]
        return str(record["id"])


def fresh_sandbox(cli: Any) -> Sdp:
    """The spec's sandbox made anew, seeded with the spec's demo data."""
    sdp = Sdp(cli)
    with sdp.systems(fresh=True):
        pass
    return sdp


def totals(report: dict[str, Any], flow: str) -> dict[str, int]:
    [stats] = [f for f in report["flows"] if f["flow"] == flow]
    return dict(stats["totals"])


def writes(calls: dict[str, int], kinds: tuple[str, ...]) -> int:
    return sum(n for kind, n in calls.items() if kind.split(":")[0] in kinds)


def edited_copy(workdir: Path, *changes: tuple[str, str]) -> Path:
    """The operator's copy of the spec, with these (old, new) text edits, next to its demo
    data."""
    shutil.copytree(SPEC.parent / "demo", workdir / "demo", dirs_exist_ok=True)
    text = SPEC.read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = workdir / SPEC.name
    path.write_text(text)
    return path
