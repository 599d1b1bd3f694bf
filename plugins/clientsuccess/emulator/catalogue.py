"""The account's reference data (targets.md §3.3): client statuses (1 Active, 2 Onboarding,
3 Trial, 4 Terminated), client segments (`[{id, title}]`), employees, and the custom field
definitions of clients and of contacts, with the `customFieldValues` items a detail carries:
one per definition, in the item shape of §3.4, `value` null when unset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrate import ascii_slug

STATUSES: tuple[dict[str, Any], ...] = (
    {"id": 1, "code": "ACTIVE", "description": "Active"},
    {"id": 2, "code": "ONBOARDING", "description": "Onboarding"},
    {"id": 3, "code": "TRIAL", "description": "Trial"},
    {"id": 4, "code": "TERMINATED", "description": "Terminated"},
)
TERMINATED = 4
SEGMENTS = ("Enterprise", "Mid-Market", "SMB", "Partner")
EMPLOYEES = (
    ("Avery", "Quinn", "avery.quinn@clientsuccess.example", "Director of Customer Success"),
    ("Mateusz", "Wójcik", "mateusz.wojcik@clientsuccess.example", "Customer Success Manager"),
    ("Inès", "Laurent", "ines.laurent@clientsuccess.example", "Customer Success Manager"),
    ("Kwame", "Mensah", "kwame.mensah@clientsuccess.example", "Account Executive"),
    ("Yuki", "Tanaka", "yuki.tanaka@clientsuccess.example", "Onboarding Specialist"),
)


@dataclass(frozen=True)
class CustomField:
    """A custom field definition. `push`/`pull` are its sync direction flags (§3.4)."""

    id: int
    label: str
    type: str
    sequence: int
    push: bool = False
    pull: bool = True

    @property
    def key(self) -> str:
        return "_".join(ascii_slug(word) for word in self.label.split())


CLIENT_FIELDS = (
    CustomField(51, "Zoho Owner", "text", 1),
    CustomField(52, "Renewal Date", "date", 2),
    CustomField(53, "Contract Value", "currency", 3),
    CustomField(54, "Health Notes", "text", 4, push=True, pull=False),
)
CONTACT_FIELDS = (
    CustomField(61, "Zoho Contact Owner", "text", 1),
    CustomField(62, "Preferred Language", "text", 2),
    CustomField(63, "Newsletter", "boolean", 3, push=True, pull=True),
)


@dataclass(frozen=True)
class Catalogue:
    """The reference data one account holds: statuses, segments by id, employees by id and
    the two sets of custom field definitions."""

    segments: Mapping[int, str]
    employees: Mapping[int, Mapping[str, Any]]
    client_fields: tuple[CustomField, ...] = CLIENT_FIELDS
    contact_fields: tuple[CustomField, ...] = CONTACT_FIELDS

    @classmethod
    def of(cls, segments: Sequence[str]) -> Catalogue:
        employees = {
            n: {"id": n, "firstName": first, "lastName": last, "name": f"{first} {last}",
                "email": email, "title": title}
            for n, (first, last, email, title) in enumerate(EMPLOYEES, start=1)
        }  # fmt: skip
        return cls(dict(enumerate(segments, start=1)), employees)

    def status_ids(self) -> set[int]:
        return {int(s["id"]) for s in STATUSES}

    def employee_name(self, id: Any) -> str | None:
        found = self.employees.get(id) if isinstance(id, int) else None
        return None if found is None else str(found["name"])


def custom_values(
    fields: tuple[CustomField, ...], kept: Mapping[str, Any], owner: str, owner_id: int
) -> list[dict[str, Any]]:
    """A record's `customFieldValues`: one item per definition; `kept` maps a field's id (as
    text) to `[valueId, value]` for the values set. `owner` is `clientId` or `contactId`."""
    items = []
    for field in fields:
        value_id, value = kept.get(str(field.id)) or (None, None)
        items.append(
            {
                "id": value_id,
                owner: owner_id,
                "fieldId": field.id,
                "valueId": value_id,
                "key": field.key,
                "name": field.label,
                "label": field.label,
                "value": value,
                "type": field.type,
                "sequence": field.sequence,
                "autoSync": False,
                "push": field.push,
                "pull": field.pull,
            }
        )
    return items
