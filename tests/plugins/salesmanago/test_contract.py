"""The salesmanago plugin passes the plugin contract against its emulator: contacts read by
modification window and fetched by id, written by batch upsert, on a shared fake clock."""

from __future__ import annotations

from typing import Any

from integrate import Emulator, FakeClock
from integrate.testing.contract import ConnectorContract
from integrate_salesmanago.emulator import SalesManagoEmulator


class TestSalesManagoContract(ConnectorContract):
    object_name = "contacts"
    supports_faults = True

    def make_emulator(self, clock: FakeClock) -> Emulator:
        return SalesManagoEmulator(clock=clock, contacts=5, seed=3, server="app3")

    def make_record(self, n: int) -> dict[str, Any]:
        return {"email": f"contract.{n}@example.com", "name": f"Contract {n}"}

    def make_invalid(self, n: int) -> dict[str, Any]:
        return {"email": f"not an email {n}", "name": f"Bad {n}"}  # refused: Invalid email

    def change_values(self, n: int) -> dict[str, Any]:
        return {"name": f"Renamed {n}", "phone": f"+48 600 {n:06d}"}
