"""Search criteria (§2.2): `((Email:equals:a@b.com)and(Last_Name:starts_with:M))`, or the
`email=`, `phone=` and `word=` shortcuts. Comparisons ignore case (ASSUMED, as Zoho's
search does for text)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from integrate_zoho_crm.emulator.catalogue import Module
from integrate_zoho_crm.emulator.errors import ZohoError, missing_param
from integrate_zoho_crm.emulator.store import Row, Store
from integrate_zoho_crm.emulator.values import iso, parse_time

MAX_CRITERIA = 10
OPERATORS = (
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
)
ORDERED = {"integer", "double", "currency", "date", "datetime", "bigint"}
TEXTUAL = {"text", "textarea", "email", "phone", "website", "picklist"}
Match = Callable[[Row], bool]
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "greater_than": operator.gt,
    "greater_equal": operator.ge,
    "less_than": operator.lt,
    "less_equal": operator.le,
}


def _bad(reason: str, **details: str) -> ZohoError:
    return ZohoError(400, "INVALID_QUERY", "invalid query formed", {"reason": reason, **details})


def _split(text: str, sep: str, limit: int = -1) -> list[str]:
    """Split on unescaped separators, then drop the escapes (\\( \\) \\, \\\\)."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if char == sep and (limit < 0 or len(parts) < limit):
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


class _Parser:
    def __init__(self, module: Module, store: Store, text: str):
        self.module = module
        self.store = store
        self.text = text
        self.conditions = 0

    def parse(self) -> Match:
        text = self.text.strip()
        if not text.startswith("("):
            self.text = text = f"({text})"
        match, end = self._group(0)
        if end != len(text):
            raise _bad("invalid criteria")
        return match

    def _group(self, i: int) -> tuple[Match, int]:
        text = self.text
        if i >= len(text) or text[i] != "(":
            raise _bad("invalid criteria")
        i += 1
        if i < len(text) and text[i] == "(":
            match, i = self._group(i)
            while i < len(text) and text[i] != ")":
                word = re.match(r"\s*(and|or)\s*", text[i:], re.IGNORECASE)
                if word is None:
                    raise _bad("invalid criteria")
                i += word.end()
                right, i = self._group(i)
                match = _join(word.group(1).lower(), match, right)
            if i >= len(text):
                raise _bad("invalid criteria")
            return match, i + 1
        start = i
        while i < len(text) and text[i] != ")":
            i += 2 if text[i] == "\\" else 1
        if i >= len(text):
            raise _bad("invalid criteria")
        return self._condition(text[start:i]), i + 1

    def _condition(self, text: str) -> Match:
        self.conditions += 1
        if self.conditions > MAX_CRITERIA:
            raise _bad("more than 10 criteria")
        raw = text.split(":", 2)
        if len(raw) != 3:
            raise _bad("invalid criteria")
        name, op, value = raw[0].strip(), raw[1].strip(), raw[2]
        field = self.module.by_name.get(name)
        if field is None:
            raise _bad("the field is not available for search", api_name=name)
        if op not in OPERATORS:
            raise _bad("invalid operator found", api_name=name, operator=op)
        if op in ("greater_than", "greater_equal", "less_than", "less_equal") and (
            field.data_type not in ORDERED and name not in ("Created_Time", "Modified_Time")
        ):
            raise _bad("invalid operator found", api_name=name, operator=op)
        values = _split(value, ",") if op == "in" else _split(value, "\x00")
        store = self.store
        wanted = [v.strip().lower() for v in values]

        def candidates(row: Row) -> list[str]:
            return _texts(store, row, name, field.data_type)

        if op in ("equals", "in"):
            return lambda row: any(c in wanted for c in candidates(row))
        if op == "not_equal":
            return lambda row: all(c not in wanted for c in candidates(row))
        if op == "starts_with":
            return lambda row: any(c.startswith(wanted[0]) for c in candidates(row))
        limit = _order_key(field.data_type, name, values[0])
        compare = COMPARISONS[op]

        def ordered(row: Row) -> bool:
            value = _value(row, name)
            if value is None:
                return False
            return bool(compare(_order_key(field.data_type, name, str(value)), limit))

        return ordered


def _join(word: str, left: Match, right: Match) -> Match:
    if word == "and":
        return lambda row: left(row) and right(row)
    return lambda row: left(row) or right(row)


def _value(row: Row, name: str) -> Any:
    if name == "Created_Time":
        return iso(row.created)
    if name == "Modified_Time":
        return iso(row.modified)
    if name == "id":
        return row.id
    return row.values.get(name)


def _order_key(data_type: str, name: str, text: str) -> Any:
    if data_type == "datetime" or name in ("Created_Time", "Modified_Time"):
        seconds = parse_time(text)
        if seconds is None:
            raise _bad("invalid value", api_name=name)
        return seconds
    if data_type == "date":
        return text.strip()
    try:
        return float(text)
    except ValueError:
        raise _bad("invalid value", api_name=name) from None


def _texts(store: Store, row: Row, name: str, data_type: str) -> list[str]:
    value = _value(row, name)
    if value is None:
        return []
    if data_type == "lookup":
        ref = store.lookup_ref(value)
        return [str(value).lower(), str(ref["name"]).lower()] if ref else [str(value).lower()]
    if data_type in ("ownerlookup", "userlookup"):
        user = store.user_ref(value)
        return [str(value)] + ([user["name"].lower(), user["email"].lower()] if user else [])
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, float) and value.is_integer():
        return [str(int(value)), str(value)]
    if isinstance(value, list):
        return [str(v).lower() for v in value]
    return [str(value).lower()]


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def matcher(module: Module, args: Mapping[str, str], store: Store, optional: bool = False) -> Match:
    """The search filter the request asks for."""
    if args.get("criteria"):
        return _Parser(module, store, args["criteria"]).parse()
    if args.get("email"):
        email = args["email"].strip().lower()
        names = [f.api_name for f in module.fields if f.data_type == "email"]
        return lambda row: any(str(row.values.get(n) or "").lower() == email for n in names)
    if args.get("phone"):
        phone = _digits(args["phone"])
        names = [f.api_name for f in module.fields if f.data_type == "phone"]
        return lambda row: (
            bool(phone) and any(_digits(str(row.values.get(n) or "")) == phone for n in names)
        )
    if args.get("word"):
        word = args["word"].strip().lower()
        names = [f.api_name for f in module.fields if f.data_type in TEXTUAL]
        return lambda row: any(word in str(row.values.get(n) or "").lower() for n in names)
    if optional:
        return lambda row: True
    raise missing_param("criteria")
