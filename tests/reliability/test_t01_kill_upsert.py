"""T1: `integrate run` killed (SIGKILL) at seeded points of a one-way sync into an
idempotent write, then run to completion: every record exactly once, nothing held.

The target is Zoho CRM's upsert (`upsert_on: [Account_Number]`, a unique field in the
emulated org): the write RELIABILITY §1.7.1 names as the idempotent one, so a batch that
reached Zoho but whose links died with the process is sent again as an update, never as a
second record. The source is a JSON-lines folder (`files`): its reads are deterministic, so
the same seed replays the same kill schedule. The Zoho emulator runs in its own process
and keeps what it received across the kills.

CI: 3,000 records in batches of 50, 6 kills. Full size (INTEGRATE_RELIABILITY_FULL=1):
50,000 records in batches of 100 (Zoho's most), 30 kills.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_jsonl
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_variables
from tests.reliability.harness import (
    ServedEmulator,
    Workspace,
    duplicates,
    kill_at,
    kill_points,
    scale,
    seed,
)

SEED = seed(20261122)
RECORDS = scale(3_000, 50_000)
BATCH = scale(50, 100)
KILLS = scale(6, 30)
IN_FLIGHT = 2 * 5  # the zoho_crm plugin writes 5 calls at once
# The served emulator's address comes in ZOHO_ACCOUNTS_URL.
CRM = zoho_connection(accounts_url="${env:ZOHO_ACCOUNTS_URL}")
SPEC = """\
integrate: 1
name: t1-kill-upsert
connections:
  src: {plugin: files, config: {path: ./src, cursor_field: changed}}
%(crm)s
flows:
  accounts:
    from: src.accounts
    to: crm.Accounts
    upsert_on: [Account_Number]
    batch_size: %(batch)d
    fields: {Account_Name: name, Account_Number: id, Billing_City: city}
""" % {"crm": CRM, "batch": BATCH}  # noqa: UP031  (the braces are YAML's)


@pytest.fixture
def crm() -> Iterator[ServedEmulator]:
    options = {
        "seed": 1,
        "refresh_limit": 1000,  # every killed run may refresh its token once
        "unique_fields": {"Accounts": ["Account_Number"]},
    }
    with ServedEmulator("zoho_crm", options) as served:
        yield served


def source(n: int) -> list[dict[str, str]]:
    cities = ("Leeds", "Zürich", "São Paulo", "Kraków")
    return [
        {
            "id": f"S{i:06d}",
            "name": f"Company {i:06d}",
            "city": cities[i % len(cities)],
            "changed": f"{i:06d}",
        }
        for i in range(n)
    ]


def workspace(root: Path, crm: ServedEmulator, records: list[dict[str, str]]) -> Workspace:
    write_jsonl(root / "src/accounts.jsonl", records)
    spec = root / "spec.yaml"
    spec.write_text(SPEC)
    return Workspace(root, spec, zoho_variables(crm.config))


@pytest.mark.slow
def test_T1_killed_30_times_then_run_to_the_end_holds_each_record_once(
    tmp_path: Path, crm: ServedEmulator
) -> None:
    records = source(RECORDS)
    work = workspace(tmp_path, crm, records)
    batches = RECORDS // BATCH
    # Kill points: counts of upsert calls the emulator has answered, spread over the first
    # 90% of the sync so that every run is still going when its point comes.
    points = kill_points(SEED, KILLS, batches * 9 // 10)
    told = f"seed {SEED} (INTEGRATE_RELIABILITY_SEED replays it), kill points {points}"
    print(told)

    killed = kill_at(work, points, lambda: crm.calls().get("upsert", 0), seed=SEED)
    last = work.run()

    assert killed == points, f"runs ended before their kill point; {told}"
    assert last.code == 0, last.output()
    assert "finished: succeeded" in last.output()
    held = crm.records("Accounts", ["Account_Number", "Account_Name", "Billing_City"])
    assert duplicates(held, "Account_Number") == {}, told
    assert len(held) == RECORDS, told
    by_id = {r["Account_Number"]: r for r in held}
    assert {r["id"]: (r["name"], r["city"]) for r in records} == {
        k: (v["Account_Name"], v["Billing_City"]) for k, v in by_id.items()
    }
    assert work.held("pending") == []
    assert work.held("failures") == []
    # Every batch cut off by a kill was sent again, and only those: the calls in flight when
    # a kill lands (Zoho's 5 at once, and as many answered but not yet committed behind the
    # oldest) are all a kill can cost.
    upserts = crm.calls()["upsert"]
    assert batches <= upserts <= batches + KILLS * IN_FLIGHT, told
    print(
        f"T1: {len(held):,} records, 0 duplicates, {len(killed)} kills, "
        f"{upserts} upsert calls for {batches} batches ({upserts - batches} sent again)"
    )
