"""The ServiceDesk Plus MSP emulator: SDP MSP's REST API v3 (on-premises and cloud) and, for
the cloud, Zoho's accounts server, in process."""

from __future__ import annotations

from integrate_servicedesk_msp.emulator.app import ServiceDeskMspEmulator

__all__ = ["ServiceDeskMspEmulator"]
