"""Reading the values of a write body field by field, as ClientSuccess checks them: text of at
most so many characters, whole numbers in a range, true/false, dates (`YYYY-MM-DD` or an ISO
date-time, kept as the UTC date), time zones of the tz database; and writing times back as ISO
date-times in UTC with milliseconds (`2026-12-06T10:15:30.123Z`). Every refusal is a 400
naming the field; a hostile value is quoted back cut short."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from integrate import int64, quoted
from integrate_clientsuccess.emulator.refusals import bad_request

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TEXT_MAX = 255
NOTE_MAX = 10_000

Check = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Field:
    """One writable field: its name and how a sent value is read (None always passes)."""

    name: str
    read: Check


def text(limit: int = TEXT_MAX) -> Check:
    def read(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise bad_request(f"{name} must be text")
        if len(value) > limit:
            raise bad_request(f"{name} is too long (at most {limit} characters)")
        return value

    return read


def whole(low: int | None = None, high: int | None = None) -> Check:
    def read(name: str, value: Any) -> int:
        number = int64(value) if not isinstance(value, str) else None
        if number is None or (isinstance(value, float) and not value.is_integer()):
            raise bad_request(f"{name} must be a whole number")
        if (low is not None and number < low) or (high is not None and number > high):
            raise bad_request(f"{name} must be from {low} to {high}")
        return number

    return read


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad_request(f"{name} must be true or false")
    return value


def date(name: str, value: Any) -> str:
    """`YYYY-MM-DD`, or an ISO date-time taken as its date in UTC; kept as `YYYY-MM-DD`."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            if DATE.match(value):
                return dt.date.fromisoformat(value).isoformat()
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                moment = moment.astimezone(dt.UTC)
            return moment.date().isoformat()
    raise bad_request(
        f"{name} must be a date (YYYY-MM-DD or an ISO date-time), not {quoted(value)}"
    )


def time_zone(name: str, value: Any) -> str:
    zone: str = text(64)(name, value)
    if not known_zone(zone):
        raise bad_request(f"{name} must be a time zone of the tz database, not {quoted(zone)}")
    return zone


@functools.lru_cache(maxsize=256)
def known_zone(name: str) -> bool:
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


def read_fields(body: Mapping[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    """The fields the body sends (a key it does not send is left out), each read and
    checked; keys the API does not know are ignored."""
    found: dict[str, Any] = {}
    for field in fields:
        if field.name in body:
            value = body[field.name]
            found[field.name] = None if value is None else field.read(field.name, value)
    return found


def iso_time(ms: int) -> str:
    """Epoch milliseconds as ClientSuccess writes date-times: UTC, milliseconds, `Z`."""
    moment = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def iso_date(day: str | None) -> str | None:
    """A kept date (`YYYY-MM-DD`) as ClientSuccess answers it: midnight UTC."""
    return None if day is None else f"{day}T00:00:00.000Z"
