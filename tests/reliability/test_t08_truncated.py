"""T8: a page whose JSON is cut short (valid framing) is never taken as a page: with the
attempts spent the run stops and the stored cursor is the one from before the run; once the
answers are whole again the target is complete. One fake clock; nothing waits for real."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock, IntegrateError
from integrate.engine.runner import RunReport
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import accounts_to_files, zoho_env
from tests.reliability.harness import run_in_process

# Only the pages are cut: the token and the metadata calls answer whole.
PAGES_ONLY = frozenset({"token", "modules", "fields"})


def run(emulator: ZohoCrmEmulator, clock: FakeClock, limits: str = "") -> RunReport:
    Path("spec.yaml").write_text(accounts_to_files(limits=limits))
    return run_in_process("spec.yaml", {"crm": emulator.transport()}, clock)


def cursors(workdir: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(workdir / ".integrate/state.db")
    try:
        return db.execute("SELECT flow, side, cursor FROM flow_state ORDER BY 1, 2").fetchall()
    finally:
        db.close()


def phones(workdir: Path) -> dict[str, Any]:
    return {r["name"]: r["phone"] for r in read_jsonl(workdir / "out/accounts.jsonl")}


@pytest.fixture
def synced(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An org synced once to the files target, then 5 accounts changed in Zoho."""
    clock = FakeClock()
    with ZohoCrmEmulator(clock=clock, accounts=30, seed=8) as emulator:
        zoho_env(monkeypatch, emulator)
        assert run(emulator, clock).status == "succeeded"
        clock.advance(60)
        for account in emulator.records("Accounts")[:5]:
            emulator.change("Accounts", account["id"], {"Phone": "+1 555 0100"})
        yield emulator, clock


def test_T8_cut_pages_leave_the_cursor_where_it_was_and_a_later_run_completes(
    workdir: Path, synced: Any
) -> None:
    emulator, clock = synced
    before = cursors(workdir)
    emulator.faults.spare = PAGES_ONLY
    emulator.faults.truncate_first = 3

    with pytest.raises(IntegrateError, match="cut or broken JSON"):
        run(emulator, clock, limits="max_attempts: 3")

    assert emulator.counts["fault:truncated"] == 3
    assert cursors(workdir) == before  # the cursor did not move past what was never read
    assert "+1 555 0100" not in phones(workdir).values()

    report = run(emulator, clock, limits="max_attempts: 3")  # the answers are whole again

    assert report.status == "succeeded"
    assert list(phones(workdir).values()).count("+1 555 0100") == 5
    assert len(phones(workdir)) == 30
    assert cursors(workdir) != before


def test_T8_three_cut_pages_then_a_whole_one_finish_in_the_same_run(
    workdir: Path, synced: Any
) -> None:
    emulator, clock = synced
    emulator.faults.spare = PAGES_ONLY
    emulator.faults.truncate_first = 3

    report = run(emulator, clock)  # max_attempts 6 by default

    assert report.status == "succeeded"
    assert emulator.counts["fault:truncated"] == 3
    assert list(phones(workdir).values()).count("+1 555 0100") == 5
    assert len(phones(workdir)) == 30
