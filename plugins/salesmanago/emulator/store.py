"""The emulated account's contacts: rows with their values as SALESmanago keeps them, the
email index (emails compare without case), ids handed out as seeded UUIDs, and the listing
by modification time that the modified-contacts methods answer from."""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ADDRESS_KEYS = ("streetAddress", "zipCode", "city", "country")
TEXT_FIELDS = ("name", "phone", "fax", "company", "externalId")
STATES = ("CUSTOMER", "PROSPECT", "PARTNER", "OTHER", "UNKNOWN")


@dataclass
class Contact:
    """One contact. `birthday` is (year, month, day) or None; `tags` maps each tag (upper
    case) to the millis it was added; `owner` is the email of the owning user."""

    id: str
    email: str
    owner: str
    created: int  # epoch millis
    modified: int
    values: dict[str, Any] = field(default_factory=dict)  # name, phone, fax, company, ...
    address: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(ADDRESS_KEYS))
    birthday: tuple[int, int, int] | None = None
    state: str | None = None
    opted_out: bool = False
    opted_out_phone: bool = False
    deleted: bool = False
    tags: dict[str, int] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)

    def state_tuple(self) -> tuple[Any, ...]:
        """Everything a change can touch, to tell whether an upsert changed anything."""
        return (
            self.email,
            self.owner,
            tuple(sorted(self.values.items())),
            tuple(self.address.items()),
            self.birthday,
            self.state,
            self.opted_out,
            self.opted_out_phone,
            self.deleted,
            tuple(self.tags),
            tuple(sorted(self.properties.items())),
        )


class Store:
    """The contacts, by id and by email (casefolded), and their order by modification."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.by_id: dict[str, Contact] = {}
        self.by_email: dict[str, str] = {}
        self.made = 0  # ids handed out so far (the next id is derived from it)
        self.version = 0  # moves on with every change (the listing cache compares it)
        self._order: tuple[int, list[tuple[int, str]], list[int]] | None = None

    # ---- ids --------------------------------------------------------------------------

    def new_id(self) -> str:
        """A UUID (version 4 shape), the same for the same seed and count."""
        rng = random.Random(f"salesmanago:{self.seed}:{self.made}")
        self.made += 1
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    # ---- changes ----------------------------------------------------------------------

    def put(self, contact: Contact) -> Contact:
        self.version += 1
        old = self.by_id.get(contact.id)
        if old is not None and self.by_email.get(old.email.casefold()) == old.id:
            del self.by_email[old.email.casefold()]
        self.by_id[contact.id] = contact
        self.by_email[contact.email.casefold()] = contact.id
        return contact

    def rename(self, contact: Contact, email: str) -> None:
        """A contact's email changes (newEmail)."""
        self.version += 1
        if self.by_email.get(contact.email.casefold()) == contact.id:
            del self.by_email[contact.email.casefold()]
        contact.email = email
        self.by_email[email.casefold()] = contact.id

    def touched(self) -> None:
        """A contact's values changed in place."""
        self.version += 1

    def remove(self, contact: Contact) -> None:
        self.version += 1
        self.by_id.pop(contact.id, None)
        if self.by_email.get(contact.email.casefold()) == contact.id:
            del self.by_email[contact.email.casefold()]

    def clear(self) -> None:
        self.version += 1
        self.by_id.clear()
        self.by_email.clear()

    # ---- reads ------------------------------------------------------------------------

    def get(self, id: Any) -> Contact | None:
        return self.by_id.get(id) if isinstance(id, str) else None

    def by_mail(self, email: Any) -> Contact | None:
        if not isinstance(email, str):
            return None
        id = self.by_email.get(email.casefold())
        return self.by_id.get(id) if id is not None else None

    def window(self, start: int, end: int, *, created: bool = False) -> list[Contact]:
        """Contacts modified (or created) from `start` to `end` millis, both included, in
        that time's order, then by id: the order of the modified-contacts listings."""
        if end < start:
            return []
        keys, times = self._sorted(created)
        low = bisect.bisect_left(times, start)
        high = bisect.bisect_right(times, end)
        return [self.by_id[id] for _at, id in keys[low:high]]

    def in_creation_order(self) -> list[Contact]:
        return sorted(self.by_id.values(), key=lambda c: (c.created, c.id))

    def _sorted(self, created: bool) -> tuple[list[tuple[int, str]], list[int]]:
        """The (time, id) keys sorted, and their times, kept until the next change."""
        cached = self._order
        tag = self.version * 2 + int(created)
        if cached is not None and cached[0] == tag:
            return cached[1], cached[2]
        keys = sorted(((c.created if created else c.modified), c.id) for c in self.by_id.values())
        times = [k[0] for k in keys]
        self._order = (tag, keys, times)
        return keys, times

    def contacts(self) -> Iterable[Contact]:
        return self.by_id.values()
