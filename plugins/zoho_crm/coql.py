"""A flow's filter said in COQL (§7), so a read asks Zoho for only the records that may match.

`where_clause` says the part of a condition COQL can say exactly, as the field's type allows:
a text or picklist field by `=` only (Zoho may compare text ignoring case, so `!=` could leave
out a record the filter keeps), numbers by any comparison, booleans by `= true`/`= false`, a
date by `=`/`!=`, any of these by `is [not] null`; never a multi-line text, a lookup or a
multi-select field. A part it cannot say is left out of an `and` (the answer is then a
superset, which the engine filters again) and makes a whole `or` unsaid. More than two
criteria are grouped in pairs, `((A and B) and C)`; a reserved word as a column is quoted;
`'` in a value is doubled.

`CoqlRead` pages a module by key: `select <fields> from <Module> where (<filter> and
<after the last record>) order by Modified_Time asc, id asc limit 2000` (200 for the first
query from a cursor, which mostly finds a few changes: 1 credit, not 3), the key being the
last record's (Modified_Time, id), so no offset is ever used (LIMIT+OFFSET stops at 100,000
rows) and a record edited while the read pages moves to its new place, ahead of the key. The
cursor is the plain read's (keyset.Boundary): the last second read and a fingerprint of each
record read at it, so a spec whose filter stops or starts being pushed loses and repeats
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from integrate import (
    And,
    Compare,
    Condition,
    ConnectorError,
    FieldInfo,
    IsNull,
    IsTrue,
    Or,
    Page,
    Record,
    keep_sayable,
    without_not,
)
from integrate_zoho_crm.keyset import Boundary

if TYPE_CHECKING:
    from integrate_zoho_crm.api import ZohoApi

LIMIT = 2000  # rows a query (§7's most; 3 credits)
# A read from a cursor mostly finds a few changes: its first query asks for 200 rows (1 credit)
# and only a second one for 2,000.
FIRST_LIMIT = 200
MAX_CRITERIA = 25
MAX_COLUMNS = 50
KEY_CRITERIA = 3  # (Modified_Time > T or (Modified_Time = T and id > N))
NUMBERS = frozenset({"integer", "bigint", "double", "currency", "decimal", "percent"})
TEXTS = frozenset({"text", "email", "phone", "website", "picklist"})
# Columns COQL cannot answer as Get Records does: a lookup gives only its id, these fields
# not at all. They are read by id after each page (reads.Reads._join).
JOINED = frozenset(
    {"lookup", "ownerlookup", "userlookup", "multiselectlookup", "subform", "layout", "tag"}
)
JOINED |= {"multiselectpicklist", "multi_user_lookup", "fileupload", "imageupload"}
RESERVED = frozenset(
    {
        *("select", "from", "where", "and", "or", "not", "in", "like", "between", "is"),
        *("null", "order", "by", "group", "limit", "offset", "asc", "desc", "true", "false"),
        *("external", "as", "having", "count", "sum", "min", "max", "avg"),
    }
)
# Answers to a first query that say COQL will not do here: the read falls back to Get Records.
REFUSALS = frozenset({"OAUTH_SCOPE_MISMATCH", "INVALID_QUERY", "SYNTAX_ERROR", "LIMIT_EXCEEDED"})


class Refused(Exception):
    """Zoho refused the first query (a token without ZohoCRM.coql.READ, a field it will not
    query): nothing was read yet, so the plain read takes over."""


def column(name: str) -> str:
    return f"'{name}'" if name.lower() in RESERVED else name


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def where_clause(condition: Condition, fields: Mapping[str, FieldInfo]) -> tuple[str, int] | None:
    """The COQL criteria for `condition` over a module with these fields, and how many
    criteria they hold; None when no part of it can be said."""

    def sayable(leaf: Compare | IsNull | IsTrue) -> bool:
        kind = (
            "bigint"
            if leaf.field == "id"
            else fields[leaf.field].type
            if leaf.field in fields
            else None
        )
        if kind is None or kind in JOINED or kind == "textarea":
            return False
        if isinstance(leaf, IsNull):
            return True
        if isinstance(leaf, IsTrue):
            return kind == "boolean"
        value = leaf.value
        if kind == "boolean":
            return isinstance(value, bool) and leaf.op in ("==", "!=")
        if isinstance(value, bool):
            return False
        if kind in NUMBERS:
            return isinstance(value, (int, float))
        if kind in TEXTS:
            return isinstance(value, str) and leaf.op == "=="
        if kind == "date":
            return isinstance(value, str) and leaf.op in ("==", "!=")
        return False

    kept = keep_sayable(without_not(condition), sayable)
    if kept is None:
        return None
    return _render(kept), _count(kept)


def _render(c: Condition) -> str:
    if isinstance(c, (And, Or)):
        word = " and " if isinstance(c, And) else " or "
        text = _render(c.parts[0])
        for part in c.parts[1:]:
            text = f"({text}{word}{_render(part)})"
        return text
    if isinstance(c, IsNull):
        return f"{column(c.field)} is {'not ' if c.negated else ''}null"
    if isinstance(c, IsTrue):
        return f"{column(c.field)} = true"
    assert isinstance(c, Compare)
    op = "=" if c.op == "==" else c.op
    return f"{column(c.field)} {op} {literal(c.value)}"


def _count(c: Condition) -> int:
    if isinstance(c, (And, Or)):
        return sum(_count(p) for p in c.parts)
    return 1


def fits(criteria: int) -> bool:
    """Whether a filter of this many criteria leaves room for the key's (§7: at most 25)."""
    return criteria + KEY_CRITERIA <= MAX_CRITERIA


