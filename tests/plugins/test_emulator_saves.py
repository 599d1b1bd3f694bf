"""A sandbox keeps each emulated system in a save file between runs. Every built-in emulator
keeps it in the emulation kit's format: a file of another format (a sandbox kept by an older
emulator) is refused with a `StateError` that says to start the sandbox over with --fresh,
which the CLI answers with exit 1 and that message, never a traceback. (The SALESmanago
emulator once kept its own file, and refused another version of it with a bare ValueError.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate.errors import StateError
from integrate_salesmanago.emulator import SalesManagoEmulator
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator

START = 1_790_000_000.0
EMULATORS = [
    (ZohoCrmEmulator, {"accounts": 1}, {"data_center": "com"}),
    (ServiceDeskMspEmulator, {"accounts": 1}, {}),
    (SalesManagoEmulator, {"contacts": 3}, {}),
]
IDS = ["zoho_crm", "servicedesk_msp", "salesmanago"]


@pytest.mark.parametrize(("cls", "options", "config"), EMULATORS, ids=IDS)
def test_a_save_of_another_format_is_refused_with_what_to_do(
    tmp_path: Path, cls: Any, options: dict[str, Any], config: dict[str, Any]
) -> None:
    clock = FakeClock(START)
    cls(clock=clock, **options).save(tmp_path)
    saved = tmp_path / f"{cls.plugin}.json"
    state = json.loads(saved.read_text(encoding="utf-8"))
    saved.write_text(json.dumps(state | {"version": state["version"] + 1}), encoding="utf-8")

    with pytest.raises(StateError) as refused:
        cls.restore(tmp_path, config, clock=clock)

    assert f"{saved} was written by another version of the emulator" in str(refused.value)
    assert "start the sandbox over with --fresh" in str(refused.value)


def test_a_salesmanago_sandbox_kept_before_the_emulation_kit_is_refused_with_what_to_do(
    tmp_path: Path,
) -> None:
    # The SALESmanago emulator's own file before the kit: format 1, contacts as its own rows.
    contact = {"id": "a1b2c3d4-0000-4000-8000-000000000001", "email": "jane@acme.example"}
    saved = tmp_path / "salesmanago.json"
    saved.write_text(
        json.dumps(
            {
                "version": 1,
                "settings": {"seed": 0, "server": "app3"},
                "users": ["sales@vendor.example"],
                "made": 1,
                "contacts": [contact],
            }
        ),
        encoding="utf-8",
    )

    with pytest.raises(StateError, match=r"format 1, this one reads 2\): start .* --fresh"):
        SalesManagoEmulator.restore(tmp_path, {}, clock=FakeClock(START))


def test_a_salesmanago_sandbox_keeps_its_users_and_contacts_and_hands_out_no_id_twice(
    tmp_path: Path,
) -> None:
    clock = FakeClock(START)
    emulator = SalesManagoEmulator(clock=clock, contacts=5, seed=4, server="app3")
    emulator.seed("users", [{"email": "new.user@vendor.example"}])
    [made] = emulator.seed("contacts", [{"email": "jane@acme.example", "tags": ["VIP"]}])
    emulator.delete("contacts", made["id"])  # marked deleted: kept, and read as deleted
    emulator.save(tmp_path)

    again = SalesManagoEmulator.restore(tmp_path, {}, clock=clock)

    assert again.records("users") == emulator.records("users")
    assert "new.user@vendor.example" in again.connection_config()["users"]
    assert again.records("contacts") == emulator.records("contacts")
    [fresh] = again.seed("contacts", [{"email": "fresh@acme.example"}])
    assert fresh["id"] not in {c["id"] for c in emulator.records("contacts")}
