"""integrate's `salesmanago` plugin: SALESmanago's contact API (REST "v2", JSON over POST),
and an emulator of it (`integrate_salesmanago.emulator.SalesManagoEmulator`).

Registered through the `integrate` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from integrate import Connector, Emulator, hookimpl
from integrate_salesmanago.connector import SalesManagoConnector, __version__

__all__ = ["SalesManagoConnector", "__version__"]


@hookimpl
def integrate_register_connectors() -> list[type[Connector]]:
    return [SalesManagoConnector]


@hookimpl
def integrate_register_emulators() -> list[type[Emulator]]:
    from integrate_salesmanago.emulator import SalesManagoEmulator

    return [SalesManagoEmulator]
