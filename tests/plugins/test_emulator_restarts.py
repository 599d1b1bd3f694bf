"""A sandbox run restores its emulators from the last run's save. A restored emulator's
accounts server goes on from where it stood: it never hands out an access token it handed
out before the restart (before the emulation kit, its token generator started again from
its seed, and the first refresh after a restart minted the very first token once more)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import FakeClock
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator

START = 1_790_000_000.0
TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"


def refreshed(emulator: Any) -> str:
    params = {
        "grant_type": "refresh_token",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "refresh_token": emulator.refresh_token,
    }
    with httpx.Client(transport=emulator.transport()) as http:
        token: str = http.post(TOKEN_URL, params=params).json()["access_token"]
    return token


@pytest.mark.parametrize(
    ("cls", "options", "config"),
    [
        (ZohoCrmEmulator, {"accounts": 1}, {"data_center": "com"}),
        (ServiceDeskMspEmulator, {"deployment": "cloud"}, {"deployment": "cloud"}),
    ],
    ids=["zoho_crm", "servicedesk_msp"],
)
def test_a_restored_emulator_never_hands_out_a_token_it_handed_out_before(
    tmp_path: Path, cls: Any, options: dict[str, Any], config: dict[str, Any]
) -> None:
    clock = FakeClock(START)
    emulator = cls(clock=clock, **options)
    before = {refreshed(emulator) for _ in range(3)}
    emulator.save(tmp_path)

    again = cls.restore(tmp_path, config, clock=clock)
    after = {refreshed(again) for _ in range(3)}

    assert before.isdisjoint(after)
