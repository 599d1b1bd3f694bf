"""Zoho's value formats (§4.2): how times are written, and which values a field accepts."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from integrate_zoho_crm.emulator.catalogue import Field

UTC = dt.UTC
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"^\d{1,19}$")

MAX_INTEGER = 999_999_999  # integer fields hold at most 9 digits


def iso(seconds: float) -> str:
    """A Zoho timestamp: ISO 8601 with offset, second precision (the API user's zone: UTC)."""
    return _iso(int(seconds))


@functools.lru_cache(maxsize=65_536)
def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, UTC).isoformat()


def day(seconds: float) -> str:
    return dt.datetime.fromtimestamp(int(seconds), UTC).date().isoformat()


def parse_time(text: str) -> int | None:
    """Seconds since the epoch of an ISO 8601 timestamp that carries an offset; else None."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp())


class Invalid(Exception):
    """A value a field refuses; `details` are the per-record error's details (§3.1)."""

    def __init__(self, details: dict[str, Any]):
        super().__init__(details)
        self.details = details


def check(field: Field, value: Any) -> Any:
    """The value as Zoho stores it, or `Invalid`. Lookups are checked by the caller (they need
    the store); here only their shape is."""
    if value is None:
        return None
    kind = field.data_type
    if kind in ("text", "textarea", "phone", "website", "picklist", "autonumber"):
        if not isinstance(value, str):
            raise Invalid({"expected_data_type": kind})
        if len(value) > field.length:
            raise Invalid({"maximum_length": field.length})
        return value
    if kind == "email":
        if not isinstance(value, str) or (value and not _EMAIL.match(value)):
            raise Invalid({"expected_data_type": "email"})
        if len(value) > field.length:
            raise Invalid({"maximum_length": field.length})
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise Invalid({"expected_data_type": "boolean"})
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INTEGER:
            raise Invalid({"expected_data_type": "integer"})
        return value
    if kind in ("double", "currency"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid({"expected_data_type": "double"})
        return value
    if kind == "bigint":
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not _DIGITS.match(text):
            raise Invalid({"expected_data_type": "bigint"})
        return text
    if kind == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            raise Invalid({"expected_data_type": "date"})
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise Invalid({"expected_data_type": "date"}) from None
        return value
    if kind == "datetime":
        seconds = parse_time(value) if isinstance(value, str) and _DATETIME.match(value) else None
        if seconds is None:
            raise Invalid({"expected_data_type": "datetime"})
        return iso(seconds)
    if kind == "multiselectpicklist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid({"expected_data_type": "jsonarray"})
        return value
    if kind in ("tag", "participants"):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise Invalid({"expected_data_type": "jsonarray"})
        return value
    if kind in ("lookup", "ownerlookup", "userlookup"):
        ref = value.get("id") if isinstance(value, dict) else None
        if isinstance(ref, int) and not isinstance(ref, bool):
            ref = str(ref)
        if not isinstance(ref, str) or not _DIGITS.match(ref):
            raise Invalid({"expected_data_type": "jsonobject"})
        return ref
    raise Invalid({"expected_data_type": kind})
