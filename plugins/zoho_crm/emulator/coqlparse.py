"""COQL's grammar, as far as this emulator takes it (§7): `select <columns> from <Module>
where <criteria> [group by <column>, …] [order by <column> [asc|desc], …] [limit n]
[offset m]`, keywords in any case; a column of the select may be an aggregate,
`COUNT|SUM|MIN|MAX|AVG(<column>) [as <alias>]`. Criteria are comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=`), `is [not] null`,
`[not] in (…)`, `[not] between … and …` and `[not] like '…'`, joined by `and`/`or`; more than
two criteria must be grouped in pairs, `((A and B) and C)` (Kaizen #171). A reserved word as
a column is quoted (`'External'` or `"External"`); `'` inside a value is doubled.

A query that does not parse is refused as SYNTAX_ERROR with where it went wrong (a `having`
clause, which COQL does not document, included)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from integrate_zoho_crm.emulator.errors import ZohoError

RESERVED = frozenset(
    {
        *("select", "from", "where", "and", "or", "not", "in", "like", "between", "is"),
        *("null", "order", "by", "group", "limit", "offset", "asc", "desc", "true", "false"),
        *("external", "as", "having", "count", "sum", "min", "max", "avg"),
    }
)
AGGREGATES = frozenset({"count", "sum", "min", "max", "avg"})
SYNTAX = "error occured while parsing the query"  # sic, Zoho's spelling (ASSUMED)
TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<dq>\"(?:[^\"]|\"\")*\")"
    r"|(?P<number>-?\d+(?:\.\d+)?)(?![\w.])"
    r"|(?P<name>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)"
    r"|(?P<op>!=|<>|>=|<=|=|<|>|\(|\)|,|\*))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # string, dq, number, name, op, end
    text: str
    column: int  # 1-based, as Zoho's details give it

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "name" else ""


@dataclass(frozen=True)
class Criterion:
    column: str
    op: str  # = != < <= > >= is_null not_null in not_in between not_between like not_like
    values: tuple[Any, ...] = ()
    at: int = 0


@dataclass(frozen=True)
class Group:
    op: str  # and / or
    parts: tuple[Criterion | Group, Criterion | Group]


@dataclass(frozen=True)
class Aggregate:
    """`COUNT(id) as total` in a select: the function, its column and the answer's key (the
    alias, else the text as written)."""

    function: str  # count sum min max avg
    column: str
    key: str
    at: int = 0
    alias: bool = False


@dataclass(frozen=True)
class Query:
    columns: tuple[str, ...]  # the plain columns of the select
    module: str
    where: Criterion | Group
    order: tuple[tuple[str, bool], ...]  # (column, descending)
    limit: int
    offset: int
    aggregates: tuple[Aggregate, ...] = ()
    group: tuple[str, ...] = ()
    items: tuple[str | Aggregate, ...] = ()  # the select in order


def syntax_error(token: Token) -> ZohoError:
    near = token.text if token.kind != "end" else ""
    return ZohoError(400, "SYNTAX_ERROR", SYNTAX, {"line": 1, "column": token.column, "near": near})


def tokens(text: str) -> list[Token]:
    out: list[Token] = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        found = TOKEN.match(text, at)
        if found is None or found.end() == at:
            column = at + 1 + (len(text[at:]) - len(text[at:].lstrip()))
            raise syntax_error(Token("op", text[at:].strip()[:1], column))
        kind = found.lastgroup or "op"
        out.append(Token(kind, found.group(kind), found.start(kind) + 1))
        at = found.end()
    out.append(Token("end", "", len(text) + 1))
    return out


class Parser:
    def __init__(self, text: str):
        self.items = tokens(text)
        self.at = 0

    @property
    def here(self) -> Token:
        return self.items[self.at]

    def take(self) -> Token:
        token = self.items[self.at]
        self.at += 1
        return token

    def expect(self, word: str) -> None:
        token = self.take()
        if token.word != word and not (token.kind == "op" and token.text == word):
            raise syntax_error(token)

    def query(self) -> Query:
        self.expect("select")
        items = [self.item()]
        while self.here.text == ",":
            self.take()
            items.append(self.item())
        self.expect("from")
        module = self.take()
        if module.kind != "name" or module.word in RESERVED:
            raise syntax_error(module)
        if self.here.word != "where":
            raise ZohoError(400, "SYNTAX_ERROR", SYNTAX, {"clause": "where"})
        self.take()
        where = self.criteria()
        order: list[tuple[str, bool]] = []
        limit, offset = 200, 0
        group: list[str] = []
        if self.here.word == "group":
            self.take()
            self.expect("by")
            group.append(self.column())
            while self.here.text == ",":
                self.take()
                group.append(self.column())
        if self.here.word == "having":
            raise syntax_error(self.here)
        if self.here.word == "order":
            self.take()
            self.expect("by")
            while True:
                name = self.column()
                descending = False
                if self.here.word in ("asc", "desc"):
                    descending = self.take().word == "desc"
                order.append((name, descending))
                if self.here.text != ",":
                    break
                self.take()
        if self.here.word == "limit":
            self.take()
            limit = self.whole()
            if self.here.text == ",":  # limit offset, count
                self.take()
                offset, limit = limit, self.whole()
        if self.here.word == "offset":
            self.take()
            offset = self.whole()
        if self.here.kind != "end":
            raise syntax_error(self.here)
        columns = tuple(i for i in items if isinstance(i, str))
        aggregates = tuple(i for i in items if isinstance(i, Aggregate))
        return Query(
            columns,
            module.text,
            where,
            tuple(order),
            limit,
            offset,
            aggregates,
            tuple(group),
            tuple(items),
        )

    def item(self) -> str | Aggregate:
        """A column of the select: a field, or an aggregate of one."""
        token = self.here
        following = self.items[self.at + 1]
        if token.word not in AGGREGATES or following.text != "(":
            return self.column(select=True)
        self.take()
        self.take()
        column = self.column()
        self.expect(")")
        key, alias = f"{token.text}({column})", False
        if self.here.word == "as":
            self.take()
            named = self.take()
            if named.kind != "name":
                raise syntax_error(named)
            key, alias = named.text, True
        return Aggregate(token.word, column, key, token.column, alias)

    def whole(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            raise syntax_error(token)
        return int(token.text)

    def column(self, select: bool = False) -> str:
        token = self.take()
        if token.kind in ("string", "dq"):
            return token.text[1:-1].replace(token.text[0] * 2, token.text[0])
        if token.kind != "name" or token.word in RESERVED:
            raise syntax_error(token)
        if select and self.here.text == "(":
            raise syntax_error(token)  # a function COQL does not have
        return token.text

    def criteria(self) -> Criterion | Group:
        """One level: a term, or two terms joined by and/or (a third needs parentheses)."""
        first = self.term()
        if self.here.word not in ("and", "or"):
            return first
        op = self.take().word
        second = self.term()
        if self.here.word in ("and", "or"):
            raise syntax_error(self.here)  # > 2 criteria must be parenthesised pairwise
        return Group(op, (first, second))

    def term(self) -> Criterion | Group:
        if self.here.text == "(":
            self.take()
            inner = self.criteria()
            self.expect(")")
            return inner
        return self.criterion()

    def criterion(self) -> Criterion:
        start = self.here.column
        name = self.column()
        token = self.take()
        negated = False
        if token.word == "is":
            if self.here.word == "not":
                self.take()
                negated = True
            self.expect("null")
            return Criterion(name, "not_null" if negated else "is_null", (), start)
        if token.kind == "op" and token.text in ("=", "!=", "<>", "<", "<=", ">", ">="):
            op = "!=" if token.text == "<>" else token.text
            return Criterion(name, op, (self.value(),), start)
        if token.word == "not":
            negated = True
            token = self.take()
        prefix = "not_" if negated else ""
        if token.word == "in":
            self.expect("(")
            values = [self.value()]
            while self.here.text == ",":
                self.take()
                values.append(self.value())
            self.expect(")")
            return Criterion(name, prefix + "in", tuple(values), start)
        if token.word == "between":
            low = self.value()
            self.expect("and")
            return Criterion(name, prefix + "between", (low, self.value()), start)
        if token.word == "like":
            pattern = self.take()
            if pattern.kind != "string":
                raise syntax_error(pattern)
            return Criterion(name, prefix + "like", (_unquote(pattern.text),), start)
        raise syntax_error(token)

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.word in ("true", "false"):
            return token.word == "true"
        if token.word == "null":
            return None
        raise syntax_error(token)


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def parse(text: str) -> Query:
    return Parser(text).query()


def count_criteria(where: Criterion | Group) -> int:
    if isinstance(where, Criterion):
        return 1
    return sum(count_criteria(p) for p in where.parts)
