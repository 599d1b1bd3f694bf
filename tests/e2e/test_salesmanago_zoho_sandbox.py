"""The SALESmanago ⇄ Zoho CRM demo as a newcomer runs it: `integrate run
specs/salesmanago-zoho_crm.yaml --sandbox`, no system and no variable needed. The summary
says what went which way; the emulated systems hold the demo data synced both ways; the
next run writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integrate.build import load_spec
from integrate.plugins import make_plugins
from integrate.sandbox import opened
from tests.e2e.smz import SPEC


def systems() -> dict[str, dict[str, dict[str, Any]]]:
    """What the sandbox's systems hold: SALESmanago contacts and open Zoho records, by
    email (lower case)."""
    spec = load_spec(SPEC, make_plugins(), strict_env=False)
    with opened(spec, make_plugins()) as emulators:
        sm = {c["email"].lower(): c for c in emulators["sm"].records("contacts")}
        crm = {
            str(r["Email"]).lower(): {**r, "$object": module}
            for module in ("Leads", "Contacts")
            for r in emulators["crm"].records(module)
            if not r.get("Converted__s")
        }
    return {"sm": sm, "crm": crm}


def rows(stdout: str) -> dict[str, list[int]]:
    """The summary table's rows of the flow: "contacts: sm → crm" → its counts."""
    out = {}
    for line in stdout.splitlines():
        cells = line.split()
        if cells[:1] == ["contacts:"] and "→" in cells:
            label = " ".join(cells[:4])
            out[label] = [int(c.replace(",", "")) for c in cells[4:]]
    return out


def test_the_sandbox_demo_runs_both_ways_with_a_summary_a_newcomer_can_read(
    cli: Any, workdir: Path
) -> None:
    first = cli("run", str(SPEC), "--sandbox", "--fresh")

    assert first.exit_code == 0, first.output
    assert "warning" not in first.output.lower()
    # read, created, updated, unchanged, skipped, deferred, queued, failed
    assert rows(first.stdout) == {
        "contacts: sm → crm": [5, 3, 1, 1, 0, 0, 0, 0],
        "contacts: crm → sm": [4, 2, 2, 0, 0, 0, 0, 0],
    }
    assert "finished: succeeded" in first.stdout
    held = systems()
    sm, crm = held["sm"], held["crm"]
    # Only in SALESmanago: now in Zoho, Prospects as Leads, the Customer as a Contact.
    assert crm["jane.doe@acme.example"]["$object"] == "Leads"
    assert crm["jane.doe@acme.example"]["Company"] == "Acme Corp"
    assert crm["zoe.muller@initech.example"]["Email_Opt_Out"] is True
    assert crm["sam.carter@umbrella.example"]["$object"] == "Contacts"
    assert crm["sam.carter@umbrella.example"]["Date_of_Birth"] == "1970-01-01"
    assert crm["sam.carter@umbrella.example"]["Owner"]["email"] == "priyaraghunathan@zylker.com"
    # Only in Zoho: now in SALESmanago.
    assert (sm["li.wei@stark.example"]["state"], sm["li.wei@stark.example"]["optedOut"]) == (
        "PROSPECT",
        True,
    )
    olga = sm["olga.berg@nordic.example"]
    assert (olga["state"], olga["company"], olga["address"]["city"]) == (
        "CUSTOMER",
        "Nordic Freight",
        "Stockholm",
    )
    # In both: matched by email, each side filled in from the other.
    assert (sm["pat.lee@wayne.example"]["phone"], sm["pat.lee@wayne.example"]["company"]) == (
        "+1 555 0142",
        "Wayne Enterprises",
    )
    marek = crm["marek.wisniewski@globex.example"]
    assert (marek["Phone"], marek["Mailing_City"]) == ("+48 601 200 300", "Łódź")
    assert sm["marek.wisniewski@globex.example"]["fax"] == "+48 42 200 301"
    assert sm["marek.wisniewski@globex.example"]["birthdayYear"] == 1979
    assert (len(sm), len(crm)) == (7, 7)  # nobody twice

    again = cli("run", str(SPEC), "--sandbox", "--json")

    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    [flow] = report["flows"]
    assert flow["totals"]["created"] == flow["totals"]["updated"] == 0
    assert report["calls"]["sm"]["writes"] == report["calls"]["crm"]["writes"] == 0
    assert systems() == held
