"""A SALESmanago contact as specs see it, and back.

Read (§2.6): the `list` shape as SALESmanago gives it, with three changes so that every field
a spec maps both ways reads as it is written: `birthday` is added as `YYYYMMDD` text (made
from birthdayYear/Month/Day; null when any is missing), `tags` is the list of tag names
(from `contactTags`), `properties` an object of name: value (from a list of {name, value}).

Written (§2.5): one item of `upsertDetails` per record: the contact's fields inside
`contact`, `birthday`, `province`, `lang`, `tags` and `properties` beside it, consent as the
four force flags (all false: consent left as it is), `newEmail` when an update changes the
email, `removeTags` for the tags an update drops.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrate import FieldInfo, Record, merge_values
from integrate_salesmanago.settings import Settings

CONTACT_FIELDS = ("email", "name", "phone", "fax", "company", "externalId", "state")
ADDRESS_KEYS = ("streetAddress", "zipCode", "city", "country")
TOP_FIELDS = ("province", "lang")
READ_ONLY = (
    *("id", "contactId", "score", "deleted", "invalid", "lastVisit"),
    *("birthdayYear", "birthdayMonth", "birthdayDay", "createdOn", "modifiedOn"),
)
WRITTEN = (
    *CONTACT_FIELDS,
    *TOP_FIELDS,
    *("address", "birthday", "optedOut", "optedOutPhone", "tags", "properties", "owner"),
)
CATALOGUE: dict[str, FieldInfo] = {
    **{name: FieldInfo(name, read_only=True) for name in READ_ONLY},
    **{name: FieldInfo(name) for name in WRITTEN},
    "email": FieldInfo("email", type="email", required=True),
    "birthday": FieldInfo("birthday", type="text", label="YYYYMMDD"),
    "optedOut": FieldInfo("optedOut", type="boolean"),
    "optedOutPhone": FieldInfo("optedOutPhone", type="boolean"),
    "address": FieldInfo("address", type="object", label="streetAddress, zipCode, city, country"),
    "tags": FieldInfo("tags", type="array"),
    "properties": FieldInfo("properties", type="object"),
    "modifiedOn": FieldInfo("modifiedOn", type="datetime", read_only=True),
    "createdOn": FieldInfo("createdOn", type="datetime", read_only=True),
}
USER_CATALOGUE = {"id": FieldInfo("id", read_only=True), "email": FieldInfo("email")}


class Unwritable(ValueError):
    """A record's values cannot be sent as they are (the message says which and why)."""


def as_read(contact: Mapping[str, Any], settings: Settings) -> Record:
    """A contact from `list`/`listById` as specs see it (see the module's docstring)."""
    out = dict(contact)
    if not out.get("id") and out.get("contactId"):
        out["id"] = out["contactId"]
    out["birthday"] = _birthday_text(
        out.get("birthdayYear"), out.get("birthdayMonth"), out.get("birthdayDay")
    )
    tags = out.pop(settings.tags_key, None) if settings.tags_key != "tags" else out.get("tags")
    out["tags"] = [name for t in tags or [] if (name := _tag(t))]
    properties = out.get(settings.properties_key)
    if settings.properties_key != "properties":
        out.pop(settings.properties_key, None)
    out["properties"] = _properties(properties)
    owner = out.get(settings.owner_key)
    if settings.owner_key != "owner":
        out.pop(settings.owner_key, None)
    out["owner"] = owner
    return out


def _birthday_text(year: Any, month: Any, day: Any) -> str | None:
    """YYYYMMDD from the three numbers SALESmanago reads back (null when one is missing)."""
    parts = []
    for part in (year, month, day):
        if isinstance(part, bool) or not isinstance(part, int | str) or not str(part).isdigit():
            return None
        parts.append(int(part))
    return f"{parts[0]:04d}{parts[1]:02d}{parts[2]:02d}"


def _tag(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("tag", "tagName", "name"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


def _properties(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value or []:
        if isinstance(item, Mapping) and "name" in item:
            out[str(item["name"])] = item.get("value")
    return out


def upsert_item(values: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """One `upsertDetails` item for a record: `values` to write, `current` the contact as
    read (an update) or None (a create). Raises Unwritable for values SALESmanago cannot
    take in this form."""
    given = {k: v for k, v in values.items() if not k.startswith("$")}
    unknown = sorted(k for k in given if k not in WRITTEN)
    if unknown:
        raise Unwritable(f"SALESmanago contacts have no field {', '.join(unknown)}")
    email = given.get("email")
    if current is not None:
        email = current.get("email") or email
    contact: dict[str, Any] = {"email": email}
    item: dict[str, Any] = {"contact": contact}
    for name in CONTACT_FIELDS[1:]:
        if name in given:
            contact[name] = _text(given[name])
    for name in TOP_FIELDS:
        if name in given:
            item[name] = _text(given[name])
    if current is not None and given.get("email") not in (None, current.get("email")):
        item["newEmail"] = given["email"]
    if "address" in given:
        address = given["address"]
        if address is not None and not isinstance(address, Mapping):
            raise Unwritable("address must be an object of streetAddress, zipCode, city, country")
        whole = merge_values(dict((current or {}).get("address") or {}), dict(address or {}))
        contact["address"] = {k: _text(whole.get(k)) for k in ADDRESS_KEYS}
    if "birthday" in given:
        item["birthday"] = _birthday(given["birthday"])
    item.update(_consent(given, "optedOut", "forceOptIn", "forceOptOut"))
    item.update(_consent(given, "optedOutPhone", "forcePhoneOptIn", "forcePhoneOptOut"))
    if "tags" in given:
        tags = given["tags"] or []
        if not isinstance(tags, list):
            raise Unwritable("tags must be a list of tag names")
        item["tags"] = [str(t) for t in tags]
        if current is not None:
            wanted = {_norm(t) for t in tags}
            item["removeTags"] = [t for t in current.get("tags") or [] if _norm(t) not in wanted]
    if "properties" in given and given["properties"] is not None:
        if not isinstance(given["properties"], Mapping):
            raise Unwritable("properties must be an object of name: value")
        item["properties"] = {str(k): _text(v) for k, v in given["properties"].items()}
    return item


def _text(value: Any) -> Any:
    """A text value as sent: null clears it (sent as "", which SALESmanago empties)."""
    return "" if value is None else value


def _birthday(value: Any) -> str:
    """YYYYMMDD as SALESmanago takes it (YYYY-MM-DD is accepted and reformatted); "" clears."""
    if value is None or value == "":
        return ""
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        text = text.replace("-", "")
    return text


def _consent(given: Mapping[str, Any], field: str, opt_in: str, opt_out: str) -> dict[str, bool]:
    """The force flags for one consent: opted out -> (false, true), opted in -> (true, false),
    not given (or null) -> both false, which leaves consent as it is (§2.8 gotcha 5)."""
    value = given.get(field)
    if value is None:
        return {opt_in: False, opt_out: False}
    return {opt_in: not bool(value), opt_out: bool(value)}


def _norm(tag: Any) -> str:
    """A tag as SALESmanago keeps it: upper case, spaces as underscores."""
    return "_".join(str(tag).strip().upper().split())


def owner_of(values: Mapping[str, Any], current: Mapping[str, Any] | None, main: str) -> str:
    """Who a write is sent as: the record's owner when it says, else the contact's current
    owner (an upsert makes its owner the contact's), else the connection's owner."""
    for source in (values, current or {}):
        owner = source.get("owner")
        if isinstance(owner, str) and owner:
            return owner
    return main
