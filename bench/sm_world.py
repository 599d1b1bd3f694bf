"""Scenario SM's world: SALESmanago and Zoho CRM holding the same people, each linked by
email; a round's edits (1% of the people on each side, some on both sides in different
fields); and each side's records seen as people, checked against what they should be.

The world is built in process on a fake clock and saved, and the served emulators start
from it (`bench/emulated.py --restore`): Zoho's records then carry modification times
spread over seconds, as a real org's do (seeding on the real clock would give thousands of
records one second, which Zoho's read by key must page inside).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

# What a round edits, in turn, as the people's fields (the same names on both sides here).
EDITED = ("phone", "name", "city", "opted_out", "fax")
COMMON = ("email", "name", "phone", "fax", "street", "zip", "city", "country", "opted_out", "owner")
CITIES = ("Gdańsk", "Poznań", "Kraków", "Bielsko-Biała", "Zielona Góra")
SEED_PER_SECOND = 25  # Zoho records made per second of the fake clock while seeding
# Zoho's address fields by module (Leads carry Street..., Contacts Mailing_...).
ADDRESS = {
    "Leads": {"street": "Street", "zip": "Zip_Code", "city": "City", "country": "Country"},
    "Contacts": {
        "street": "Mailing_Street",
        "zip": "Mailing_Zip",
        "city": "Mailing_City",
        "country": "Mailing_Country",
    },
}


def build(folder: Path, contacts: int, seed: int = 11) -> dict[str, Any]:
    """Make the world in `folder` (`salesmanago.json`, `zoho_crm.json`): SALESmanago's
    generated contacts (owned by the Zoho org's users, whose emails the SALESmanago account's
    users share), and for each the same person in Zoho, a Contact for a CUSTOMER and a Lead
    for any other state. Everything happens on a fake clock that ends before now."""
    from integrate import FakeClock
    from integrate_salesmanago.emulator import SalesManagoEmulator
    from integrate_zoho_crm.emulator import ZohoCrmEmulator

    span = contacts // SEED_PER_SECOND + 10
    clock = FakeClock(float(int(time.time()) - 2 * 86_400 - span))
    crm = ZohoCrmEmulator(clock=clock, data_center="eu", seed=seed, users=3)
    users = {u.email: u.id for u in crm.org.store.users}
    sm = SalesManagoEmulator(
        clock=clock, server="app3", seed=seed, users=list(users), contacts=contacts
    )
    people = sm.records("contacts")
    modules: dict[str, int] = {"Leads": 0, "Contacts": 0}
    for at in range(0, len(people), SEED_PER_SECOND):
        clock.advance(1.0)
        chunk = [zoho_record(c, users) for c in people[at : at + SEED_PER_SECOND]]
        for module in modules:
            rows = [values for m, values in chunk if m == module]
            if rows:
                crm.seed(module, rows)
                modules[module] += len(rows)
    folder.mkdir(parents=True, exist_ok=True)
    sm.save(folder)
    crm.save(folder)
    owner = sm.users[0]
    config = {**sm.connection_config(), **crm.connection_config()}
    sm.close()
    crm.close()
    return {
        "contacts": len(people),
        "modules": modules,
        "users": list(users),
        "owner": owner,
        "default_owner_id": users[owner],
        "data_center": config["data_center"],
    }


def zoho_record(contact: Mapping[str, Any], users: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """The person of a SALESmanago contact as Zoho holds it: its module and values."""
    module = "Contacts" if contact.get("state") == "CUSTOMER" else "Leads"
    words = str(contact.get("name") or "").split()
    address = contact.get("address") or {}
    values: dict[str, Any] = {
        "First_Name": words[0] if len(words) > 1 else None,
        "Last_Name": " ".join(words[1:]) if len(words) > 1 else (words[0] if words else "-"),
        "Email": contact["email"],
        "Phone": contact.get("phone"),
        "Fax": contact.get("fax"),
        "Email_Opt_Out": bool(contact.get("optedOut")),
        "Owner": {"id": users[str(contact["owner"])]},
    }
    names = ADDRESS[module]
    for key, sm_key in (
        ("street", "streetAddress"),
        ("zip", "zipCode"),
        ("city", "city"),
        ("country", "country"),
    ):
        values[names[key]] = address.get(sm_key)
    return module, {k: v for k, v in values.items() if v is not None}


# ---- each side's records as people ----------------------------------------------------------


def _text(value: Any) -> Any:
    return None if value in ("", None) else value


def sm_person(contact: Mapping[str, Any]) -> dict[str, Any]:
    """A SALESmanago contact as a person (what the bench spec syncs), with its id and state."""
    address = contact.get("address") or {}
    return {
        "email": str(contact["email"]).casefold(),
        "name": _text(contact.get("name")),
        "phone": _text(contact.get("phone")),
        "fax": _text(contact.get("fax")),
        "street": _text(address.get("streetAddress")),
        "zip": _text(address.get("zipCode")),
        "city": _text(address.get("city")),
        "country": _text(address.get("country")),
        "opted_out": bool(contact.get("optedOut")),
        "owner": str(contact.get("owner") or "").casefold(),
        "id": contact["id"],
        "state": contact.get("state"),
        "modified": contact.get("modifiedOn"),
    }


def crm_person(record: Mapping[str, Any], module: str) -> dict[str, Any]:
    """A Zoho Lead or Contact as a person, with its id, module and Modified_Time."""
    names = ADDRESS[module]
    owner = record.get("Owner") or {}
    name = " ".join(p for p in (record.get("First_Name"), record.get("Last_Name")) if p)
    return {
        "email": str(record.get("Email") or "").casefold(),
        "name": name or None,
        "phone": _text(record.get("Phone")),
        "fax": _text(record.get("Fax")),
        **{key: _text(record.get(field)) for key, field in names.items()},
        "opted_out": bool(record.get("Email_Opt_Out")),
        "owner": str(owner.get("email") or "").casefold(),
        "id": record["id"],
        "module": module,
        "modified": record.get("Modified_Time"),
    }


def people(
    sm: Iterable[Mapping[str, Any]], crm: Mapping[str, Iterable[Mapping[str, Any]]]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Both sides as people by email: (SALESmanago's, Zoho's)."""
    left = {p["email"]: p for p in map(sm_person, sm)}
    right = {
        p["email"]: p
        for module, records in crm.items()
        for p in (crm_person(r, module) for r in records)
        if p["email"]
    }
    return left, right


