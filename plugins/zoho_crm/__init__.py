"""integrate's `zoho_crm` plugin: Zoho CRM's REST API v8, and an emulator of it
(`integrate_zoho_crm.emulator.ZohoCrmEmulator`).

Registered through the `integrate` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from integrate import Connector, Emulator, hookimpl
from integrate_zoho_crm.connector import ZohoCrmConnector, __version__

__all__ = ["ZohoCrmConnector", "__version__"]


@hookimpl
def integrate_register_connectors() -> list[type[Connector]]:
    return [ZohoCrmConnector]


@hookimpl
def integrate_register_emulators() -> list[type[Emulator]]:
    from integrate_zoho_crm.emulator import ZohoCrmEmulator

    return [ZohoCrmEmulator]
