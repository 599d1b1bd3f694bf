"""A flow's filter as a neutral condition tree, so a connector can ask its system for only
the records that may match (push-down) instead of reading them all.

`compile_filter` turns a filter expression (its JMESPath AST) into a `Condition` when it can,
else answers None. The tree may match MORE records than the filter (a superset), never fewer:
the engine still applies the full filter to every record read, so correctness never depends
on the push-down. What the leaves mean, for a record:

- `Compare(field, op, value)`: the field's value is not null and compares with `value` as
  `op` says; `==`/`!=` compare values of one kind (a boolean never equals a number); the
  ordering operators are used with numbers only.
- `IsNull(field)` / `IsNull(field, negated=True)`: the field is null (or missing) / is not.
- `IsTrue(field)`: the field holds the boolean true.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from jmespath.exceptions import JMESPathError

from integrate.expressions import Expr, parse

# JMESPath's comparator names -> the tree's operators
OPERATORS = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
ORDERING = frozenset({"<", "<=", ">", ">="})
Scalar = str | int | float | bool


@dataclass(frozen=True)
class Compare:
    """The field is not null and compares with `value` as `op` says."""

    field: str
    op: str  # == != < <= > >=
    value: Scalar


@dataclass(frozen=True)
class IsNull:
    """The field is null or missing (`negated`: it holds a value)."""

    field: str
    negated: bool = False


@dataclass(frozen=True)
class IsTrue:
    """The field holds the boolean true."""

    field: str


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


Condition = Compare | IsNull | IsTrue | And | Or | Not
Leaf = Compare | IsNull | IsTrue


# ---- compiling a filter ----------------------------------------------------------------------


def compile_filter(expr: Expr, *, booleans: Collection[str] = ()) -> Condition | None:
    """The condition a connector may push down for the filter `expr` (a superset of what it
    lets through), or None when no part of it can be said so. `booleans` are the fields the
    object's catalogue types as boolean: only those push as a bare field (`Active`), since
    JMESPath's truthiness of a string, list or object is not a comparison."""
    if expr.constant:
        return None
    try:
        ast = parse(expr.text)
    except JMESPathError:  # compiled once already: only a constant gets here
        return None
    found = _compile(ast, frozenset(booleans))
    return found[0] if found is not None else None


# (condition, exact): exact when it matches exactly the records the expression lets through
Compiled = tuple[Condition, bool]


def _compile(node: dict[str, Any], booleans: frozenset[str]) -> Compiled | None:
    kind = node.get("type")
    children = [c for c in node.get("children", ()) if isinstance(c, dict)]
    if kind == "and_expression":
        parts = [_compile(c, booleans) for c in children]
        kept = [p for p in parts if p is not None]
        if not kept:
            return None
        exact = len(kept) == len(parts) and all(e for _c, e in kept)
        return _joined(And, [c for c, _e in kept]), exact
    if kind == "or_expression":
        found = [_compile(c, booleans) for c in children]
        branches = [p for p in found if p is not None]
        if len(branches) != len(found):
            return None  # a branch that cannot be said could let any record through
        return _joined(Or, [c for c, _e in branches]), all(e for _c, e in branches)
    if kind == "not_expression":
        inner = _compile(children[0], booleans) if children else None
        if inner is None or not inner[1]:
            return None  # the negation of a superset is not a superset
        return Not(inner[0]), True
    if kind == "comparator":
        leaf = _comparison(node, children)
        return (leaf, True) if leaf is not None else None
    name = _field(node)
    if name is not None and name in booleans:
        return IsTrue(name), True
    return None


def _joined(kind: type[And] | type[Or], parts: list[Condition]) -> Condition:
    flat: list[Condition] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, kind) else (part,))
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def _field(node: dict[str, Any]) -> str | None:
    """The name of a plain top-level field (`Email`), else None (`a.b`, `let.x`, `$object`)."""
    if node.get("type") != "field":
        return None
    name = str(node["value"])
    if name.startswith("$") or name == "let":
        return None
    return name


def _comparison(node: dict[str, Any], children: list[dict[str, Any]]) -> Condition | None:
    op = OPERATORS.get(str(node.get("value")))
    if op is None or len(children) != 2:
        return None
    left, right = children
    if _field(left) is not None and right.get("type") == "literal":
        name, value = _field(left), right.get("value")
    elif _field(right) is not None and left.get("type") == "literal":
        name, value, op = _field(right), left.get("value"), FLIPPED[op]
    else:
        return None
    assert name is not None
    if value is None:
        if op == "==":
            return IsNull(name)
        if op == "!=":
            return IsNull(name, negated=True)
        return None  # ordering with null: always null in JMESPath
    if not isinstance(value, (str, int, float, bool)):
        return None  # a list or object literal
    if op in ORDERING and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return None  # ordering is only pushed for numbers
    if op == "!=":
        # JMESPath: a null field differs from every value
        return Or((Compare(name, "!=", value), IsNull(name)))
    return Compare(name, op, value)


# ---- what connectors do with a condition ------------------------------------------------------


def without_not(condition: Condition) -> Condition:
    """The same condition with every Not pushed into the leaves (De Morgan; a negated
    comparison is the other comparison or null), for systems whose queries have no NOT."""
    return _push(condition, negate=False)


_NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _push(c: Condition, negate: bool) -> Condition:
    if isinstance(c, Not):
        return _push(c.part, not negate)
    if isinstance(c, (And, Or)):
        parts = tuple(_push(p, negate) for p in c.parts)
        flip = (Or if isinstance(c, And) else And) if negate else type(c)
        return flip(parts)
    if not negate:
        return c
    if isinstance(c, IsNull):
        return IsNull(c.field, not c.negated)
    if isinstance(c, IsTrue):
        return Or((IsNull(c.field), Compare(c.field, "!=", True)))
    # not (a == x): a is null, or differs. Not (a < 5): a is null, or a >= 5, or a is not a
    # number, which a connector rules out by pushing ordering only on numeric fields.
    return Or((Compare(c.field, _NEGATED[c.op], c.value), IsNull(c.field)))


def keep_sayable(condition: Condition, sayable: Callable[[Leaf], bool]) -> Condition | None:
    """The part of a Not-free condition a system can say (`sayable` answers per leaf), still
    a superset: a leaf it cannot say is dropped from an And, and makes a whole Or unsayable.
    None when nothing is left."""
    if isinstance(condition, Not):
        raise ValueError("keep_sayable takes a condition without Not (see without_not)")
    if isinstance(condition, And):
        kept = [k for p in condition.parts if (k := keep_sayable(p, sayable)) is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else And(tuple(kept))
    if isinstance(condition, Or):
        parts = [keep_sayable(p, sayable) for p in condition.parts]
        if any(p is None or p != q for p, q in zip(parts, condition.parts, strict=True)):
            return None
        return condition
    return condition if sayable(condition) else None


def matches(condition: Condition, record: Mapping[str, Any]) -> bool:
    """Whether a record meets the condition, as the leaves above define it."""
    if isinstance(condition, And):
        return all(matches(p, record) for p in condition.parts)
    if isinstance(condition, Or):
        return any(matches(p, record) for p in condition.parts)
    if isinstance(condition, Not):
        return not matches(condition.part, record)
    value = record.get(condition.field)
    if isinstance(condition, IsNull):
        return (value is None) != condition.negated
    if isinstance(condition, IsTrue):
        return value is True
    if value is None:
        return False
    if condition.op in ORDERING:
        if not _number(value) or not _number(condition.value):
            return False
        return _ORDER[condition.op](value, condition.value)
    same = _same(value, condition.value)
    return same if condition.op == "==" else not same


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
