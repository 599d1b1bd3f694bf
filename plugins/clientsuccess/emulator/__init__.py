"""The ClientSuccess emulator: ClientSuccess's v1 REST API, in process."""

from __future__ import annotations

from integrate_clientsuccess.emulator.app import ClientSuccessEmulator

__all__ = ["ClientSuccessEmulator"]
