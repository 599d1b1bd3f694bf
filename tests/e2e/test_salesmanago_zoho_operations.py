"""SALESmanago ⇄ Zoho CRM as it is operated: SM-6, the first sync reads everything and later
ones only what changed, every six hours at 00:00, 06:00, 12:00 and 18:00; SM-9, Zoho is
authorised once from a command (`integrate auth`), against both emulators served on
loopback HTTP, the command line as an operator types it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate_salesmanago.emulator import SalesManagoEmulator
from integrate_zoho_crm.connector import SCOPES
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.e2e.smz import SPEC, World, operator_copy


def test_SM_6_the_spec_runs_every_six_hours_at_00_06_12_18(cli: Any, workdir: Path) -> None:
    listed = cli("schedule", str(SPEC), "--from", "2026-07-01T01:30", "--count", "5")

    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        "2026-07-01T06:00+00:00 salesmanago-zoho-crm: contacts",
        "2026-07-01T12:00+00:00 salesmanago-zoho-crm: contacts",
        "2026-07-01T18:00+00:00 salesmanago-zoho-crm: contacts",
        "2026-07-02T00:00+00:00 salesmanago-zoho-crm: contacts",
        "2026-07-02T06:00+00:00 salesmanago-zoho-crm: contacts",
    ]
    served = cli("serve", str(SPEC), "--sandbox", "--run-now", "--max-runs", "1")
    assert served.exit_code == 0, served.output
    assert "salesmanago-zoho-crm: contacts" in served.stdout
    assert "finished: succeeded" in served.stdout


def test_SM_6_the_first_sync_reads_everything_later_ones_only_what_changed(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(workdir, monkeypatch)
    world.sm.seed("contacts", [{"email": f"s{n}@example.com", "name": f"S {n}"} for n in range(7)])
    world.crm.seed(
        "Leads", [{"Last_Name": f"C {n}", "Email": f"c{n}@example.com"} for n in range(5)]
    )

    first = world.run()

    assert first.report["flows"][0]["read"] == {"sm": 7, "crm": 5}
    windows = [b["from"] for m, b in world.wire.sent if m == "contact/paginatedModifiedContacts"]
    assert windows[0] == 0  # SALESmanago is read from the beginning
    echo = world.settled()  # what the first run wrote, read back: nothing to do
    assert echo.report["flows"][0]["read"] == {"sm": 5, "crm": 7}

    world.later()
    world.sm.change("contacts", world.sm_id("s3@example.com"), {"phone": "+1 555 0103"})
    world.crm.change("Leads", world.crm_record("c1@example.com")[1]["id"], {"Phone": "+1 555 0201"})
    world.wire.sent.clear()
    later = world.run()

    assert later.report["flows"][0]["read"] == {"sm": 1, "crm": 1}
    assert later.totals["updated"] == 2
    windows = [b["from"] for m, b in world.wire.sent if m == "contact/paginatedModifiedContacts"]
    assert min(windows) > 0  # from where the last read ended, not from the beginning


# ---- SM-9 -------------------------------------------------------------------------------

# The spec as shipped, pointed at the served emulators (a test system) by the environment
# alone: SALESMANAGO_URL and ZOHO_ACCOUNTS_URL.


@pytest.fixture
def served() -> Iterator[tuple[SalesManagoEmulator, ZohoCrmEmulator]]:
    sm = SalesManagoEmulator(server="app3", seed=9)
    crm = ZohoCrmEmulator(data_center="eu", seed=9)
    sm.serve()
    crm.serve()
    yield sm, crm
    sm.close()
    crm.close()


def test_SM_9_zoho_is_authorised_once_from_a_command_then_the_spec_runs(
    cli: Any,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    served: tuple[SalesManagoEmulator, ZohoCrmEmulator],
) -> None:
    sm, crm = served
    spec = operator_copy(workdir)
    sm_config, crm_config = sm.connection_config(), crm.connection_config()
    for name, value in {
        "SALESMANAGO_URL": sm_config["base_url"],
        "SALESMANAGO_CLIENT_ID": sm_config["client_id"],
        "SALESMANAGO_API_SECRET": sm_config["api_secret"],
        "SALESMANAGO_OWNER": sm_config["owner"],
        "ZOHO_ACCOUNTS_URL": crm_config["accounts_url"],
        "ZOHO_CLIENT_ID": crm_config["client_id"],
        "ZOHO_CLIENT_SECRET": crm_config["client_secret"],
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("ZOHO_REFRESH_TOKEN", raising=False)
    crm.seed("Leads", [{"Last_Name": "Lee", "First_Name": "Ann", "Email": "ann@example.com"}])

    # A self-client code, made in Zoho's API console with the scopes the plugin asks for.
    authorised = cli(
        "auth", str(spec), "crm", "--code", crm.grant_code(scope=SCOPES), "--print-token"
    )

    assert authorised.exit_code == 0, authorised.output
    [line] = [ln for ln in authorised.stdout.splitlines() if ln.startswith("ZOHO_REFRESH_TOKEN=")]
    token = line.split("=", 1)[1]
    assert token.startswith("1000.")
    assert token != crm_config["refresh_token"]
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", token)

    first = cli("run", str(spec), "--json")

    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["calls"]["crm"]["auth"] == 1  # one refresh, from the stored refresh token
    assert [c["name"] for c in sm.records("contacts")] == ["Ann Lee"]
    again = cli("run", str(spec), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["calls"]["crm"]["auth"] == 0  # the access token is kept
