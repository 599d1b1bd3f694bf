"""The servicedesk_msp plugin passes the plugin contract against its emulator, on both
deployments: on-premises (technician key) and cloud (Zoho OAuth, customers)."""

from __future__ import annotations

from typing import Any

from integrate import Emulator, FakeClock
from integrate.testing.contract import ConnectorContract
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator


class TestOnPremisesContract(ConnectorContract):
    object_name = "accounts"
    supports_faults = True
    supports_incremental = False  # SDP's lists have no modified-since: read in full

    def make_emulator(self, clock: FakeClock) -> Emulator:
        return ServiceDeskMspEmulator(clock=clock, accounts=3, seed=7)

    def make_record(self, n: int) -> dict[str, Any]:
        return {"name": f"Contract Account {n}", "city": "Austin"}

    def make_invalid(self, n: int) -> dict[str, Any]:
        return {"name": f"Bad {n}", "no_such_field": 1}  # unknown fields are refused (4000)

    def change_values(self, n: int) -> dict[str, Any]:
        return {"city": f"City {n}"}


class TestCloudContract(ConnectorContract):
    object_name = "accounts"
    supports_auth = True
    supports_faults = True
    supports_incremental = False

    def make_emulator(self, clock: FakeClock) -> Emulator:
        return ServiceDeskMspEmulator(clock=clock, accounts=3, seed=8, deployment="cloud")

    def make_record(self, n: int) -> dict[str, Any]:
        return {"name": f"Cloud Customer {n}"}

    def make_invalid(self, n: int) -> dict[str, Any]:
        return {"name": f"Bad {n}", "id": "1"}  # the id is read-only (4014)

    def change_values(self, n: int) -> dict[str, Any]:
        return {"phone": f"+1 555 {n:04d}"}
