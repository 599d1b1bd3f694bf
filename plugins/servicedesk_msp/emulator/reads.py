"""List calls: `input_data={"list_info": {...}}` from the query string (§1.5), paging,
sorting, searching and `fields_required`.

ASSUMED where §1.5 is silent:
- `row_count` defaults to 10; over 100 is refused (HTTP 200, failed status 4000 with
  `field: "row_count"`), never capped; below 1 too. `start_index` is 1-based; below 1 is
  refused; past the end gives an empty page.
- The answer's list_info carries `has_more_rows`, `start_index`, `row_count` (the rows in
  this page, as in the §1.6 sample), `sort_field`/`sort_order` when given and
  `total_count` when `get_total_count` is true.
- Without `sort_field` records come in creation order. Sorting compares lookups by name,
  dates by millis, text case-insensitively; empty values sort last ascending.
- `fields_required` keeps those fields and `id`; a field the module lacks is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from integrate_servicedesk_msp.emulator.errors import bad_input
from integrate_servicedesk_msp.emulator.search import Compiler, Match, resolve, wanted_email

MAX_ROWS = 100
DEFAULT_ROWS = 10
LIST_KEYS = frozenset(
    {
        "row_count",
        "start_index",
        "sort_field",
        "sort_order",
        "get_total_count",
        "search_fields",
        "search_criteria",
        "fields_required",
    }
)
Record = dict[str, Any]


@dataclass
class ListInfo:
    row_count: int = DEFAULT_ROWS
    start_index: int = 1
    sort_field: str | None = None
    sort_order: str | None = None
    get_total_count: bool = False
    match: Match | None = None
    fields_required: list[str] | None = None
    email: str | None = None  # an e-mail the search pins email_id to (index fast path)
    echo: dict[str, Any] = field(default_factory=dict)


def _count(raw: dict[str, Any], name: str, default: int) -> int:
    value = raw.get(name, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_input(f"{name} must be a number", field=name)
    return value


def parse(raw: Any, fields: Collection[str]) -> ListInfo:
    """A list_info object, checked; `fields` are the module's (rendered) field names."""
    if raw is None:
        return ListInfo()
    if not isinstance(raw, dict):
        raise bad_input("list_info must be an object", field="list_info")
    unknown = sorted(set(raw) - LIST_KEYS)
    if unknown:
        raise bad_input(f"{unknown[0]} is not a list_info attribute", field=unknown[0])
    info = ListInfo(
        row_count=_count(raw, "row_count", DEFAULT_ROWS),
        start_index=_count(raw, "start_index", 1),
    )
    if info.row_count > MAX_ROWS:
        raise bad_input(f"row_count cannot be more than {MAX_ROWS}", field="row_count")
    if info.row_count < 1:
        raise bad_input("row_count must be at least 1", field="row_count")
    if info.start_index < 1:
        raise bad_input("start_index starts at 1", field="start_index")
    compiler = Compiler(fields)
    if raw.get("sort_field") is not None:
        info.sort_field = compiler.field(raw["sort_field"])
        info.echo["sort_field"] = info.sort_field
    if raw.get("sort_order") is not None:
        order = raw["sort_order"]
        if not isinstance(order, str) or order.lower() not in ("asc", "desc"):
            raise bad_input("sort_order is asc or desc", field="sort_order")
        info.sort_order = order.lower()
        info.echo["sort_order"] = order
    total = raw.get("get_total_count", False)
    if isinstance(total, str) and total.lower() in ("true", "false"):
        total = total.lower() == "true"
    if not isinstance(total, bool):
        raise bad_input("get_total_count is a boolean", field="get_total_count")
    info.get_total_count = total
    matches: list[Match] = []
    if raw.get("search_fields") is not None:
        matches.append(compiler.fields_match(raw["search_fields"]))
    if raw.get("search_criteria") is not None:
        matches.append(compiler.criteria(raw["search_criteria"]))
    if matches:
        info.match = _all(matches)
        info.email = wanted_email(raw.get("search_criteria"), raw.get("search_fields"))
    required = raw.get("fields_required")
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(f, str) for f in required):
            raise bad_input("fields_required is a list of field names", field="fields_required")
        for name in required:
            if name not in fields:
                raise bad_input(f"{name} is not a field", field=name)
        info.fields_required = list(required)
    return info


def _all(matches: list[Match]) -> Match:
    if len(matches) == 1:
        return matches[0]
    first, second = matches
    return lambda record: first(record) and second(record)


def _sort_key(path: str) -> Callable[[Record], tuple[int, int, Any]]:
    """Empty values apart (1), then numbers (0) before text (1)."""

    def key(record: Record) -> tuple[int, int, Any]:
        value = resolve(record, path)
        if value is None or value == "":
            return (1, 0, "")
        if isinstance(value, bool):
            return (0, 0, float(value))
        if isinstance(value, int | float):
            return (0, 0, float(value))
        text = str(value)
        if text.isdigit():
            return (0, 0, float(text))
        return (0, 1, text.casefold())

    return key


def ordered(rows: list[Record], sort_field: str | None, sort_order: str | None) -> list[Record]:
    """Rows in list_info's order: by sort_field (empty values last), else as created."""
    if sort_field:
        key = _sort_key(sort_field)
        keyed = [(key(r), r) for r in rows]  # one key per row, not one per comparison
        filled = [pair for pair in keyed if pair[0][0] == 0]
        filled.sort(key=lambda pair: pair[0], reverse=sort_order == "desc")
        return [r for _k, r in filled] + [r for k, r in keyed if k[0] == 1]
    if sort_order == "desc":
        return rows[::-1]
    return rows


def page(
    records: Iterable[Record], info: ListInfo, *, in_order: bool = False
) -> tuple[list[Record], dict[str, Any]]:
    """The page list_info asks for, and the list_info to answer with (`in_order`: the
    records are already filtered and in list_info's order)."""
    if in_order:
        rows = records if isinstance(records, list) else list(records)
    else:
        rows = [r for r in records if info.match(r)] if info.match else list(records)
        rows = ordered(rows, info.sort_field, info.sort_order)
    start = info.start_index - 1
    chunk = rows[start : start + info.row_count]
    if info.fields_required is not None:
        wanted = info.fields_required
        chunk = [{"id": r["id"], **{f: r.get(f) for f in wanted if f != "id"}} for r in chunk]
    answer: dict[str, Any] = {
        "has_more_rows": start + info.row_count < len(rows),
        "start_index": info.start_index,
        "row_count": len(chunk),
        **info.echo,
    }
    if info.get_total_count:
        answer["total_count"] = len(rows)
    return chunk, answer
