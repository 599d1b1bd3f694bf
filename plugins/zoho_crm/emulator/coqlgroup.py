"""COQL's `group by` and aggregates (§7: at most 4 GROUP BY fields and 5 aggregates):
`select Account_Type, COUNT(id) as total from Accounts where … group by Account_Type`.

Each answer row holds the group's columns and each aggregate under its key: its alias, else
the text as written (`COUNT(id)`; ASSUMED). COUNT counts the rows whose column is not null,
SUM and AVG take numbers only, MIN and MAX any type; without `group by` every matching row is
one group. A plain column of the select must be one of the GROUP BY fields (INVALID_QUERY,
ASSUMED as SQL has it); an alias that is a field's name or a reserved word is INVALID_ALIAS, two
equal ones DUPLICATE_ALIAS. ORDER BY names group fields or aggregate keys (default: the group
fields ascending); LIMIT and OFFSET count groups. Nothing matching: 204.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrate import Reply
from integrate_zoho_crm.emulator.coqlparse import RESERVED, Aggregate, Query
from integrate_zoho_crm.emulator.errors import ZohoError
from integrate_zoho_crm.emulator.store import Row
from integrate_zoho_crm.emulator.values import iso

MAX_GROUP = 4
MAX_AGGREGATES = 5
NUMBERS = frozenset({"integer", "bigint", "double", "currency"})  # (coql.py's too)


def grouped(
    parsed: Query,
    rows: list[Row],
    column: Callable[[str], Any],
    field_names: set[str],
    invalid: Callable[..., ZohoError],
    exceeded: Callable[[int, str], ZohoError],
) -> Reply:
    """The answer to a query with aggregates or `group by`, over the matching `rows`."""
    _check(parsed, field_names, invalid, exceeded)
    group = [column(name) for name in parsed.group]
    aggregates = [(a, column(a.column)) for a in parsed.aggregates]
    for agg, col in aggregates:
        if agg.function in ("sum", "avg") and col.kind not in NUMBERS:
            raise invalid("data type not supported", column_name=agg.column)
    buckets: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        buckets.setdefault(tuple(g.value(row) for g in group), []).append(row)
    answers: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (row answered, sort values)
    for key, members in buckets.items():
        out: dict[str, Any] = {}
        sort: dict[str, Any] = {}
        for name, g, value in zip(parsed.group, group, key, strict=True):
            sort[name.lower()] = value
            out[name] = g.render(members[0])
        for agg, col in aggregates:
            result = _aggregate(agg.function, [col.value(r) for r in members])
            sort[agg.key.lower()] = result
            timed = col.kind == "datetime" and isinstance(result, int)
            out[agg.key] = iso(result) if timed and agg.function in ("min", "max") else result
        answers.append((_in_order(parsed, out), sort))
    order = parsed.order or tuple((name, False) for name in parsed.group)
    known = {g.lower() for g in parsed.group} | {a.key.lower() for a in parsed.aggregates}
    for name, descending in reversed(order):
        if name.lower() not in known:
            raise invalid("column given seems to be invalid", column_name=name)
        answers.sort(key=_by(name.lower()), reverse=descending)
    page = answers[parsed.offset : parsed.offset + parsed.limit]
    if not page:
        return Reply(204)
    more = len(answers) > parsed.offset + parsed.limit
    data = [a for a, _s in page]
    return Reply(200, {"data": data, "info": {"count": len(data), "more_records": more}})


def _check(
    parsed: Query,
    field_names: set[str],
    invalid: Callable[..., ZohoError],
    exceeded: Callable[[int, str], ZohoError],
) -> None:
    if len(parsed.group) > MAX_GROUP:
        raise exceeded(MAX_GROUP, "group by")
    if len(parsed.aggregates) > MAX_AGGREGATES:
        raise exceeded(MAX_AGGREGATES, "select")
    names = [g.lower() for g in parsed.group]
    if len(set(names)) != len(names):
        raise ZohoError(400, "DUPLICATE_DATA", "duplicate data", {"clause": "group by"})
    keys: set[str] = set()
    for agg in parsed.aggregates:
        if agg.alias and (agg.key.lower() in RESERVED or agg.key.lower() in field_names):
            raise ZohoError(400, "INVALID_ALIAS", "invalid alias", {"alias": agg.key})
        if agg.key.lower() in keys:
            raise ZohoError(400, "DUPLICATE_ALIAS", "duplicate alias", {"alias": agg.key})
        keys.add(agg.key.lower())
    for name in parsed.columns:
        if name.lower() not in names:
            raise invalid("column given seems to be invalid", column_name=name)


def _aggregate(function: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if function == "count":
        return len(present)
    if not present:
        return None
    if function == "sum":
        return sum(present)
    if function == "avg":
        return sum(present) / len(present)
    return min(present) if function == "min" else max(present)


def _in_order(parsed: Query, out: dict[str, Any]) -> dict[str, Any]:
    """The answer's keys in the order the select named them."""
    keys = [i.key if isinstance(i, Aggregate) else i for i in parsed.items]
    return {k: out[k] for k in keys if k in out} | {k: v for k, v in out.items() if k not in keys}


def _by(name: str) -> Callable[[tuple[dict[str, Any], dict[str, Any]]], tuple[bool, Any]]:
    """A sort key by one group field or aggregate (nulls first)."""

    def key(answer: tuple[dict[str, Any], dict[str, Any]]) -> tuple[bool, Any]:
        value = answer[1][name]
        return (value is not None, value if value is not None else 0)

    return key
