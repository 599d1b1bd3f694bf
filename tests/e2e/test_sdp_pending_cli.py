"""The pending queue and the run after it, on the Zoho CRM → ServiceDesk Plus MSP sandbox, as
an operator reads them: each candidate's score, no candidate below the floor unless asked, and
a second run that says where the records it decided came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.sdp import Sdp, fresh_sandbox


@pytest.fixture
def sdp(cli: Any, workdir: Path) -> Sdp:
    made = fresh_sandbox(cli)
    made.run()
    return made


def _row(output: str, name: str) -> str:
    """The table row of the queued account with this name: its two lines, as one."""
    lines = output.splitlines()
    [at] = [i for i, line in enumerate(lines) if f"'{name}'" in line]
    return " ".join(" ".join(lines[at - 1 : at + 1]).split())


def test_pending_list_shows_each_candidates_score(sdp: Sdp) -> None:
    listing = sdp.cli("pending", "list", str(sdp.spec), "--sandbox")

    assert listing.exit_code == 0, listing.output
    # a table row wraps on two lines: the candidate's name on one, its score below it
    corp = _row(listing.stdout, "Umbrella Corp")
    labs = _row(listing.stdout, "Umbrella Labs")
    assert "100000000000048007 Umbrella Health" in corp
    assert "(0.64)" in corp
    assert "100000000000048007 Umbrella Health" in labs
    assert "(0.71)" in labs


def test_a_candidate_below_the_floor_is_not_offered_unless_asked(sdp: Sdp) -> None:
    # Wayne Enterprises is like Stark Industries by scattered letters only (0.36)
    listing = sdp.cli("pending", "list", str(sdp.spec), "--sandbox")
    stark = _row(listing.stdout, "Stark Industries")
    assert "Wayne" not in stark
    assert "- (1 hidden)" in stark
    assert "1 candidate(s) hidden: their score is below 0.5" in listing.stdout
    assert "--all-candidates shows them" in listing.stdout
    rows = json.loads(sdp.cli("pending", "list", str(sdp.spec), "--sandbox", "--json").stdout)
    [queued] = [r for r in rows if "'Stark Industries'" in r["reason"]]
    assert (queued["candidates"], queued["below_floor"]) == ([], 1)

    every = sdp.cli("pending", "list", str(sdp.spec), "--sandbox", "--all-candidates")

    assert every.exit_code == 0, every.output
    stark = _row(every.stdout, "Stark Industries")
    assert "Wayne Enterprises" in stark
    assert "(0.36)" in stark
    assert "hidden" not in every.stdout


def test_a_run_after_pending_resolve_says_where_its_records_came_from(sdp: Sdp) -> None:
    # Initech and Stark Industries created by the operator's decision; the other two queued
    # accounts still wait. Nothing is read from Zoho again (its cursor has moved on).
    for name in ("Initech", "Stark Industries"):
        row = sdp.queued(name)
        assert sdp.resolve("accounts", row["source_id"], "--create").exit_code == 0

    second = sdp.cli("run", str(sdp.spec), "--sandbox")

    assert second.exit_code == 0, second.output
    assert {"Initech", "Stark Industries"} <= set(sdp.accounts())
    [accounts] = [line for line in second.stdout.splitlines() if line.startswith("  accounts ")]
    assert accounts.split()[1:3] == ["0", "2"]  # read 0, created 2: now with the why
    assert (
        "accounts: 4 held record(s) looked at again, not read from the system: 2 decided by "
        "an operator (create as new: 2), 2 still waiting or tried again"
    ) in second.stdout
    report = json.loads(sdp.cli("run", str(sdp.spec), "--sandbox", "--json").stdout)
    [flow] = [f for f in report["flows"] if f["flow"] == "accounts"]
    assert (flow["held_again"], flow["decided"]) == (2, {})  # the two still queued
