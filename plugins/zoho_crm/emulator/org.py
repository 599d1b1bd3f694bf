"""What a request handler works with: the org (data, watch channels, page tokens, settings)
and the call being answered."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from integrate_zoho_crm.emulator.catalogue import Module
from integrate_zoho_crm.emulator.errors import INVALID_DATA, ZohoError
from integrate_zoho_crm.emulator.paging import PageTokens
from integrate_zoho_crm.emulator.store import Row, Store, User
from integrate_zoho_crm.emulator.watch import Watch


@dataclass
class Call:
    """One API request, reduced to what handlers need."""

    method: str
    args: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    user: User
    now: float

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise ZohoError(400, "INVALID_DATA", INVALID_DATA, {"param_name": "body"}) from None


@dataclass
class Org:
    store: Store
    watch: Watch
    pages: PageTokens
    now: Callable[[], float]
    unique: dict[str, set[str]] = field(default_factory=dict)  # module -> unique fields
    triggers: list[tuple[str, str, Any]] = field(default_factory=list)
    # query signature -> (store version, rows in order): paging a big module by page_token
    # does not filter and sort every row again for every page
    listings: dict[str, tuple[int, list[Row]]] = field(default_factory=dict)
    # (module, fields) -> row id -> the row as listed, encoded, for one store version: a
    # record listed again (another page size, a second reader) is not rendered again
    encoded: dict[tuple[str, tuple[str, ...]], dict[str, bytes]] = field(default_factory=dict)
    encoded_version: int = -1

    def encode_rows(self, module: str, rows: list[Row], names: list[str]) -> bytes:
        """A JSON array of `rows` as Get Records lists them (the fields asked for, id and the
        `$`-keys)."""
        if self.encoded_version != self.store.version:
            self.encoded.clear()
            self.encoded_version = self.store.version
        done = self.encoded.setdefault((module, tuple(names)), {})
        store = self.store
        parts = []
        for row in rows:
            part = done.get(row.id)
            if part is None:
                part = orjson.dumps(store.render(row, names) | store.system_keys(row))
                done[row.id] = part
            parts.append(part)
        return b"[" + b",".join(parts) + b"]"

    def listing(self, key: str, make: Callable[[], list[Row]]) -> list[Row]:
        cached = self.listings.get(key)
        if cached is not None and cached[0] == self.store.version:
            return cached[1]
        rows = make()
        if len(self.listings) >= 16:
            self.listings.clear()
        self.listings[key] = (self.store.version, rows)
        return rows

    def unique_fields(self, module: Module) -> list[str]:
        return sorted(self.unique.get(module.api_name, ()))

    def module(self, name: str) -> Module:
        return self.store.modules[name]
