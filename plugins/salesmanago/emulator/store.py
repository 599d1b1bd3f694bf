"""The emulated account's contacts: the kit's record store with one module, `contacts`, its
ids SALESmanago's UUIDs (seeded, §2.6) and its email index (emails compare without case).

A contact is a `StoredRow` (created and modified in epoch millis) whose values are `email`,
`owner` (the owning user's email), `fields` (name, phone, fax, company, externalId, province,
lang: only those ever given), `address` (the four keys of §2.5), `birthday` ([year, month,
day] or None), `state`, `optedOut`, `optedOutPhone`, `deleted`, `tags` (each, upper case, to
the millis it was added) and `properties`: plain JSON, so the kit saves and restores it."""

from __future__ import annotations

from typing import Any

from integrate import RecordStore, StoredRow, seeded_uuid

CONTACTS = "contacts"
ADDRESS_KEYS = ("streetAddress", "zipCode", "city", "country")
TEXT_FIELDS = ("name", "phone", "fax", "company", "externalId")
STATES = ("CUSTOMER", "PROSPECT", "PARTNER", "OTHER", "UNKNOWN")

Contact = StoredRow


def blank(email: str, owner: str) -> dict[str, Any]:
    """A new contact's values: nothing but its email and owner."""
    return {
        "email": email,
        "owner": owner,
        "fields": {},
        "address": dict.fromkeys(ADDRESS_KEYS),
        "birthday": None,
        "state": None,
        "optedOut": False,
        "optedOutPhone": False,
        "deleted": False,
        "tags": {},
        "properties": {},
    }


class Store(RecordStore):
    """The contacts, by id and by email (casefolded)."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__((CONTACTS,))
        self.seed = seed
        self.by_email: dict[str, str] = {}

    def id_for(self, number: int) -> str:
        return seeded_uuid(f"salesmanago:{self.seed}:{number - 1}")

    def index(self, row: Contact) -> None:
        self.by_email[row.values["email"].casefold()] = row.id

    def unindex(self, row: Contact) -> None:
        email = row.values["email"].casefold()
        if self.by_email.get(email) == row.id:
            del self.by_email[email]

    def clear_indexes(self) -> None:
        self.by_email.clear()

    def contact(self, id: Any) -> Contact | None:
        return self.get(CONTACTS, id) if isinstance(id, str) else None

    def by_mail(self, email: Any) -> Contact | None:
        if not isinstance(email, str):
            return None
        id = self.by_email.get(email.casefold())
        return self.by_id.get(id) if id is not None else None

    def contacts(self) -> list[Contact]:
        return list(self.rows[CONTACTS].values())
