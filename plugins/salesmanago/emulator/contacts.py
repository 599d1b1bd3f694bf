"""A contact as the API writes it (§2.5: one upsert body, checked whole before anything
changes) and as the API reads it (§2.6: `basic` without tags and properties, `list` with).

What targets.md leaves open is decided here, and documented in docs/salesmanago-plugin.md:
a key the API does not know is ignored; a text field sent as "" is cleared and one sent as
null or not sent is left as it is; `birthday: ""` clears the birthday; tags and properties
are only ever added (tags also removed with `removeTags`); an email is matched without case
and kept as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from integrate import Refusal, quoted, valid_email
from integrate_salesmanago.emulator.store import (
    ADDRESS_KEYS,
    CONTACTS,
    STATES,
    TEXT_FIELDS,
    Contact,
    Store,
    blank,
)


class Refused(Refusal):
    """SALESmanago refuses a call or one item of a batch: HTTP 200 (unless `status` says
    otherwise) with `success: false`, `message` its text, and `extra` what the method's answer
    carries beside it (`"contactId": null`)."""

    def __init__(self, message: str, *, status: int = 200, **extra: Any):
        super().__init__(status, message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"success": False, "message": [self.message], **self.extra}


def email_of(value: Any, what: str = "email") -> str:
    """A valid email, or the refusal SALESmanago answers."""
    if value is None or value == "":
        raise Refused(f"{what.capitalize()} is required")
    if not valid_email(value):
        raise Refused(f"Invalid {what}: {quoted(value)}")
    return str(value)


def tag_name(value: Any) -> str:
    """Tags are kept upper case with spaces as underscores (as the official SDK sends them)."""
    if not isinstance(value, str) or not value.strip():
        raise Refused(f"Invalid tag: {quoted(value)}")
    return "_".join(value.strip().upper().split())


@dataclass
class Upsert:
    """One upsert body (or one item of `upsertDetails`), checked."""

    email: str | None = None  # contact.email: who the contact is
    fields: dict[str, str | None] = field(default_factory=dict)  # text fields given
    address: dict[str, str | None] = field(default_factory=dict)
    birthday: tuple[int, int, int] | None = None
    clear_birthday: bool = False
    state: str | None = None
    new_email: str | None = None
    opt_in: bool = False
    opt_out: bool = False
    phone_opt_in: bool = False
    phone_opt_out: bool = False
    tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)


def parse(body: Any, *, property_max: int, needs_email: bool = True) -> Upsert:
    """The upsert body `body` as SALESmanago reads it, or Refused naming the first problem."""
    if not isinstance(body, Mapping):
        raise Refused("Invalid contact data: expected a JSON object")
    contact = body.get("contact")
    if contact is None:
        contact = {}
    if not isinstance(contact, Mapping):
        raise Refused("Invalid contact: expected a JSON object")
    out = Upsert()
    if needs_email or contact.get("email") not in (None, ""):
        out.email = email_of(contact.get("email"))
    for name in TEXT_FIELDS:
        source = contact if name in contact else body if name == "externalId" else {}
        if name in source:
            out.fields[name] = _text(source[name], name)
    if "state" in contact and contact["state"] is not None:
        state = contact["state"]
        if state not in STATES:
            raise Refused(f"Invalid state: {quoted(state)} (one of {', '.join(STATES)})")
        out.state = str(state)
    address = contact.get("address")
    if address is not None:
        if not isinstance(address, Mapping):
            raise Refused("Invalid address: expected a JSON object")
        for key in ADDRESS_KEYS:
            if key in address:
                out.address[key] = _text(address[key], f"address.{key}")
    for key in ("province", "lang"):
        if key in body:
            out.fields[key] = _text(body[key], key)
    birthday = body.get("birthday")
    if birthday == "":
        out.clear_birthday = True
    elif birthday is not None:
        out.birthday = _birthday(birthday)
    if body.get("newEmail") not in (None, ""):
        out.new_email = email_of(body["newEmail"], "new email")
    for flag in ("forceOptIn", "forceOptOut", "forcePhoneOptIn", "forcePhoneOptOut"):
        value = body.get(flag, False)
        if value is None:
            value = False
        if not isinstance(value, bool):
            raise Refused(f"Invalid {flag}: expected true or false")
    out.opt_in, out.opt_out = bool(body.get("forceOptIn")), bool(body.get("forceOptOut"))
    out.phone_opt_in = bool(body.get("forcePhoneOptIn"))
    out.phone_opt_out = bool(body.get("forcePhoneOptOut"))
    if out.opt_in and out.opt_out:
        raise Refused("Invalid consent: forceOptIn and forceOptOut cannot both be true")
    if out.phone_opt_in and out.phone_opt_out:
        raise Refused("Invalid consent: forcePhoneOptIn and forcePhoneOptOut cannot both be true")
    out.tags = _tags(body.get("tags"), "tags")
    out.remove_tags = _tags(body.get("removeTags"), "removeTags")
    out.properties = _properties(body.get("properties"), property_max)
    return out


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return _KEEP
    if value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Refused(f"Invalid {name}: expected text")
    return str(value)


# A text field sent as null: left as it is (filtered out before the change is made).
_KEEP = "\x00keep"


def _birthday(value: Any) -> tuple[int, int, int]:
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if len(text) == 8 and text.isdigit():
        try:
            day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
        else:
            return (day.year, day.month, day.day)
    raise Refused(f"Invalid birthday: {quoted(value)} (expected YYYYMMDD)")


def _tags(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused(f"Invalid {name}: expected a list of text")
    return [tag_name(v) for v in value]


def _properties(value: Any, limit: int) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Refused("Invalid properties: expected an object of text values")
    out: dict[str, str] = {}
    for key, item in value.items():
        if item is None or isinstance(item, Mapping | list):
            raise Refused(f"Invalid property {quoted(key)}: expected a text value")
        text = str(item).lower() if isinstance(item, bool) else str(item)
        if len(text) > limit:
            raise Refused(f"Property {quoted(key)} is too long (at most {limit} characters)")
        out[str(key)] = text
    return out


# ---- changes ----------------------------------------------------------------------------


def create(store: Store, upsert: Upsert, owner: str, now: int) -> Contact:
    assert upsert.email is not None
    return store.add(CONTACTS, applied(blank(upsert.email, owner), upsert, owner, now), now, now)


def applied(
    values: Mapping[str, Any], upsert: Upsert, owner: str | None, now: int
) -> dict[str, Any]:
    """A contact's values with the upsert's changes made (a copy: the caller compares it with
    the values it had). The caller has checked that a newEmail is free and sets it."""
    out = dict(values)
    for key in ("fields", "address", "tags", "properties"):
        out[key] = dict(values[key])
    if owner is not None:
        out["owner"] = owner
    for name, value in upsert.fields.items():
        if value != _KEEP:
            out["fields"][name] = value
    for key, value in upsert.address.items():
        if value != _KEEP:
            out["address"][key] = value
    if upsert.clear_birthday:
        out["birthday"] = None
    elif upsert.birthday is not None:
        out["birthday"] = list(upsert.birthday)
    if upsert.state is not None:
        out["state"] = upsert.state
    if upsert.opt_in or upsert.opt_out:
        out["optedOut"] = upsert.opt_out
    if upsert.phone_opt_in or upsert.phone_opt_out:
        out["optedOutPhone"] = upsert.phone_opt_out
    for tag in upsert.tags:
        out["tags"].setdefault(tag, now)
    for tag in upsert.remove_tags:
        out["tags"].pop(tag, None)
    out["properties"].update(upsert.properties)
    out["deleted"] = False  # an upsert brings a deleted contact back
    return out


def render(contact: Contact, *, full: bool) -> dict[str, Any]:
    """The read shape of §2.6 (plus `owner`, decided here); `full` adds `contactTags` and
    `properties`, as `list` answers (basic answers without them)."""
    values = contact.values
    year, month, day = values["birthday"] or (None, None, None)
    fields = values["fields"]
    out: dict[str, Any] = {
        "id": contact.id,
        "contactId": contact.id,
        "name": fields.get("name"),
        "email": values["email"],
        "phone": fields.get("phone"),
        "fax": fields.get("fax"),
        "company": fields.get("company"),
        "externalId": fields.get("externalId"),
        "state": values["state"],
        "score": 0,
        "optedOut": values["optedOut"],
        "optedOutPhone": values["optedOutPhone"],
        "deleted": values["deleted"],
        "invalid": False,
        "birthdayYear": year,
        "birthdayMonth": month,
        "birthdayDay": day,
        "address": dict(values["address"]),
        "createdOn": contact.created,
        "modifiedOn": contact.modified,
        "lastVisit": None,
        "owner": values["owner"],
    }
    if full:
        tags = values["tags"].items()
        out["contactTags"] = [{"tag": tag, "createdOn": at} for tag, at in tags]
        out["properties"] = [{"name": k, "value": v} for k, v in values["properties"].items()]
    return out


def as_written(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record in the read shape (or already in the write shape) as an upsert body: what a
    user's `seed` and `change` give."""
    if "contact" in record:
        return dict(record)
    contact = {
        k: record[k]
        for k in ("email", "name", "phone", "fax", "company", "externalId", "state", "address")
        if k in record
    }
    body: dict[str, Any] = {"contact": contact}
    for key in ("province", "lang", "newEmail"):
        if key in record:
            body[key] = record[key]
    if "birthday" in record:
        body["birthday"] = record["birthday"]
    elif record.get("birthdayYear"):
        body["birthday"] = (
            f"{record['birthdayYear']:04d}{record['birthdayMonth']:02d}{record['birthdayDay']:02d}"
        )
    if "optedOut" in record:
        body["forceOptOut"], body["forceOptIn"] = bool(record["optedOut"]), not record["optedOut"]
    if "optedOutPhone" in record:
        body["forcePhoneOptOut"] = bool(record["optedOutPhone"])
        body["forcePhoneOptIn"] = not record["optedOutPhone"]
    tags = record.get("tags", record.get("contactTags"))
    if tags:
        body["tags"] = [t["tag"] if isinstance(t, dict) else t for t in tags]
    properties = record.get("properties")
    if isinstance(properties, list):
        properties = {p["name"]: p["value"] for p in properties}
    if properties:
        body["properties"] = properties
    return body