# ---- a round's edits ------------------------------------------------------------------------


def plan_edits(
    linked: Sequence[Mapping[str, Any]], round: int, share: float = 0.01
) -> list[dict[str, Any]]:
    """`share` of the people edited on each side (at least one), different people and fields
    each round: on SALESmanago every 100th person from `round`, on Zoho every 100th from
    `round + 50`, except that a fifth of Zoho's edits fall on people SALESmanago's edits
    touched, in another field. `linked`: the people in a fixed order (by email)."""
    count = max(1, round_half(len(linked) * share))
    step = max(1, len(linked) // count)
    on_sm = [linked[(round + i * step) % len(linked)] for i in range(count)]
    both = count // 5
    others = [linked[(round + step // 2 + i * step) % len(linked)] for i in range(count - both)]
    edits = []
    for k, person in enumerate(on_sm):
        edits.append(_edit("sm", person, EDITED[k % len(EDITED)], round, k))
    for k, person in enumerate(on_sm[:both]):
        edits.append(_edit("crm", person, EDITED[(k + 2) % len(EDITED)], round, k))
    for k, person in enumerate(others):
        edits.append(_edit("crm", person, EDITED[k % len(EDITED)], round, both + k))
    return edits


def round_half(value: float) -> int:
    return int(value + 0.5)


def _edit(side: str, person: Mapping[str, Any], field: str, round: int, k: int) -> dict[str, Any]:
    value: Any
    if field == "phone":
        value = f"+48 601 {round:03d} {k:03d}"
    elif field == "fax":
        value = f"+48 22 {round:03d} {k:02d}"
    elif field == "city":
        value = CITIES[round % len(CITIES)]
        if value == person.get("city"):
            value = CITIES[(round + 1) % len(CITIES)]
    elif field == "opted_out":
        value = not person["opted_out"]
    else:
        first = str(person.get("name") or "").split()[:1]
        value = " ".join([*first, f"Zmieniony{round}x{k}"])
    return {"side": side, "email": person["email"], "field": field, "value": value}


def change_of(
    edit: Mapping[str, Any], person: Mapping[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """The user's edit as the emulator's `change` takes it: (object, id, values)."""
    field, value = edit["field"], edit["value"]
    if edit["side"] == "sm":
        values: dict[str, Any] = {
            "phone": {"phone": value},
            "fax": {"fax": value},
            "name": {"name": value},
            "city": {"address": {"city": value}},
            "opted_out": {"optedOut": value},
        }[field]
        return "contacts", person["id"], values
    module = person["module"]
    if field == "name":
        words = str(value).split()
        values = {"Last_Name": " ".join(words[1:]) if len(words) > 1 else value}
    else:
        name = {"phone": "Phone", "fax": "Fax", "opted_out": "Email_Opt_Out"}.get(field)
        values = {name or ADDRESS[module]["city"]: value}
    return module, person["id"], values


def expected(
    base: Mapping[str, Mapping[str, Any]], edits: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The people as both sides should hold them once a run has carried the edits over."""
    out = {email: {k: p[k] for k in COMMON} for email, p in base.items()}
    for edit in edits:
        out[edit["email"]][edit["field"]] = edit["value"]
    return out


def differences(
    side: str,
    found: Mapping[str, Mapping[str, Any]],
    want: Mapping[str, Mapping[str, Any]],
    limit: int = 5,
) -> list[str]:
    """Person by person, where `found` (one side's people) is not `want`: missing people,
    people too many, fields that differ (the first `limit` of each, and how many in all)."""
    wrong = []
    missing = sorted(set(want) - set(found))
    extra = sorted(set(found) - set(want))
    if missing:
        wrong.append(f"{side}: {len(missing)} people missing ({', '.join(missing[:limit])})")
    if extra:
        wrong.append(f"{side}: {len(extra)} people too many ({', '.join(extra[:limit])})")
    fields = []
    for email in sorted(set(want) & set(found)):
        for key in COMMON:
            if found[email][key] != want[email][key]:
                fields.append(f"{email} {key} {found[email][key]!r} (want {want[email][key]!r})")
    if fields:
        wrong.append(f"{side}: {len(fields)} fields differ: {'; '.join(fields[:limit])}")
    return wrong
