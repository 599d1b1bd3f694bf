"""SDP-16, API economy: one paged Zoho read per object per sync, 200 rows a page; a sync with
nothing changed writes nothing and reads each Zoho module once."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.e2e.sdp import Sdp, totals
from tests.plugins.zoho_crm.emulator_kit import keyset_list_calls


def test_sdp_16_1000_accounts_and_3000_contacts_cost_one_zoho_pass_each(
    cli: Any, workdir: Path
) -> None:
    # SDP-16
    sdp = Sdp(cli)
    with sdp.systems(fresh=True, demo=False) as systems:
        crm = ZohoCrmEmulator(accounts=1000, contacts_per_account=3, seed=16)
        systems["crm"].close()
        systems["crm"] = crm
        names = [a["Account_Name"] for a in crm.records("Accounts")]
        systems["sdp"].seed("accounts", [{"name": n} for n in names])  # all match by name
        contacts = crm.records("Contacts")
    assert (len(names), len(contacts)) == (1000, 3000)
    placeable = [c for c in contacts if c.get("Account_Name")]

    _result, first = sdp.run()

    kinds = first["calls"]["crm"]["kinds"]
    # One pass by key per module (each page starts at the last second of the one before, so
    # that second's records take room twice): 6 + 16 calls, where offsets would take 5 + 15
    # and lose records that change while the read pages.
    accounts = keyset_list_calls(crm.records("Accounts"))
    people = keyset_list_calls(contacts)
    assert kinds["read:list"] == accounts + people
    assert (accounts, people) == (math.ceil(1000 / 200) + 1, math.ceil(3000 / 200) + 1)
    assert totals(first, "accounts")["updated"] == 1000
    assert totals(first, "requesters")["created"] == len(placeable) == 3000
    assert len(sdp.records("sdp", "requesters")) == 3000

    _result, second = sdp.run()

    assert second["calls"]["sdp"]["writes"] == 0
    assert second["calls"]["crm"]["writes"] == 0
    assert second["calls"]["crm"]["kinds"]["read:list"] == 2  # one per module: nothing new
    assert totals(second, "accounts")["read"] == 0
    assert totals(second, "requesters")["read"] == 0