class CoqlRead:
    """One read of `module` by COQL, the filter's criteria `clause`, asking for `columns`;
    `join(records)` adds what COQL does not answer (lookups ...) in place."""

    def __init__(
        self,
        api: ZohoApi,
        module: str,
        columns: list[str],
        clause: str,
        join: Callable[[list[Record]], None],
    ):
        self.api = api
        self.module = module
        self.columns = columns
        self.clause = clause
        self.join = join

    def pages(self, since: Any) -> Iterator[Page]:
        boundary = Boundary.of(since)
        key: tuple[str, str] | None = None
        first = True
        while True:
            limit = FIRST_LIMIT if first and since is not None else LIMIT
            records, more = self._query(boundary.time, key, first, limit)
            first = False
            if records:
                self.join(records)
            fresh = [r for r in records if not boundary.already_read(r)]
            boundary = boundary.moved_on(records)
            yield Page(fresh, boundary.cursor())
            if not more or not records:
                return
            last = records[-1]
            key = (str(last.get("Modified_Time")), str(last.get("id")))

    def _query(
        self, since: str | None, key: tuple[str, str] | None, first: bool, limit: int
    ) -> tuple[list[Record], bool]:
        if key is not None:
            time, last_id = literal(key[0]), key[1]
            after = f"(Modified_Time > {time} or (Modified_Time = {time} and id > {last_id}))"
            where = f"({self.clause} and {after})"
        elif since is not None:
            where = f"({self.clause} and Modified_Time >= {literal(since)})"
        else:
            where = self.clause
        text = (
            f"select {', '.join(column(c) for c in self.columns)} from {self.module} "
            f"where {where} order by Modified_Time asc, id asc limit {limit}"
        )
        response = self.api.call("POST", "coql", label="coql", json={"select_query": text})
        if response.status_code == 204:
            return [], False
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) or "data" not in body:
            code = body.get("code") if isinstance(body, dict) else None
            if first and code in REFUSALS:
                raise Refused(f"{self.api.connection}: COQL on {self.module}: {code}")
            raise self.api.error(response, f"querying {self.module} (COQL)")
        records: list[Record] = body["data"]
        if not isinstance(records, list):
            raise ConnectorError(f"{self.api.connection}: COQL on {self.module}: no list of rows")
        return records, bool((body.get("info") or {}).get("more_records"))
