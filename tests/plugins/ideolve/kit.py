"""The ideolve connector on an Ideolve emulator's in-process transport, both on one fake
clock, for the plugin's tests: what a test does goes through the connector; what it checks
is read from the emulator (its notes, its request log, its call counts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from integrate import ConnectorContext, FakeClock, FileStream, WriteItem, WriteResult
from integrate_ideolve import IdeolveConnector
from integrate_ideolve.emulator import IdeolveEmulator

START = 1_796_551_200.0  # 2026-12-06T10:00:00+00:00
WORKSPACE = "Zoho CRM"
MiB = 1024 * 1024


class Ideolve:
    """An emulated org and a connection to it (`config` over the emulator's own)."""

    def __init__(self, emulator: dict[str, Any] | None = None, **config: Any):
        self.clock = FakeClock(START)
        self.emulator = IdeolveEmulator(clock=self.clock, seed=24, **(emulator or {}))
        self.config = {**self.emulator.connection_config(), "workspace": WORKSPACE, **config}
        self.connector = self.open()

    def open(self, **config: Any) -> IdeolveConnector:
        context = ConnectorContext(
            connection="ideolve", transport=self.emulator.transport(), clock=self.clock
        )
        return IdeolveConnector({**self.config, **config}, context)

    def close(self) -> None:
        self.connector.close()
        self.emulator.close()

    # ---- through the connector ----------------------------------------------------------

    def create(self, *values: dict[str, Any]) -> list[WriteResult]:
        items = [WriteItem(ref=i, values=v) for i, v in enumerate(values)]
        return self.connector.write("notes", "create", items)

    def note(self, subject: str = "Account: Acme") -> str:
        [made] = self.create({"subject": subject, "notehtmltext": "<p>Acme</p>"})
        assert made.ok, made.error
        assert made.id is not None
        return made.id

    def act(self, action: str, noteid: str, values: dict[str, Any]) -> WriteResult:
        [result] = self.connector.act("notes", action, [WriteItem(1, values, id=noteid)])
        return result

    def attach(self, noteid: str, file: FileStream) -> WriteResult:
        return self.act("attach", noteid, {"attachment_id": "z1", "$file": file})

    # ---- what Ideolve holds ---------------------------------------------------------------

    def notes(self) -> dict[str, dict[str, Any]]:
        return {str(n["noteid"]): n for n in self.emulator.records("notes")}

    def workspaces(self) -> list[dict[str, Any]]:
        return self.emulator.records("workspaces")

    def paths(self) -> list[str]:
        """Every call's method and raw path, in order."""
        return [f"{c.method} {c.raw_path}" for c in self.emulator.log]


class Pieces:
    """A file made on the fly, `size` bytes in pieces of `piece`: counts what was taken."""

    def __init__(self, size: int, piece: int = 64 * 1024, byte: bytes = b"x"):
        self.size = size
        self.piece = piece
        self.byte = byte
        self.taken = 0
        self.opened = 0

    def __call__(self) -> Iterator[bytes]:
        self.opened += 1
        left = self.size
        while left > 0:
            n = min(self.piece, left)
            left -= n
            self.taken += n
            yield self.byte * n
