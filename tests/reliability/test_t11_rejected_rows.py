"""T11: a write batch of 100 in which Zoho refuses 7 rows (HTTP 207, `INVALID_DATA` per
row): the 93 land and are linked, the 7 are failures with Zoho's code, the run is
`completed_with_errors`, the batch is never sent again whole, and the next run tries only
the 7 again.

The Zoho emulator is served on loopback on a fake clock (so a record written again would
show a later `Modified_Time`); `integrate run` is the CLI, in process.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl, write_jsonl
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_variables

ROWS = 100
REFUSED = (3, 17, 18, 42, 64, 88, 99)  # rows whose Employees is not a number

SPEC = """\
integrate: 1
name: t11-rejected-rows
connections:
  src: {plugin: files, config: {path: ./src, cursor_field: changed}}
%(crm)s
failures: failed.jsonl
flows:
  accounts:
    from: src.accounts
    to: crm.Accounts
    upsert_on: [Account_Number]
    fields: {Account_Name: name, Account_Number: id, Employees: staff}
""" % {"crm": zoho_connection(accounts_url="${env:ZOHO_ACCOUNTS_URL}")}  # noqa: UP031  (the braces are YAML's)


class Crm:
    def __init__(self) -> None:
        self.clock = FakeClock(1_790_000_000)
        self.emulator = ZohoCrmEmulator(
            seed=11, clock=self.clock, unique_fields={"Accounts": ["Account_Number"]}
        )
        self.emulator.serve()
        self.env = zoho_variables(self.emulator.connection_config())

    def accounts(self) -> dict[str, dict[str, Any]]:
        """Zoho's Accounts by Account_Number; a duplicate would fail here."""
        records = self.emulator.records("Accounts")
        by_number = {r["Account_Number"]: r for r in records}
        assert len(by_number) == len(records), "an Account_Number is held twice"
        return by_number

    def statuses(self) -> list[int]:
        """The HTTP status of every upsert call, in order."""
        return [c.status for c in self.emulator.log if c.kind == "upsert"]

    def writes(self) -> int:
        return sum(self.emulator.calls().get(k, 0) for k in ("insert", "upsert", "update"))


@pytest.fixture
def crm() -> Iterator[Crm]:
    world = Crm()
    yield world
    world.emulator.close()


def source(fixed: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "id": f"A{i:03d}",
            "name": f"Account {i:03d}",
            "staff": i if fixed or i not in REFUSED else "a few",
            "changed": f"{i:03d}" if not fixed or i not in REFUSED else f"{i + 1000:04d}",
        }
        for i in range(ROWS)
    ]


def run(cli: Any, crm: Crm) -> tuple[int, dict[str, Any]]:
    result = cli("run", "spec.yaml", "--state", "state.db", "--json", env=crm.env)
    return result.exit_code, json.loads(result.stdout)


def listing(cli: Any, *args: str) -> list[dict[str, Any]]:
    result = cli("failures", "list", "spec.yaml", "--state", "state.db", "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def links(workdir: Path) -> int:
    with sqlite3.connect(workdir / "state.db") as db:
        (count,) = db.execute("SELECT count(*) FROM links").fetchone()
    return int(count)


def test_T11_seven_rows_refused_in_a_batch_of_100(cli: Any, workdir: Path, crm: Crm) -> None:
    (workdir / "spec.yaml").write_text(SPEC)
    write_jsonl(workdir / "src/accounts.jsonl", source())
    refused = {f"A{i:03d}" for i in REFUSED}

    code, report = run(cli, crm)

    assert code == 3, report
    assert report["status"] == "completed_with_errors"
    [flow] = report["flows"]
    assert flow["totals"]["created"] == ROWS - len(REFUSED)
    assert flow["totals"]["failed"] == len(REFUSED)
    landed = crm.accounts()
    assert set(landed) == {f"A{i:03d}" for i in range(ROWS)} - refused
    assert crm.writes() == 1, "the batch of 100 went out once, never again whole"
    assert crm.statuses() == [207]
    assert links(workdir) == ROWS - len(REFUSED)
    open_failures = listing(cli)
    assert sorted(f["source_id"] for f in open_failures) == sorted(refused)
    assert {f["code"] for f in listing(cli, "--all")} == {"INVALID_DATA"}
    lines = read_jsonl(workdir / "failed.jsonl")
    assert sorted(line["source_id"] for line in lines) == sorted(refused)
    assert {line["code"] for line in lines} == {"INVALID_DATA"}
    assert all("Employees" in line["error"] for line in lines), lines[0]

    # The next run, nothing changed: only the 7 are tried again (and refused again).
    crm.clock.advance(120)
    stamps = {k: r["Modified_Time"] for k, r in landed.items()}
    code, report = run(cli, crm)

    assert code == 3, report
    [flow] = report["flows"]
    assert flow["totals"]["failed"] == len(REFUSED)
    assert flow["totals"]["created"] == flow["totals"]["updated"] == 0
    assert crm.writes() == 2
    assert crm.statuses() == [207, 400]  # Zoho: 400 when every row of a batch is refused
    assert {k: r["Modified_Time"] for k, r in crm.accounts().items()} == stamps
    assert len(read_jsonl(workdir / "failed.jsonl")) == 2 * len(REFUSED)

    # The source fixed: the 7 land, once each; nothing else is written.
    write_jsonl(workdir / "src/accounts.jsonl", source(fixed=True))
    code, report = run(cli, crm)

    assert code == 0, report
    assert report["status"] == "succeeded"
    [flow] = report["flows"]
    assert flow["totals"]["created"] == len(REFUSED)
    assert crm.writes() == 3
    assert crm.statuses()[2] in (200, 201)
    after = crm.accounts()
    assert len(after) == ROWS
    assert {k: after[k]["Modified_Time"] for k in stamps} == stamps
    assert links(workdir) == ROWS
    assert listing(cli) == []
