"""What one API call works with: the account's contacts, the owner it names, the time, the
account's limits (§2.7) and its asynchronous jobs (§2.6: exports and batchupsertv2, done at
once and fetched by `job/status`, in the kit's `Jobs`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrate import Jobs, int64, quoted
from integrate_salesmanago.emulator.contacts import Refused
from integrate_salesmanago.emulator.store import Store


@dataclass(frozen=True)
class Limits:
    """The account's limits; targets.md §2.7 marks each ASSUMED."""

    batch: int = 1000  # contacts in one batchupsert
    ids: int = 100  # emails or ids in one basic/list call
    page_size: int = 1000  # `size` of the paginated methods
    property_length: int = 255  # characters of one property value
    body_bytes: int = 10 * 1024 * 1024  # a request body larger than this is refused (413)


@dataclass
class Call:
    """One call's world: `owner` is the user the body names (checked), `now` epoch millis,
    `files_url` where export files are served (`{files_url}/{token}.json`)."""

    store: Store
    owner: str
    now: int
    limits: Limits
    jobs: Jobs
    files_url: str


def number(body: Mapping[str, Any], key: str, *, default: int | None = None) -> int:
    """An integer parameter (epoch millis, page, size) within 64 bits, or the refusal
    naming it."""
    value = body.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Refused(f"Invalid {key}: expected a number")
    found = int64(value)
    if found is None:
        raise Refused(f"Invalid {key}: {quoted(value)}")
    return found


def listed(body: Mapping[str, Any], key: str, limit: int) -> list[Any]:
    """A list parameter of at most `limit` items (emails, ids), or the refusal."""
    value = body.get(key)
    if not isinstance(value, list):
        raise Refused(f"Invalid {key}: expected a list")
    if len(value) > limit:
        raise Refused(f"Too many contacts in one request (at most {limit})")
    return value
