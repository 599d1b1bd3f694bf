"""The Zoho CRM emulator: Zoho CRM v8 and its accounts server, in process."""

from __future__ import annotations

from integrate_zoho_crm.emulator.app import ZohoCrmEmulator

__all__ = ["ZohoCrmEmulator"]
