"""The account's clients and contacts: the kit's record store with two modules whose ids are
whole numbers from one counter (so a contact id is unique across clients, §3.3), an index of
clients by `externalId` (exact, case-sensitive) and of each client's contacts.

A row's values are the record's writable fields in the read shape's names, plus `uuid`,
`custom` (a field id as text to `[valueId, value]`, for the custom values set) and, on a
contact, `clientId`: plain JSON, so the kit saves and restores it. Times are epoch millis."""

from __future__ import annotations

import hashlib
import string
from typing import Any

from integrate import RecordStore, StoredRow

CLIENTS = "clients"
CONTACTS = "contacts"
ALPHABET = string.ascii_lowercase + string.digits
FIRST_ID = 90_337_000  # ids in the range the vendor's look like (ASSUMED)


class Store(RecordStore):
    """Clients by id and by externalId, and each client's contacts in the order made."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__((CLIENTS, CONTACTS), last_id=FIRST_ID)
        self.seed = seed
        self.by_external: dict[str, str] = {}
        self.contacts_of: dict[str, dict[str, None]] = {}

    def uuid_for(self, module: str, id: str) -> str:
        """A record's `uuid` as the vendor writes them (`cln_` or `cnt_` and eight letters or
        digits), the same for the same seed and id."""
        digest = hashlib.blake2b(f"clientsuccess:{self.seed}:{id}".encode(), digest_size=6)
        number = int.from_bytes(digest.digest(), "big")
        tail = []
        for _ in range(8):
            number, at = divmod(number, 36)
            tail.append(ALPHABET[at])
        return ("cln_" if module == CLIENTS else "cnt_") + "".join(tail)

    def make(self, module: str, values: dict[str, Any], now: int) -> StoredRow:
        """A new record of `module`, with the next id and its uuid, made at `now`."""
        id = self.new_id()
        values["uuid"] = self.uuid_for(module, id)
        return self.put(StoredRow(id, module, values, now, now))

    def index(self, row: StoredRow) -> None:
        if row.module == CLIENTS:
            external = row.values.get("externalId")
            if external:  # an empty one is no external id: neither unique nor found
                self.by_external[external] = row.id
            self.contacts_of.setdefault(row.id, {})
        else:
            self.contacts_of.setdefault(str(row.values["clientId"]), {})[row.id] = None

    def unindex(self, row: StoredRow) -> None:
        if row.module == CLIENTS:
            external = row.values.get("externalId")
            if external and self.by_external.get(external) == row.id:
                del self.by_external[external]
        else:
            self.contacts_of.get(str(row.values["clientId"]), {}).pop(row.id, None)

    def clear_indexes(self) -> None:
        self.by_external.clear()
        self.contacts_of.clear()

    def client(self, id: Any) -> StoredRow | None:
        """The client whose id is `id` (a path segment or a number), or None."""
        return self.get(CLIENTS, str(id)) if _an_id(id) else None

    def contact(self, id: Any) -> StoredRow | None:
        return self.get(CONTACTS, str(id)) if _an_id(id) else None

    def external(self, external_id: str) -> StoredRow | None:
        found = self.by_external.get(external_id)
        return None if found is None else self.by_id.get(found)

    def contacts(self, client: StoredRow) -> list[StoredRow]:
        return [self.by_id[c] for c in self.contacts_of.get(client.id, {})]

    def clients(self) -> list[StoredRow]:
        """Every client, by id."""
        return sorted(self.rows[CLIENTS].values(), key=lambda r: int(r.id))


def _an_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18
