"""`search_criteria` and `search_fields` of list_info (§1.5), evaluated on records as the API
renders them.

- A criterion is `{field, condition, value | values, logical_operator, children}`; the
  criteria are one object or a list. In a list, each item after the first joins the result
  so far with its own `logical_operator` (`and` when absent), left to right, no precedence
  (ASSUMED); an item's `children` join its own condition the same way.
- Conditions: `is`, `is not`, `contains`, `not contains`, `starts with`, `ends with`,
  `greater than`, `lesser than`, `between` (spaced or underscored, any case; ASSUMED).
  `values` (a list) means any of them for `is`/`contains`/`starts with`/`ends with`, none
  of them for the negations; `between` takes `values: [low, high]`, inclusive.
- Fields are dotted paths into the rendered record (`account.id`, `site.name`,
  `department.site.name`, `udf_fields.udf_char1`); the first step must be a field of the
  module (else 4000). A lookup object compares by its `name`, a date/time field by its
  `value` (epoch millis).
- Text compares exactly (case counts), except e-mail fields (`email_id`, ...), which
  compare case-insensitively (ASSUMED per §1.5). Ordered conditions compare numbers when
  both sides are numbers, else text.
- `search_fields` `{field: value}` is the same as `is` on each field, all joined with `and`
  (ASSUMED: §1.5 calls it a "simple match").
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from integrate_servicedesk_msp.emulator.errors import bad_input

Record = dict[str, Any]
Match = Callable[[Record], bool]
CONDITIONS = (
    "is",
    "is not",
    "contains",
    "not contains",
    "starts with",
    "ends with",
    "greater than",
    "lesser than",
    "between",
)


def condition_name(text: Any) -> str:
    if not isinstance(text, str):
        raise bad_input("condition must be a string", field="condition")
    name = " ".join(text.replace("_", " ").lower().split())
    if name not in CONDITIONS:
        raise bad_input(f"unknown condition {text!r}", field="condition")
    return name


def resolve(record: Record, path: str) -> Any:
    """The value at a dotted path; lookups read as their name, dates as their millis."""
    value: Any = record
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return plain(value)


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        if "value" in value and "display_value" in value:
            return value["value"]
        return value.get("name")
    return value


def _folded(path: str) -> bool:
    return "email" in path.rsplit(".", 1)[-1]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any, fold: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return text.casefold() if fold else text


def _compare(have: Any, want: Any, fold: bool) -> int | None:
    """-1/0/1 comparing a record value with a wanted one; None if either is null."""
    a, b = _number(have), _number(want)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = _text(have, fold), _text(want, fold)
    if x is None or y is None:
        return None
    return (x > y) - (x < y)


def _test(name: str, have: Any, wanted: list[Any], fold: bool) -> bool:
    if isinstance(have, list):  # multi-valued fields: any element
        return (
            any(_test(name, h, wanted, fold) for h in have)
            if have
            else _test(name, None, wanted, fold)
        )
    if name == "is":
        return any(_equal(have, w, fold) for w in wanted)
    if name == "is not":
        return not any(_equal(have, w, fold) for w in wanted)
    if name == "between":
        low, high = _compare(have, wanted[0], fold), _compare(have, wanted[1], fold)
        return low is not None and high is not None and low >= 0 and high <= 0
    if name in ("greater than", "lesser than"):
        order = _compare(have, wanted[0], fold)
        return order is not None and (order > 0 if name == "greater than" else order < 0)
    text = _text(have, fold)
    found = text is not None and any(_part(name, text, _text(w, fold) or "") for w in wanted)
    return not found if name == "not contains" else found


def _part(name: str, text: str, want: str) -> bool:
    if name in ("contains", "not contains"):
        return want in text
    if name == "starts with":
        return text.startswith(want)
    return text.endswith(want)


def _equal(have: Any, want: Any, fold: bool) -> bool:
    if have is None or want is None:
        return have is None and want is None
    a, b = _number(have), _number(want)
    if a is not None and b is not None and not isinstance(have, str):
        return a == b
    return _text(have, fold) == _text(want, fold)


class Compiler:
    """Turns criteria into a predicate, checking each field's first step against the
    module's fields."""

    def __init__(self, fields: Collection[str]):
        self.fields = fields

    def field(self, path: Any) -> str:
        if not isinstance(path, str) or not path:
            raise bad_input("a search criterion needs a field", field="field")
        if path.split(".", 1)[0] not in self.fields:
            raise bad_input(f"{path} is not a field that can be searched", field=path)
        return path

    def criteria(self, given: Any) -> Match:
        items = given if isinstance(given, list) else [given]
        if not items:
            raise bad_input("search_criteria is empty", field="search_criteria")
        return self._chain([self._item(i) for i in items], items)

    def _chain(self, matches: list[Match], items: list[Any]) -> Match:
        joined = matches[0]
        for match, item in zip(matches[1:], items[1:], strict=True):
            joined = _join(joined, match, _operator(item))
        return joined

    def _item(self, item: Any) -> Match:
        if not isinstance(item, dict):
            raise bad_input("a search criterion is an object", field="search_criteria")
        children = item.get("children") or []
        if not isinstance(children, list):
            raise bad_input("children is a list", field="children")
        parts: list[Match] = []
        chained: list[Any] = []
        if "field" in item:
            parts.append(self.condition(item))
            chained.append(item)
        for child in children:
            parts.append(self._item(child))
            chained.append(child)
        if not parts:
            raise bad_input("a search criterion needs a field or children", field="search_criteria")
        return self._chain(parts, chained)

    def condition(self, item: dict[str, Any]) -> Match:
        path = self.field(item.get("field"))
        name = condition_name(item.get("condition", "is"))
        if "values" in item:
            wanted = item["values"]
            if not isinstance(wanted, list) or not wanted:
                raise bad_input("values is a non-empty list", field="values")
        elif "value" in item:
            wanted = [item["value"]]
        else:
            raise bad_input(f"no value to compare {path} with", field="value")
        if name == "between" and len(wanted) != 2:
            raise bad_input("between takes values: [low, high]", field="values")
        fold = _folded(path)
        wanted = list(wanted)
        return lambda record: _test(name, resolve(record, path), wanted, fold)

    def fields_match(self, given: Any) -> Match:
        if not isinstance(given, dict):
            raise bad_input("search_fields is an object", field="search_fields")
        items = [
            {"field": path, "condition": "is", "value": value} for path, value in given.items()
        ]
        if not items:
            return lambda record: True
        return self._chain([self.condition(i) for i in items], items)


