"""The salesmanago plugin inside runs of a small spec (people from files into SALESmanago
contacts) and of the SALESmanago ⇄ Zoho CRM spec's validation: what an operator sees in the
run report, the failed-records file, the exit code and the error text."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate.build import load_spec
from integrate.engine import RunOptions, run_spec
from integrate.errors import SpecError
from integrate.plugins import make_plugins
from integrate_salesmanago.emulator import SalesManagoEmulator
from tests.conftest import read_jsonl, repo_root, write_jsonl

SPEC = """\
integrate: 1
name: people-to-salesmanago
connections:
  src:
    plugin: files
    config: {{path: data}}
  sm:
    plugin: salesmanago
    config:
      server: app3
{extra}      client_id: ${{env:SM_CLIENT_ID}}
      api_secret: ${{env:SM_API_SECRET}}
      owner: ${{env:SM_OWNER}}
      users: [anna.nowak@vendor.example]
flows:
  people:
    from: src.people
    to: sm.contacts
    batch_size: {batch}
    match:
      - [email, email]
    unmatched: create
    fields:
      email: email
      name: name
      birthday: birthday
      owner: "lookup('sm.users', {{email: owner}}).email || '${{env:SM_OWNER}}'"
"""


def write_spec(folder: Path, *, batch: int = 200, extra: str = "") -> Path:
    path = folder / "spec.yaml"
    path.write_text(SPEC.format(batch=batch, extra=extra))
    return path


def people(folder: Path, count: int, **extra: Any) -> None:
    rows = [
        {"id": str(i), "email": f"person{i}@example.com", "name": f"Person {i}", **extra}
        for i in range(count)
    ]
    write_jsonl(folder / "data/people.jsonl", rows)


def run(folder: Path, emulator: SalesManagoEmulator, clock: FakeClock) -> Any:
    plugins = make_plugins()
    spec = load_spec(folder / "spec.yaml", plugins, strict_env=False)
    options = RunOptions(
        configs={"sm": emulator.connection_config()},
        transports={"sm": emulator.transport()},
        clock=clock,
        state_path=folder / "state.db",
        failures_path=folder / "failed.jsonl",
    )
    return run_spec(spec, plugins, options)


def test_SM_7_the_plugins_limit_of_200_contacts_a_call_is_honoured(tmp_path: Path) -> None:
    clock = FakeClock(1_790_000_000.0)
    emulator = SalesManagoEmulator(clock=clock, server="app3", seed=1)
    write_spec(tmp_path, batch=200)
    people(tmp_path, 450)

    report = run(tmp_path, emulator, clock)

    assert report.status == "succeeded", report.error
    assert report.flows[0].total("created") == 450
    assert len(emulator.records("contacts")) == 450
    assert emulator.calls()["batchupsert"] == math.ceil(450 / 200)


def test_SM_7_a_spec_cannot_raise_the_plugins_batch_limit(tmp_path: Path) -> None:
    clock = FakeClock(1_790_000_000.0)
    emulator = SalesManagoEmulator(clock=clock, server="app3")
    spec = write_spec(tmp_path, batch=500)
    people(tmp_path, 3)
    line = next(n for n, t in enumerate(spec.read_text().splitlines(), 1) if "batch_size" in t)

    with pytest.raises(SpecError) as refused:
        run(tmp_path, emulator, clock)

    assert (
        f"spec.yaml:{line}:17: batch_size 500 is above the limit of 200 that salesmanago "
        "allows for contacts"
    ) in str(refused.value)
    assert emulator.calls() == {}


def test_a_spec_batch_size_below_the_limit_lowers_it(tmp_path: Path) -> None:
    clock = FakeClock(1_790_000_000.0)
    emulator = SalesManagoEmulator(clock=clock, server="app3")
    write_spec(tmp_path, batch=40)
    people(tmp_path, 100)

    report = run(tmp_path, emulator, clock)

    assert report.status == "succeeded", report.error
    assert emulator.calls()["batchupsert"] == math.ceil(100 / 40)


def test_owners_are_looked_up_among_the_accounts_users(tmp_path: Path) -> None:  # SM-4
    clock = FakeClock(1_790_000_000.0)
    emulator = SalesManagoEmulator(
        clock=clock,
        server="app3",
        users=["sales@vendor.example", "anna.nowak@vendor.example"],
    )
    write_spec(tmp_path)
    write_jsonl(
        tmp_path / "data/people.jsonl",
        [
            {"id": "1", "email": "a@example.com", "owner": "ANNA.NOWAK@vendor.example"},
            {"id": "2", "email": "b@example.com", "owner": "gone@vendor.example"},
        ],
    )

    report = run(tmp_path, emulator, clock)

    assert report.status == "succeeded", report.error
    owners = {c["email"]: c["owner"] for c in emulator.records("contacts")}
    # the first by the users object; the second falls back to the connection's owner
    assert owners == {
        "a@example.com": "anna.nowak@vendor.example",
        "b@example.com": "sales@vendor.example",
    }


def test_a_refused_contact_is_a_failed_record_with_salesmanagos_message(tmp_path: Path) -> None:
    clock = FakeClock(1_790_000_000.0)
    emulator = SalesManagoEmulator(clock=clock, server="app3")
    write_spec(tmp_path)
    write_jsonl(
        tmp_path / "data/people.jsonl",
        [
            {"id": "1", "email": "ann@example.com", "name": "Ann", "birthday": "19850412"},
            {"id": "2", "email": "bob@example.com", "name": "Bob", "birthday": "19851345"},
        ],
    )

    report = run(tmp_path, emulator, clock)

    assert report.status == "completed_with_errors"
    assert (report.flows[0].total("created"), report.flows[0].total("failed")) == (1, 1)
    [failed] = read_jsonl(tmp_path / "failed.jsonl")
    assert failed["error"] == (
        "create in sm.contacts failed: SALESmanago refused the contact bob@example.com: "
        "Invalid birthday: 19851345 (expected YYYYMMDD)"
    )
    assert [c["email"] for c in emulator.records("contacts")] == ["ann@example.com"]
    assert emulator.records("contacts")[0]["birthdayYear"] == 1985


def test_refused_credentials_end_the_run_with_exit_1_and_what_to_check(
    tmp_path: Path, cli: Any
) -> None:
    emulator = SalesManagoEmulator(server="app3")
    url = emulator.serve()
    try:
        write_spec(tmp_path, extra="      base_url: ${env:SM_URL}\n")
        people(tmp_path, 3)
        env = {
            "SM_URL": url,
            "SM_CLIENT_ID": emulator.client_id,
            "SM_API_SECRET": "this-is-not-the-secret",
            "SM_OWNER": emulator.users[0],
            "INTEGRATE_HOME": str(tmp_path / ".integrate"),
        }

        result = cli("run", str(tmp_path / "spec.yaml"), "--json", env=env)

        assert result.exit_code == 1, result.output
        report = json.loads(result.stdout)
        assert report["status"] == "failed"
        assert "SALESmanago did not accept the credentials" in report["error"]
        assert "Check client_id and api_secret" in report["error"]
        assert "this-is-not-the-secret" not in result.output
        assert emulator.records("contacts") == []
    finally:
        emulator.close()


# ---- the SALESmanago ⇄ Zoho CRM spec ------------------------------------------------------


def test_the_salesmanago_spec_validates_with_the_plugin_installed(cli: Any) -> None:
    result = cli("validate", str(repo_root() / "specs/salesmanago-zoho_crm.yaml"))

    assert result.exit_code == 0, result.output
    assert "salesmanago-zoho_crm.yaml: ok (2 connections, flows: contacts)" in result.stdout


def test_a_misspelt_contact_field_is_reported_at_its_line(cli: Any, workdir: Path) -> None:
    text = (repo_root() / "specs/salesmanago-zoho_crm.yaml").read_text()
    (workdir / "spec.yaml").write_text(text.replace("{sm: fax, crm: Fax}", "{sm: facs, crm: Fax}"))

    result = cli("validate", str(workdir / "spec.yaml"))

    assert result.exit_code == 2
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "{sm: fax, crm: Fax}" in t)
    assert f"spec.yaml:{line}:" in result.output
    assert "salesmanago sm.contacts has no field 'facs'" in result.output
