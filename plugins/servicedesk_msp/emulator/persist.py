"""Keeping an emulated instance between sandbox runs: its settings, records, id counter and
OAuth client and tokens, as one JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integrate_servicedesk_msp.emulator.oauth import AccountsServer
from integrate_servicedesk_msp.emulator.store import Row, Store

FILE = "servicedesk_msp.json"
VERSION = 1


def dump(folder: Path, settings: dict[str, Any], store: Store, oauth: AccountsServer) -> None:
    state = {
        "version": VERSION,
        "settings": settings,
        "next_id": store.counter,
        "rows": [
            [r.module, r.id, r.values, r.created, r.modified]
            for rows in store.rows.values()
            for r in rows.values()
        ],
        "oauth": oauth.state(),
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")


def settings_in(folder: Path) -> dict[str, Any]:
    settings: dict[str, Any] = _read(folder)["settings"]
    return settings


def load(folder: Path, store: Store, oauth: AccountsServer) -> None:
    state = _read(folder)
    for rows in store.rows.values():
        rows.clear()
    store.by_id.clear()
    store.unique.clear()
    store.emails.clear()
    for module, id, values, created, modified in state["rows"]:
        store.put(Row(id, module, values, created, modified))
    store.counter = state["next_id"]
    oauth.load(state["oauth"])


def _read(folder: Path) -> dict[str, Any]:
    path = folder / FILE
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if state.get("version") != VERSION:
        raise ValueError(f"{path} was written by another version of the SDP MSP emulator")
    return state
