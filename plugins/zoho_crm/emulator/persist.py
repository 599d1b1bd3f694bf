"""Keeping an emulated org between sandbox runs: its records, users, deleted log, file
contents, OAuth client and tokens, and watch channels, as one JSON file."""

from __future__ import annotations

import base64
import json
from collections import deque
from dataclasses import asdict
from pathlib import Path
from typing import Any

from integrate_zoho_crm.emulator.oauth import Access, AccountsServer, Code, Grant
from integrate_zoho_crm.emulator.store import Deleted, Row, Store, User
from integrate_zoho_crm.emulator.watch import Channel, Watch

FILE = "zoho_crm.json"
VERSION = 1


def dump(
    folder: Path, settings: dict[str, Any], store: Store, oauth: AccountsServer, watch: Watch
) -> None:
    blobs = {
        key: {"seed": blob} if isinstance(blob, int) else {"bytes": base64.b64encode(blob).decode()}
        for key, blob in store.blobs.items()
    }
    state = {
        "version": VERSION,
        "settings": settings,
        "next_id": store.counter,
        "users": [asdict(u) for u in store.users],
        "rows": [
            [r.module, r.id, r.values, r.created, r.modified]
            for module in store.rows.values()
            for r in module.values()
        ],
        "deleted": [asdict(d) for entries in store.deleted.values() for d in entries],
        "blobs": blobs,
        "oauth": {
            "client_id": oauth.client_id,
            "client_secret": oauth.client_secret,
            "refresh_token": oauth.refresh_token,
            "grants": [
                asdict(g) | {"issued": list(g.issued), "live": list(g.live)}
                for g in oauth.grants.values()
            ],
            "tokens": [asdict(t) for t in oauth.tokens.values()],
            "codes": {code: asdict(c) for code, c in oauth.codes.items()},
        },
        "channels": [asdict(c) for c in watch.channels.values()],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE).write_text(json.dumps(state, ensure_ascii=False))


def settings_in(folder: Path) -> dict[str, Any]:
    state = _read(folder)
    settings: dict[str, Any] = state["settings"]
    return settings


def load(folder: Path, store: Store, oauth: AccountsServer, watch: Watch) -> None:
    state = _read(folder)
    store.users[:] = [User(**u) for u in state["users"]]
    store.user_by_id.clear()
    store.user_by_id.update({u.id: u for u in store.users})
    for rows in store.rows.values():
        rows.clear()
    store.by_id.clear()
    store.children.clear()
    for module, id, values, created, modified in state["rows"]:
        store.put(Row(id, module, values, created, modified))
    for entries in store.deleted.values():
        entries.clear()
    for entry in state["deleted"]:
        store.deleted[entry["module"]].append(Deleted(**entry))
    store.blobs = {
        key: blob["seed"] if "seed" in blob else base64.b64decode(blob["bytes"])
        for key, blob in state["blobs"].items()
    }
    store.counter = state["next_id"]
    auth = state["oauth"]
    oauth.client_id = auth["client_id"]
    oauth.client_secret = auth["client_secret"]
    oauth.refresh_token = auth["refresh_token"]
    oauth.grants = {}
    for grant in auth["grants"]:
        grant["scopes"] = tuple(grant["scopes"])
        grant["issued"] = deque(grant["issued"])
        grant["live"] = deque(grant["live"])
        oauth.grants[grant["token"]] = Grant(**grant)
    oauth.tokens = {
        t["token"]: Access(**(t | {"scopes": tuple(t["scopes"])})) for t in auth["tokens"]
    }
    oauth.codes = {
        code: Code(**(c | {"scopes": tuple(c["scopes"])})) for code, c in auth["codes"].items()
    }
    watch.channels = {c["channel_id"]: Channel(**c) for c in state["channels"]}


def _read(folder: Path) -> dict[str, Any]:
    path = folder / FILE
    state: dict[str, Any] = json.loads(path.read_text())
    if state.get("version") != VERSION:
        raise ValueError(f"{path} was written by another version of the Zoho CRM emulator")
    return state
