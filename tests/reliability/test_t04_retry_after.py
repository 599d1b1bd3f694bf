"""T4: 429 with `Retry-After: 3` five times before every call: each retry waits at least the
3 s asked, no call takes more than 6 attempts, and the run succeeds. One fake clock for the
emulator and the client: nothing waits for real."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from integrate import FakeClock
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import accounts_to_files, keyset_list_calls, zoho_env
from tests.reliability.harness import run_in_process, scale


def test_T4_retry_after_is_waited_before_every_retry_and_the_run_succeeds(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    faults = {"rate_limit_each": 5, "retry_after": 3, "spare": ["token"]}
    accounts = scale(450, 2000)
    with ZohoCrmEmulator(clock=clock, accounts=accounts, seed=4, faults=faults) as emulator:
        zoho_env(monkeypatch, emulator)
        Path("spec.yaml").write_text(accounts_to_files())

        report = run_in_process("spec.yaml", {"crm": emulator.transport()}, clock)

        assert report.status == "succeeded"
        assert len(read_jsonl(workdir / "out/accounts.jsonl")) == accounts
        api = [e for e in emulator.log if e.kind != "token"]
        pages = keyset_list_calls(emulator.records("Accounts"))
        assert sum(e.kind == "list" for e in api if e.status == 200) == pages  # one pass
        in_a_row = 0
        for before, after in itertools.pairwise(api):
            if before.status == 429:
                assert after.at - before.at >= 3.0  # every retry waited the 3 s asked
                in_a_row += 1
                assert in_a_row <= 5  # so at most 6 attempts per request
            else:
                in_a_row = 0
        assert api[-1].status == 200
