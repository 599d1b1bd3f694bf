"""The four integration specs and the example spec: valid against the core schema now,
before their plugins exist (plugin settings are checked once the plugin is installed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from integrate.build import load_spec
from integrate.model import EventFlow, SyncFlow
from tests.conftest import read_jsonl, repo_root

SPECS = sorted((repo_root() / "specs").glob("*.yaml"))


def test_there_is_one_spec_per_integration() -> None:
    assert [p.name for p in SPECS] == [
        "clientsuccess-zoho_crm.yaml",
        "salesmanago-zoho_crm.yaml",
        "zoho_crm-ideolve.yaml",
        "zoho_crm-servicedesk_msp.yaml",
    ]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_spec_passes_the_core_schema(path: Path) -> None:
    spec = load_spec(path, None, strict_env=False)

    assert spec.flows
    # The only warnings allowed are secrets not set in this environment.
    assert all("environment variable" in w and "is not set" in w for w in spec.warnings), (
        spec.warnings
    )


def test_the_specs_use_every_kind_of_flow() -> None:
    kinds = {
        path.name: {
            ("two-way" if f.two_way else "one-way") if isinstance(f, SyncFlow) else "events"
            for f in load_spec(path, None, strict_env=False).flows.values()
        }
        for path in SPECS
    }
    assert kinds["zoho_crm-servicedesk_msp.yaml"] == {"one-way"}
    assert kinds["salesmanago-zoho_crm.yaml"] == {"two-way"}
    assert kinds["clientsuccess-zoho_crm.yaml"] == {"two-way"}
    assert kinds["zoho_crm-ideolve.yaml"] == {"events"}
    ideolve = load_spec(repo_root() / "specs/zoho_crm-ideolve.yaml", None, strict_env=False)
    flow = ideolve.flows["notes"]
    assert isinstance(flow, EventFlow)
    assert [h.event for h in flow.handlers] == [
        "created",
        "updated",
        "related_added",
        "related_added",
        "related_added",
    ]


def test_the_example_spec_runs_on_the_embedded_default(cli: Any, workdir: Path) -> None:
    # What `make demo` runs: the files example on a copy of its data.
    shutil.copytree(repo_root() / "examples/data", workdir / "data")
    spec = workdir / "files-demo.yaml"
    spec.write_text((repo_root() / "examples/files-demo.yaml").read_text())

    result = cli("run", str(spec), "--json", env={"DEMO_DIR": str(workdir / "data")})

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    companies = next(f for f in report["flows"] if f["flow"] == "companies")
    assert companies["totals"]["updated"] == 2
    assert companies["totals"]["queued"] == 2
    people = next(f for f in report["flows"] if f["flow"] == "people")
    assert people["outcomes"]["desk"]["created"] == 2
    assert people["outcomes"]["crm"]["created"] == 1
    users = {u["email"]: u for u in read_jsonl(workdir / "data/desk/users.jsonl")}
    assert users["ada@acme.example"]["vip"] is True
    assert users["ada@acme.example"]["company_id"] == "7"
