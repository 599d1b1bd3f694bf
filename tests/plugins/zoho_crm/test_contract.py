"""The zoho_crm plugin passes the plugin contract against its emulator."""

from __future__ import annotations

from typing import Any

from integrate import Emulator, FakeClock
from integrate.testing.contract import ConnectorContract
from integrate_zoho_crm.emulator import ZohoCrmEmulator


class TestZohoCrmContract(ConnectorContract):
    object_name = "Contacts"
    supports_auth = True
    supports_faults = True

    def make_emulator(self, clock: FakeClock) -> Emulator:
        return ZohoCrmEmulator(clock=clock, accounts=2, contacts_per_account=1, seed=7)

    def make_record(self, n: int) -> dict[str, Any]:
        return {
            "Last_Name": f"Person {n}",
            "First_Name": "Contract",
            "Email": f"person{n}@example.com",
        }

    def make_invalid(self, n: int) -> dict[str, Any]:
        return {"First_Name": f"No last name {n}"}  # Last_Name is system-mandatory

    def change_values(self, n: int) -> dict[str, Any]:
        return {"Title": f"Title {n}"}
