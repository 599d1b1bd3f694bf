"""T2: as T1, into a create-only endpoint: ServiceDesk Plus MSP has no upsert, so a create
whose link died with a killed run must be recognised by the next run, never made again.

The flow creates SDP requesters matched by `employee_id` (the source id). SDP enforces no
uniqueness on it (only an email within an account), so a second create of one record
would land as a duplicate: only the engine's create path (match keys: the target is read
for matching, and the created record is linked instead of created again) prevents it. The
SDP emulator runs in its own process and keeps what it received across the kills.

CI: 600 records, 6 kills. Full size (INTEGRATE_RELIABILITY_FULL=1): 50,000 records, 30
kills (SDP writes one record a call).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_jsonl
from tests.reliability.harness import (
    ServedEmulator,
    Workspace,
    duplicates,
    kill_at,
    kill_points,
    scale,
    seed,
)

SEED = seed(20261123)
RECORDS = scale(600, 50_000)
KILLS = scale(6, 30)
ACCOUNT = "Reliability Ltd"
CREATES = "create:requesters"

SPEC = """\
integrate: 1
name: t2-kill-create-only
connections:
  src: {plugin: files, config: {path: ./src, cursor_field: changed}}
  sdp:
    plugin: servicedesk_msp
    config: {url: "${env:SDP_URL}", technician_key: "${env:SDP_TECHNICIAN_KEY}"}
flows:
  people:
    from: src.people
    to: sdp.requesters
    match: [[id, employee_id]]
    unmatched: create
    fields: {name: name, employee_id: id, phone: phone, account.name: "'Reliability Ltd'"}
"""


@pytest.fixture
def sdp() -> Iterator[ServedEmulator]:
    with ServedEmulator("servicedesk_msp", {"seed": 2}) as served:
        served.call("seed", "accounts", [{"name": ACCOUNT}])
        yield served


def source(n: int) -> list[dict[str, str]]:
    return [
        {
            "id": f"E{i:06d}",
            "name": f"Person {i:06d}",
            "phone": f"+44 113 496 {i % 10_000:04d}",
            "changed": f"{i:06d}",
        }
        for i in range(n)
    ]


@pytest.mark.slow
def test_T2_killed_30_times_a_create_only_sync_creates_each_record_once(
    tmp_path: Path, sdp: ServedEmulator
) -> None:
    records = source(RECORDS)
    write_jsonl(tmp_path / "src/people.jsonl", records)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    env = {"SDP_URL": sdp.config["url"], "SDP_TECHNICIAN_KEY": sdp.config["technician_key"]}
    work = Workspace(tmp_path, spec, env)
    # Kill points: counts of creates SDP has answered, over the first 90% of the sync.
    points = kill_points(SEED, KILLS, RECORDS * 9 // 10)
    told = f"seed {SEED} (INTEGRATE_RELIABILITY_SEED replays it), kill points {points}"
    print(told)

    killed = kill_at(work, points, lambda: sdp.calls().get(CREATES, 0), seed=SEED)
    last = work.run()

    assert killed == points, f"runs ended before their kill point; {told}"
    assert last.code == 0, last.output()
    assert "finished: succeeded" in last.output()
    held = sdp.records("requesters", ["employee_id", "name", "phone", "account"])
    assert duplicates(held, "employee_id") == {}, told
    assert len(held) == RECORDS, told
    assert {r["id"]: (r["name"], r["phone"]) for r in records} == {
        r["employee_id"]: (r["name"], r["phone"]) for r in held
    }
    assert {r["account"]["name"] for r in held} == {ACCOUNT}
    assert work.held("pending") == []
    assert work.held("failures") == []
    # A create is never sent twice for one record: one create call per record.
    calls = sdp.calls()
    assert calls[CREATES] == RECORDS, told
    print(
        f"T2: {len(held):,} records, 0 duplicates, {len(killed)} kills, "
        f"{calls[CREATES]:,} create calls, {calls.get('list:requesters', 0):,} list calls"
    )
