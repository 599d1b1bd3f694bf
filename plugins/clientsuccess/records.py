"""ClientSuccess clients and contacts as specs see them, and back (targets.md §3.4).

Read: the record as ClientSuccess answers it, with the date-only fields (`inceptionDate`,
`terminatedDate`) as `YYYY-MM-DD` (ClientSuccess answers midnight UTC as a date-time), and
each custom value (`customFieldValues`, details only) as a field of its own named from its
label (`custom_name`: "Zoho Owner" → `cf_zoho_owner`); the array itself is left out.

Written: `PUT` replaces the whole record (every field the body omits becomes null, custom
values included), so an update starts from the record as read (`GET` detail), writes the
mapped fields over it, and sends it all back with its whole `customFieldValues` array, the
changed values set by label. A field the spec does not map is sent back as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from integrate import FieldInfo, Record
from integrate_clientsuccess.settings import CUSTOM_PREFIX, custom_name

CUSTOM = "customFieldValues"
DATES = ("inceptionDate", "terminatedDate")
SERVER_SET = ("id", "uuid", "createdDate", "lastModifiedDate")
DERIVED_BY = ("createdByEmployeeId", "modifiedByEmployeeId")  # the user who wrote it


def _catalogue(
    text: Iterable[str],
    typed: Mapping[str, str],
    read_only: Iterable[str],
    required: Iterable[str] = (),
) -> dict[str, FieldInfo]:
    ro, req = set(read_only), set(required)
    names = [*text, *typed]
    return {
        n: FieldInfo(n, type=typed.get(n, "text"), read_only=n in ro, required=n in req)
        for n in names
    }


CLIENT_FIELDS = _catalogue(
    text=(
        *("uuid", "name", "siteUrl", "clientSegment", "externalId", "crmCustomerUrl"),
        *("salesforceAccountId", "zendeskId", "deskId", "freshdeskId", "uservoiceId", "jiraId"),
        *("usageId", "street", "city", "state", "zip", "country", "timezone", "note"),
        *("assignedCSM", "assignedSalesRep", "linkedinUrl"),
    ),
    typed={
        "id": "integer",
        "clientSegmentId": "integer",
        "statusId": "integer",
        "active": "boolean",
        "successScore": "number",
        "npsScore": "number",
        "crmCustomerId": "integer",
        "inceptionDate": "date",
        "terminatedDate": "date",
        "createdDate": "datetime",
        "lastModifiedDate": "datetime",
        "managedByEmployeeId": "integer",
        "createdByEmployeeId": "integer",
        "modifiedByEmployeeId": "integer",
        "assignedSalesRepId": "integer",
        "successCycleId": "integer",
        "activeClientSuccessCycleId": "integer",
        "keyContactId": "integer",
        "currencyId": "integer",
    },
    read_only=(*SERVER_SET, *("clientSegment", "assignedCSM"), *DERIVED_BY),
    required=("name",),
)

CONTACT_FIELDS = _catalogue(
    text=(
        *("uuid", "firstName", "lastName", "name", "preferredName", "email", "phone"),
        *("mobile", "title", "linkedinUrl", "note", "street", "city", "zip", "country"),
        *("timezone", "externalId", "salesforceId", "usageId", "photoUrl", "contactState"),
    ),
    typed={
        "id": "integer",
        "clientId": "text",  # read as text: a record id, as `linked()` gives ids
        "statusId": "integer",
        "executiveSponsor": "boolean",
        "advocate": "boolean",
        "champion": "boolean",
        "starred": "boolean",
        "keyContact": "boolean",
        "lastEngagement": "datetime",
        "engagementCount": "integer",
    },
    read_only=("id", "uuid", "name", "lastEngagement", "engagementCount"),
)
CONTACT_FIELDS["email"] = FieldInfo("email", type="email")

SEGMENT_FIELDS = _catalogue(text=("title",), typed={"id": "integer"}, read_only=("id", "title"))
STATUS_FIELDS = _catalogue(
    text=("code", "description"), typed={"id": "integer"}, read_only=("id", "code", "description")
)


def with_custom(base: Mapping[str, FieldInfo], labels: Iterable[str]) -> dict[str, FieldInfo]:
    """A catalogue with a text field for each custom field label."""
    out = dict(base)
    for label in labels:
        name = custom_name(label)
        out.setdefault(name, FieldInfo(name, type="text", label=label))
    return out


def is_custom(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX)


def labels_of(raw: Mapping[str, Any]) -> list[str]:
    """The labels of a detail's custom values."""
    return [
        str(item["label"])
        for item in raw.get(CUSTOM) or []
        if isinstance(item, Mapping) and item.get("label")
    ]


