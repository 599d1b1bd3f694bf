"""T3: a re-run right after a successful sync writes nothing (D3), plain or `--full-refresh`,
and a plan lists only the fields whose value really changes in the target. Measured on the
Zoho CRM → ServiceDesk Plus MSP spec, whose targets have dotted fields
(`udf_fields.udf_char1`, `account.id`), scaled up with the Zoho emulator's generator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.e2e.sdp import Sdp, totals
from tests.reliability.harness import scale

NEW_IN_SDP = 5  # CRM accounts SDP does not have yet: queued, then created by an operator


def synced(cli: Any, accounts: int) -> Sdp:
    """The spec synced once and settled: most accounts matched by name and updated, a few
    created by an operator's `pending resolve --create`, every placeable contact created as a
    requester."""
    sdp = Sdp(cli)
    with sdp.systems(fresh=True, demo=False) as systems:
        crm = ZohoCrmEmulator(accounts=accounts, contacts_per_account=3, seed=3)
        systems["crm"].close()
        systems["crm"] = crm
        names = [a["Account_Name"] for a in crm.records("Accounts")]
        systems["sdp"].seed("accounts", [{"name": n} for n in names[NEW_IN_SDP:]])
    _result, first = sdp.run()
    assert totals(first, "accounts")["updated"] == accounts - NEW_IN_SDP
    queued = sdp.pending()
    assert len(queued) == NEW_IN_SDP
    for row in queued:
        assert sdp.resolve("accounts", row["source_id"], "--create").exit_code == 0
    _result, second = sdp.run()
    assert totals(second, "accounts")["created"] == NEW_IN_SDP
    assert second["status"] == "succeeded"
    return sdp


def writes_of(report: dict[str, Any]) -> dict[str, int]:
    return {alias: calls["writes"] for alias, calls in report["calls"].items()}


def test_T3_a_rerun_with_nothing_changed_writes_nothing_plain_or_full_refresh(
    cli: Any, workdir: Path
) -> None:
    accounts = scale(150, 1000)
    sdp = synced(cli, accounts=accounts)
    requesters = len(sdp.records("sdp", "requesters"))
    assert requesters > 300

    _result, plain = sdp.run()
    _result, full = sdp.run("--full-refresh")
    _result, planned = sdp.run("--full-refresh", "--dry-run")

    assert writes_of(plain) == {"crm": 0, "sdp": 0}
    assert writes_of(full) == {"crm": 0, "sdp": 0}
    for flow in ("accounts", "requesters"):
        for report in (full, planned):
            counts = totals(report, flow)
            assert (counts["created"], counts["updated"], counts["failed"]) == (0, 0, 0), flow
    assert totals(full, "accounts")["unchanged"] == accounts
    assert totals(full, "requesters")["unchanged"] == requesters
    assert len(sdp.records("sdp", "requesters")) == requesters


def test_T3_the_plan_lists_only_the_fields_that_really_change(cli: Any, workdir: Path) -> None:
    sdp = synced(cli, accounts=20)
    with sdp.systems() as systems:
        crm = systems["crm"]
        account = crm.records("Accounts")[7]
        crm.change("Accounts", account["id"], {"Account_Number": "A-777", "Phone": "+44 1 777"})
        [contact] = [c for c in crm.records("Contacts") if c.get("Account_Name")][:1]
        crm.change("Contacts", contact["id"], {"Title": "Chief Tester"})
    [target] = [a for a in sdp.records("sdp", "accounts") if a["name"] == account["Account_Name"]]

    for refresh in ((), ("--full-refresh",)):
        result = sdp.cli("run", str(sdp.spec), "--sandbox", "--dry-run", *refresh)
        assert result.exit_code == 0, result.output
        changes = re.findall(r"^  (\w+): (update|create) .*$", result.stdout, re.MULTILINE)
        assert changes == [("accounts", "update"), ("requesters", "update")], result.stdout
        account_line = next(row for row in result.stdout.splitlines() if "accounts: update" in row)
        fields = re.search(r"\{(.*)\}", account_line)
        assert fields is not None
        # in the spec's field order; nothing that is already equal in SDP
        assert fields.group(1) == (
            f'phone: "{account["Phone"]}" → "+44 1 777", '
            f'udf_fields.udf_char1: "{account["Account_Number"]}" → "A-777"'
        )
        requester_line = next(
            row for row in result.stdout.splitlines() if "requesters: update" in row
        )
        assert re.search(r"\{job_title: [^,]* → \"Chief Tester\"\}", requester_line)

    _result, report = sdp.run()
    assert writes_of(report)["sdp"] == 2
    [after] = [a for a in sdp.records("sdp", "accounts") if a["id"] == target["id"]]
    assert (after["phone"], after["udf_fields"]["udf_char1"]) == ("+44 1 777", "A-777")
    _result, again = sdp.run("--full-refresh")
    assert writes_of(again) == {"crm": 0, "sdp": 0}
