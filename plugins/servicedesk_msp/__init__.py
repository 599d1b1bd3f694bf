"""integrate's `servicedesk_msp` plugin: ManageEngine ServiceDesk Plus MSP's REST API v3
(on-premises and cloud), and an emulator of it
(`integrate_servicedesk_msp.emulator.ServiceDeskMspEmulator`).

Registered through the `integrate` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from integrate import Connector, Emulator, hookimpl
from integrate_servicedesk_msp.connector import ServiceDeskMspConnector, __version__

__all__ = ["ServiceDeskMspConnector", "__version__"]


@hookimpl
def integrate_register_connectors() -> list[type[Connector]]:
    return [ServiceDeskMspConnector]


@hookimpl
def integrate_register_emulators() -> list[type[Emulator]]:
    from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator

    return [ServiceDeskMspEmulator]