def as_read(raw: Mapping[str, Any]) -> Record:
    """A client or contact as specs see it (see the module's docstring)."""
    out = {k: v for k, v in raw.items() if k != CUSTOM}
    if isinstance(out.get("clientId"), int) and not isinstance(out["clientId"], bool):
        # the client's id as integrate keeps record ids (and `linked()` answers them): text
        out["clientId"] = str(out["clientId"])
    for name in DATES:
        if name in out:
            out[name] = date_only(out[name])
    for item in raw.get(CUSTOM) or []:
        if isinstance(item, Mapping) and item.get("label"):
            value = item.get("value")
            out[custom_name(str(item["label"]))] = None if value is None else str(value)
    return out


def date_only(value: Any) -> Any:
    """`YYYY-MM-DD` of a date or an ISO date-time (other values as they are)."""
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return value[:10]
    return value


def modified_at(raw: Mapping[str, Any]) -> dt.datetime | None:
    """A client's lastModifiedDate as an aware datetime (None when missing or unreadable)."""
    value = raw.get("lastModifiedDate")
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


class Unwritable(ValueError):
    """A record's values cannot be sent as they are (the message says which and why)."""


def split(
    values: Mapping[str, Any], fields: Mapping[str, FieldInfo]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A write's values as (plain fields, custom fields by field name). Raises Unwritable
    for a field the object lacks or cannot take."""
    given = {k: v for k, v in values.items() if not k.startswith("$")}
    unknown = sorted(k for k in given if k not in fields and not is_custom(k))
    if unknown:
        raise Unwritable(f"ClientSuccess has no field {', '.join(unknown)} here")
    fixed = sorted(k for k in given if k in fields and fields[k].read_only)
    if fixed:
        raise Unwritable(f"ClientSuccess sets {', '.join(fixed)} itself; it cannot be written")
    plain = {k: _wire(k, v) for k, v in given.items() if not is_custom(k)}
    custom = {k: v for k, v in given.items() if is_custom(k)}
    return plain, custom


def _wire(name: str, value: Any) -> Any:
    """A value as ClientSuccess takes it: a client id given as text (as it is read, and as
    `linked()` answers it) is sent as the number ClientSuccess keeps."""
    if name == "clientId" and isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def custom_text(value: Any) -> str | None:
    """A custom value as ClientSuccess keeps it: text (true/false for booleans), or null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def replacement(
    current: Mapping[str, Any], plain: Mapping[str, Any], custom: Mapping[str, Any]
) -> dict[str, Any]:
    """The body of a PUT: the record as read with the mapped fields written over it and its
    whole customFieldValues array (the mapped ones changed by label). Raises Unwritable for a
    custom field the record does not have."""
    body = {k: v for k, v in current.items() if k not in SERVER_SET}
    body.update(plain)
    items = [dict(i) for i in current.get(CUSTOM) or [] if isinstance(i, Mapping)]
    by_name = {custom_name(str(i.get("label") or "")): i for i in items}
    missing = sorted(k for k in custom if k not in by_name)
    if missing:
        raise Unwritable(
            f"ClientSuccess has no custom field named {', '.join(missing)} on this record "
            f"(custom fields here: {', '.join(sorted(by_name)) or 'none'})"
        )
    for name, value in custom.items():
        by_name[name]["value"] = custom_text(value)
    body[CUSTOM] = items
    return body


def patch_body(labels: Mapping[str, str], custom: Mapping[str, Any]) -> dict[str, str | None]:
    """`{label: value}` for the custom-field PATCH of a client, from field names. Raises
    Unwritable for a name no label gives."""
    missing = sorted(k for k in custom if k not in labels)
    if missing:
        raise Unwritable(
            f"ClientSuccess has no client custom field named {', '.join(missing)} "
            f"(custom fields: {', '.join(sorted(labels)) or 'none'})"
        )
    return {labels[name]: custom_text(value) for name, value in custom.items()}
