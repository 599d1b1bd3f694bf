"""integrate's `clientsuccess` plugin: ClientSuccess's v1 REST API (clients and their
contacts), and an emulator of it (`integrate_clientsuccess.emulator`).

Registered through the `integrate` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from integrate import Connector, Emulator, hookimpl
from integrate_clientsuccess.connector import ClientSuccessConnector, __version__

__all__ = ["ClientSuccessConnector", "__version__"]


@hookimpl
def integrate_register_connectors() -> list[type[Connector]]:
    return [ClientSuccessConnector]


@hookimpl
def integrate_register_emulators() -> list[type[Emulator]]:
    from integrate_clientsuccess.emulator import ClientSuccessEmulator

    return [ClientSuccessEmulator]
