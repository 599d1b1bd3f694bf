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


class TestClientSuccessContactsContract(ConnectorContract):
    """Contacts carry no modification date: every read returns them all (a client's at a
    time), so the kit's incremental test does not apply."""

    object_name = "contacts"
    supports_faults = True
    supports_incremental = False

    def make_emulator(self, clock: FakeClock) -> Emulator:
        emulator = ClientSuccessEmulator(clock=clock, clients=2, contacts_per_client=1, seed=6)
        self.client_id = emulator.records("clients")[0]["id"]
        return emulator

    def make_record(self, n: int) -> dict[str, Any]:
        return {"clientId": self.client_id, "firstName": "Pat", "email": f"pat{n}@x.example"}

    def make_invalid(self, n: int) -> dict[str, Any]:
        return {"clientId": self.client_id, "title": f"Nobody {n}"}  # no name, no email

    def change_values(self, n: int) -> dict[str, Any]:
        return {"title": f"Title {n}", "phone": f"+1 555 {n:04d}"}