def _operator(item: Any) -> str:
    op = item.get("logical_operator", "and") if isinstance(item, dict) else "and"
    if not isinstance(op, str) or op.lower() not in ("and", "or"):
        raise bad_input(f"logical_operator is and/or, not {op!r}", field="logical_operator")
    return op.lower()


def _join(left: Match, right: Match, op: str) -> Match:
    if op == "or":
        return lambda record: left(record) or right(record)
    return lambda record: left(record) and right(record)


def wanted_email(criteria: Any, fields: Any) -> str | None:
    """The e-mail an all-`and` search pins `email_id` to with `is`, if any (to use the
    e-mail index instead of scanning every requester)."""
    items: list[Any] = []
    if isinstance(fields, dict):
        items += [{"field": k, "condition": "is", "value": v} for k, v in fields.items()]
    if criteria is not None:
        items += criteria if isinstance(criteria, list) else [criteria]
    found = None
    for i, item in enumerate(items):
        if not isinstance(item, dict) or item.get("children"):
            return None
        if i and str(item.get("logical_operator", "and")).lower() != "and":
            return None
        value = item.get("value")
        condition = item.get("condition", "is")
        if (
            item.get("field") == "email_id"
            and isinstance(condition, str)
            and condition.strip().lower() == "is"
            and "values" not in item
            and isinstance(value, str)
        ):
            found = value
    return found
