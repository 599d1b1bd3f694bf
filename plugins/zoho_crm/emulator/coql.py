"""`POST /crm/v8/coql` (§7): a query (coqlparse.py) checked against the module's fields and
answered from the store.

Refusals, all HTTP 400: SYNTAX_ERROR (with `line`/`column`/`near`, or `clause: where` when
WHERE is missing),
INVALID_QUERY (an unknown module or column, a value of the wrong type, an operator the field's
type does not take, a multi-line text or multi-select field in criteria), LIMIT_EXCEEDED (more
than 50 columns, 25 criteria, 50 values in an `in`, 10 ORDER BY fields, LIMIT above 2,000,
or rows past 100,000 by LIMIT+OFFSET), DUPLICATE_DATA (an ORDER BY field twice). The token
needs ZohoCRM.coql.READ (checked by the route) and the module's read scope. `group by` and
aggregates are answered by coqlgroup.py.

Answers: `{"data": [...], "info": {"count", "more_records"}}`, each row the columns asked for
and `id`, a lookup as `{"id"}` only; 204 when nothing matches. Converted Leads are left out
(ASSUMED, as Get Records' default). Text compares ignoring case (ASSUMED, as search does); a
comparison with a null field is false (SQL's rule: `!=` does not match null, ASSUMED). Each
query spends credits by its LIMIT (1 to 200: 1, 201 to 1,000: 2, 1,001 to 2,000: 3), counted in
`Org.credits`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from integrate import Reply
from integrate_zoho_crm.emulator.catalogue import RECORD_MODULES, Field, Module, module_named
from integrate_zoho_crm.emulator.coqlgroup import NUMBERS, grouped
from integrate_zoho_crm.emulator.coqlparse import Criterion, Group, Query, count_criteria, parse
from integrate_zoho_crm.emulator.errors import ZohoError, missing_param
from integrate_zoho_crm.emulator.oauth import allows
from integrate_zoho_crm.emulator.org import Call, Org
from integrate_zoho_crm.emulator.store import Row
from integrate_zoho_crm.emulator.values import iso, parse_time

MAX_COLUMNS = 50
MAX_CRITERIA = 25
MAX_IN = 50
MAX_ORDER = 10
MAX_LIMIT = 2_000
MAX_ROWS = 100_000
TEXTS = {"text", "email", "phone", "website", "picklist", "autonumber"}
LOOKUPS = {"lookup", "ownerlookup", "userlookup"}
UNSUPPORTED = {"textarea", "multiselectpicklist", "multiselectlookup", "subform", "tag"}
ORDERING = {"<", "<=", ">", ">=", "between", "not_between"}
TEXT_ONLY = {"like", "not_like"}
BAD_COLUMN = "column given seems to be invalid"
BAD_VALUE = "value given seems to be invalid for the column"
BAD_TYPE = "data type not supported"
BAD_OPERATOR = "invalid query formed"  # one of coql.json's messages; which one ASSUMED


def credits_for(limit: int) -> int:
    return 1 if limit <= 200 else 2 if limit <= 1000 else 3


def _invalid(message: str, **details: Any) -> ZohoError:
    return ZohoError(400, "INVALID_QUERY", message, details)


def _exceeded(limit: int, clause: str) -> ZohoError:
    return ZohoError(400, "LIMIT_EXCEEDED", "limit exceeded", {"limit": limit, "clause": clause})


def query(org: Org, call: Call) -> Reply:
    body = call.json()
    text = body.get("select_query") if isinstance(body, dict) else None
    if text is None:
        raise missing_param("select_query")
    if not isinstance(text, str) or not text.strip():
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"api_name": "select_query"})
    parsed = parse(text)
    module = module_named(parsed.module, org.store.modules)
    if module is None or module.api_name not in RECORD_MODULES:
        raise _invalid("invalid query formed", module=parsed.module)
    if not allows(call.scopes, "modules", module.api_name):
        raise ZohoError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")
    _check_limits(parsed)
    columns = [_column(org, module, c) for c in parsed.columns]
    test = _matcher(org, module, parsed.where)
    org.credits["coql"] = org.credits.get("coql", 0) + credits_for(parsed.limit)
    rows = [
        r
        for r in org.store.rows[module.api_name].values()
        if not (module.convertable and r.values.get("Converted__s")) and test(r)
    ]
    if parsed.aggregates or parsed.group:
        names = {f.api_name.lower() for f in module.fields}
        return grouped(
            parsed, rows, lambda name: _column(org, module, name), names, _invalid, _exceeded
        )
    order = [(_column(org, module, c), d) for c, d in parsed.order] or [
        (_column(org, module, "id"), False)
    ]
    for read, descending in reversed(order):
        rows.sort(key=_sorting(read), reverse=descending)
    page = rows[parsed.offset : parsed.offset + parsed.limit]
    if not page:
        return Reply(204)
    data = []
    for row in page:
        out = {name: read.render(row) for name, read in zip(parsed.columns, columns, strict=True)}
        out["id"] = row.id
        data.append(out)
    more = len(rows) > parsed.offset + parsed.limit
    org.count_answered("coql", len(data))
    return Reply(200, {"data": data, "info": {"count": len(data), "more_records": more}})


def _check_limits(parsed: Query) -> None:
    if len(parsed.columns) > MAX_COLUMNS:
        raise _exceeded(MAX_COLUMNS, "select")
    if count_criteria(parsed.where) > MAX_CRITERIA:
        raise _exceeded(MAX_CRITERIA, "where")
    if len(parsed.order) > MAX_ORDER:
        raise _exceeded(MAX_ORDER, "order by")
    names = [c.lower() for c, _d in parsed.order]
    if len(set(names)) != len(names):
        raise ZohoError(400, "DUPLICATE_DATA", "duplicate data", {"clause": "order by"})
    if parsed.limit < 1 or parsed.limit > MAX_LIMIT:
        raise _exceeded(MAX_LIMIT, "limit")
    if parsed.offset + parsed.limit > MAX_ROWS:
        raise _exceeded(MAX_ROWS, "offset")


class _Column:
    """How one column (`Email`, `Account_Name.Account_Name`) is read from a row."""

    def __init__(self, org: Org, field: Field, lookup: Field | None = None):
        self.org = org
        self.field = field  # the column's own field (the target's, through a lookup)
        self.lookup = lookup  # the lookup gone through, if any

    @property
    def kind(self) -> str:
        return "bigint" if self.field.api_name == "id" else self.field.data_type

    def row_of(self, row: Row) -> Row | None:
        if self.lookup is None:
            return row
        target = row.values.get(self.lookup.api_name)
        return self.org.store.by_id.get(target) if isinstance(target, str) else None

    def value(self, row: Row) -> Any:
        """The value compared: a number, a string, a bool, seconds for a datetime, an id."""
        at = self.row_of(row)
        if at is None:
            return None
        name = self.field.api_name
        if name == "id":
            return int(at.id)
        if name in ("Modified_Time", "Last_Activity_Time", "Change_Log_Time__s"):
            return at.modified
        if name == "Created_Time":
            return at.created
        value = at.values.get(name)
        if self.kind == "boolean":
            return bool(value)
        if self.kind == "datetime" and isinstance(value, str):
            return parse_time(value)
        if self.kind in LOOKUPS and value is not None:
            return str(value)
        return value

    def render(self, row: Row) -> Any:
        at = self.row_of(row)
        if at is None:
            return None
        if self.kind in LOOKUPS or self.field.api_name == "id":
            value = self.value(row)
            return None if value is None else {"id": str(value)} if self.kind in LOOKUPS else at.id
        if self.kind == "datetime":
            value = self.value(row)
            return None if value is None else iso(value)
        return self.org.store.render(at, [self.field.api_name]).get(self.field.api_name)


def _column(org: Org, module: Module, name: str) -> _Column:
    head, _, rest = name.partition(".")
    field = _field(module, head)
    if not rest:
        return _Column(org, field)
    target = module_named(str(field.lookup), org.store.modules) if field.lookup else None
    if field.data_type != "lookup" or target is None or "." in rest:
        raise _invalid(BAD_COLUMN, column_name=name)  # a join goes through one lookup here
    return _Column(org, _field(target, rest, name), lookup=field)


def _field(module: Module, name: str, shown: str | None = None) -> Field:
    found = module.by_name.get(name) or next(
        (f for f in module.fields if f.api_name.lower() == name.lower()), None
    )
    if found is None or found.data_type == "multiselectlookup":
        raise _invalid(BAD_COLUMN, column_name=shown or name)
    return found


Test = Callable[[Row], bool]


def _matcher(org: Org, module: Module, where: Criterion | Group) -> Test:
    if isinstance(where, Group):
        first, second = (_matcher(org, module, p) for p in where.parts)
        if where.op == "and":
            return lambda r: first(r) and second(r)
        return lambda r: first(r) or second(r)
    column = _column(org, module, where.column)
    kind = column.kind
    if kind in UNSUPPORTED:
        raise _invalid(BAD_TYPE, column_name=where.column)
    op = where.op
    if op in ("is_null", "not_null"):
        wanted_null = op == "is_null"
        return lambda r: (column.value(r) is None) == wanted_null
    if (op in ORDERING and kind in TEXTS | LOOKUPS | {"boolean"}) or (
        op in TEXT_ONLY and kind not in TEXTS
    ):
        raise _invalid(BAD_OPERATOR, column_name=where.column, operator=op)
    if op in ("in", "not_in") and len(where.values) > MAX_IN:
        raise _exceeded(MAX_IN, "where")
    if kind == "boolean" and op not in ("=", "!="):
        raise _invalid(BAD_OPERATOR, column_name=where.column, operator=op)
    values = [_value(kind, v, where.column) for v in where.values]
    fold = kind in TEXTS

    def get(row: Row) -> Any:
        value = column.value(row)
        return value.lower() if fold and isinstance(value, str) else value

    return _compare(op, get, values)


def _compare(op: str, get: Callable[[Row], Any], values: list[Any]) -> Test:
    def test(row: Row) -> bool:
        value = get(row)
        if value is None:
            return False
        if op == "=":
            return bool(value == values[0])
        if op == "!=":
            return bool(value != values[0])
        if op == "<":
            return bool(value < values[0])
        if op == "<=":
            return bool(value <= values[0])
        if op == ">":
            return bool(value > values[0])
        if op == ">=":
            return bool(value >= values[0])
        if op in ("in", "not_in"):
            return (value in values) == (op == "in")
        if op in ("between", "not_between"):
            return bool(values[0] <= value <= values[1]) == (op == "between")
        return (like.fullmatch(str(value)) is not None) == (op == "like")

    like = re.compile(
        ".*".join(re.escape(part) for part in str(values[0] if values else "").split("%")),
        re.IGNORECASE | re.DOTALL,
    )

    return test


def _value(kind: str, value: Any, column: str) -> Any:
    """A query's value as the column's values compare, or INVALID_QUERY."""
    bad = _invalid(BAD_VALUE, column_name=column)
    if value is None:
        raise bad  # `= null`: Zoho wants `is null`
    if kind == "boolean":
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(value, bool):
        raise bad
    if kind in NUMBERS:
        if isinstance(value, str):
            if kind != "bigint" or not value.isdigit():
                raise bad
            return int(value)
        return value
    if not isinstance(value, str):
        if kind in LOOKUPS and isinstance(value, int):
            return str(value)
        raise bad
    if kind == "datetime":
        seconds = parse_time(value)
        if seconds is None:
            raise bad
        return seconds
    if kind == "date":
        if parse_time(value + "T00:00:00+00:00") is None:
            raise bad
        return value
    return value.lower() if kind in TEXTS else value


def _sorting(column: _Column) -> Callable[[Row], tuple[bool, Any]]:
    """A sort key by the column (nulls first)."""

    def key(row: Row) -> tuple[bool, Any]:
        value = column.value(row)
        return (value is not None, value if value is not None else 0)

    return key
