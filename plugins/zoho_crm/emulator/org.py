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
    scopes: tuple[str, ...] = ()  # the access token's

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
    # API credits spent, by kind of call that has its own price (COQL: by LIMIT, §7)
    credits: dict[str, int] = field(default_factory=dict)
    # records answered, by kind of call (list pages, COQL rows)
    answered: dict[str, int] = field(default_factory=dict)

    def count_answered(self, kind: str, rows: int) -> None:
        self.answered[kind] = self.answered.get(kind, 0) + rows

    def encode_rows(self, module: str, rows: list[Row], names: list[str]) -> bytes:
        """A JSON array of `rows` as Get Records lists them (the fields asked for, id and the
        `$`-keys). A record listed again in the same version of the data (another page size,
        a second reader) is not rendered again."""
        done: dict[str, bytes] = self.store.kept(("encoded", module, tuple(names)), dict)
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
        """The rows of a query in order, kept until the data changes: paging a big module by
        page_token does not filter and sort every row again for every page."""
        return self.store.kept(("listing", key), make)

    def unique_fields(self, module: Module) -> list[str]:
        return sorted(self.unique.get(module.api_name, ()))

    def module(self, name: str) -> Module:
        return self.store.modules[name]
