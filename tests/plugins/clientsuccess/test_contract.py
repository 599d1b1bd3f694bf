"""The clientsuccess plugin passes the plugin contract against its emulator: clients read
from one unpaged listing by lastModifiedDate, fetched by id, written one call a record within
the connection's concurrency, on a shared fake clock."""

from __future__ import annotations

from typing import Any

from integrate import Connector, Emulator, FakeClock
from integrate.testing.contract import ConnectorContract
from integrate_clientsuccess.emulator import ClientSuccessEmulator


class TestClientSuccessContract(ConnectorContract):
    object_name = "clients"
    supports_faults = True

    def make_emulator(self, clock: FakeClock) -> Emulator:
        return ClientSuccessEmulator(clock=clock, clients=4, contacts_per_client=1, seed=5)

    def make_record(self, n: int) -> dict[str, Any]:
        return {"name": f"Contract {n}", "externalId": f"contract-{n}", "city": "Austin"}

    def make_invalid(self, n: int) -> dict[str, Any]:
        return {"externalId": f"bad-{n}", "city": "No Name"}  # refused: Client name is required

    def change_values(self, n: int) -> dict[str, Any]:
        return {"name": f"Renamed {n}", "city": f"City {n}"}

    def test_an_expired_token_brings_exactly_one_new_login(
        self, emulator: Emulator, connector: Connector
    ) -> None:
        """The kit's token test counts `token` calls; ClientSuccess logs in at `/auth`."""
        self.seed(emulator, 3)
        self.read_all(connector)
        assert isinstance(emulator, ClientSuccessEmulator)
        before = emulator.calls().get("auth", 0)
        emulator.expire_tokens()

        records, _cursor = self.read_all(connector)

        assert len(records) >= 3
        assert emulator.calls().get("auth", 0) == before + 1
