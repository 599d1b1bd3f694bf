"""Small, hot helpers over record values: dotted gets and sets, equality as the engine sees
it, match-key normalisation, and nesting flat field maps for writing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from integrate.links import Digest, digest

LET = "let"


def with_lets(record: Mapping[str, Any], lets: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The record with its flow's `let` values under `let` (each may read the ones before)."""
    view = dict(record)
    values: dict[str, Any] = {}
    view[LET] = values
    for name, expr in lets:
        values[name] = expr(view)
    return view


def without_lets(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The record as it was read (for the pending queue and the failure ledger)."""
    if isinstance(record.get(LET), dict):
        return {k: v for k, v in record.items() if k != LET}
    return record


def pick(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (`address.city`), or None."""
    if "." not in path:
        return record.get(path)
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def pick_all(record: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """The values at these paths, flat: keyed by the path (the shape of a link's snapshot)."""
    return {p: pick(record, p) for p in paths}


def snapped(snapshot: Mapping[str, Any], path: str) -> Any:
    """A field's value in a link's snapshot. Snapshots are flat, keyed by the field's path,
    so `udf_fields.udf_char1` is one key there, not a way into nested values."""
    return snapshot.get(path)


def same(a: Any, b: Any) -> bool:
    """Equal as far as syncing goes: a missing value equals null; 1 equals 1.0. Either may be
    a link's digest of a value (links of sync flows keep digests, not values)."""
    if a is b:
        return True
    if type(b) is Digest or type(a) is Digest:
        return digest(a) == digest(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{'address.city': 'X', 'name': 'Y'} → {'address': {'city': 'X'}, 'name': 'Y'}."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if "." not in key:
            out[key] = value
            continue
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def normalize(value: Any, modes: frozenset[str]) -> Any:
    if isinstance(value, str):
        if "whitespace" in modes:
            value = " ".join(value.split())
        if "case" in modes:
            value = value.casefold()
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def key_text(values: Iterable[Any]) -> str:
    """A stable text for a tuple of normalised key values (used as an index key)."""
    return orjson.dumps(list(values), option=orjson.OPT_NON_STR_KEYS).decode()


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, '', [] and {} are false; 0 is true."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True
