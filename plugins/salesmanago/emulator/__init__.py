"""The SALESmanago emulator: SALESmanago's contact API (REST "v2", JSON over POST), in
process."""

from __future__ import annotations

from integrate_salesmanago.emulator.app import SalesManagoEmulator

__all__ = ["SalesManagoEmulator"]
