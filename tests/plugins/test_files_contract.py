"""The files plugin passes the plugin contract."""

from __future__ import annotations

from typing import Any

from integrate import Emulator, FakeClock
from integrate.testing.contract import ConnectorContract
from integrate_files import FilesEmulator


class TestFilesContract(ConnectorContract):
    object_name = "people"

    def make_emulator(self, clock: FakeClock) -> Emulator:
        emulator = FilesEmulator(cursor_field="changed", page_size=50, batch_size=40)
        emulator.seed("people", [{"id": "taken", "email": "first@example.com"}])
        return emulator

    def make_record(self, n: int) -> dict[str, Any]:
        return {"email": f"person{n}@example.com", "name": f"Person {n}"}

    def make_invalid(self, n: int) -> dict[str, Any]:
        return {"id": "taken", "email": f"dup{n}@example.com"}  # an id that exists

    def change_values(self, n: int) -> dict[str, Any]:
        return {"name": f"Renamed {n}"}
