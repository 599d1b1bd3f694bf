"""Keeping an emulated account between sandbox runs: its settings, users, contacts and id
counter, as one JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integrate_salesmanago.emulator.store import Contact, Store

FILE = "salesmanago.json"
VERSION = 1


def dump(folder: Path, settings: dict[str, Any], users: list[str], store: Store) -> None:
    state = {
        "version": VERSION,
        "settings": settings,
        "users": users,
        "made": store.made,
        "contacts": [
            {
                "id": c.id,
                "email": c.email,
                "owner": c.owner,
                "created": c.created,
                "modified": c.modified,
                "values": c.values,
                "address": c.address,
                "birthday": list(c.birthday) if c.birthday else None,
                "state": c.state,
                "opted_out": c.opted_out,
                "opted_out_phone": c.opted_out_phone,
                "deleted": c.deleted,
                "tags": c.tags,
                "properties": c.properties,
            }
            for c in store.contacts()
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")


def settings_in(folder: Path) -> dict[str, Any]:
    settings: dict[str, Any] = _read(folder)["settings"]
    return settings


def load(folder: Path, store: Store) -> list[str]:
    """Fill `store` with the kept contacts; returns the kept users."""
    state = _read(folder)
    store.clear()
    for row in state["contacts"]:
        birthday = row.get("birthday")
        store.put(
            Contact(
                id=row["id"],
                email=row["email"],
                owner=row["owner"],
                created=row["created"],
                modified=row["modified"],
                values=dict(row["values"]),
                address=dict(row["address"]),
                birthday=(birthday[0], birthday[1], birthday[2]) if birthday else None,
                state=row["state"],
                opted_out=row["opted_out"],
                opted_out_phone=row["opted_out_phone"],
                deleted=row["deleted"],
                tags=dict(row["tags"]),
                properties=dict(row["properties"]),
            )
        )
    store.made = state["made"]
    return list(state["users"])


def _read(folder: Path) -> dict[str, Any]:
    path = folder / FILE
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if state.get("version") != VERSION:
        raise ValueError(f"{path} was written by another version of the SALESmanago emulator")
    return state
