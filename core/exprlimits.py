"""Bounds on what one expression may cost: how deep it nests, how much larger than its input
its result can grow (both known when the spec is built), and how large a result may become
while a record is evaluated (checked as it is built, so a runaway fails that record only)."""

from __future__ import annotations

from typing import Any

from jmespath import visitor

# Brackets, parentheses and braces inside one expression; and levels of its syntax tree.
MAX_NESTING = 32
MAX_DEPTH = 64
# How many times larger than the record it reads an expression's result may be able to grow.
MAX_GROWTH = 100_000
# Characters of text plus items of lists and objects in one result (or any step towards it).
MAX_RESULT = 16 * 1024 * 1024

_OPEN = "([{"
_CLOSE = ")]}"
_QUOTES = "'\"`"


def nesting_problem(text: str) -> tuple[str, int] | None:
    """(message, offset) when brackets nest deeper than MAX_NESTING; read before parsing,
    whose recursion a deep nesting would exhaust. Quoted text and literals are skipped."""
    depth = 0
    quote = ""
    escaped = False
    for offset, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in _QUOTES:
            quote = char
        elif char in _OPEN:
            depth += 1
            if depth > MAX_NESTING:
                return (
                    f"the expression nests brackets deeper than {MAX_NESTING} levels: "
                    "split it (a `let` value, or one field per step)",
                    offset,
                )
        elif char in _CLOSE:
            depth = max(0, depth - 1)
    return None


def depth_of(ast: dict[str, Any]) -> int:
    """Levels of a syntax tree (counted without recursion)."""
    deepest = 0
    stack = [(ast, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((c, level + 1) for c in node.get("children", ()) if isinstance(c, dict))
    return deepest


Growth = tuple[float, float]


def growth(ast: dict[str, Any]) -> Growth:
    """(factor, constant): a bound on the size of the result, `factor` times the size of the
    input + `constant`. `[@, @]` doubles both, a pipe or projection composes its sides, a
    function adds its arguments. Worked out without recursion (trees may be deep)."""
    done: dict[int, Growth] = {}
    stack: list[tuple[dict[str, Any], bool]] = [(ast, False)]
    while stack:
        node, ready = stack.pop()
        children = [c for c in node.get("children", ()) if isinstance(c, dict)]
        if not ready:
            stack.append((node, True))
            stack.extend((c, False) for c in children)
            continue
        done[id(node)] = _node_growth(node, [done[id(c)] for c in children], children)
    return done[id(ast)]


def _node_growth(node: dict[str, Any], parts: list[Growth], args: list[dict[str, Any]]) -> Growth:
    kind = node.get("type")
    if kind == "literal":
        return 0.0, float(result_size(node.get("value")))
    if kind in ("comparator", "not_expression"):
        return 0.0, 1.0
    if kind in ("field", "current", "identity", "index", "slice"):
        return 1.0, 0.0
    if kind in ("multi_select_list", "multi_select_dict"):
        return _sum(parts)
    if kind in ("or_expression", "and_expression"):
        return max((p[0] for p in parts), default=0.0), max((p[1] for p in parts), default=0.0)
    if kind in ("subexpression", "index_expression", "pipe"):
        out: Growth = (1.0, 0.0)
        for part in parts:
            out = _then(out, part)
        return out
    if kind in ("projection", "value_projection", "filter_projection") and len(parts) > 1:
        return _then(parts[0], parts[1])
    if kind == "function_expression":
        name = node.get("value")
        if name == "replace" and len(parts) == 3:
            text, old, new = parts
            if args[1].get("type") == "literal" and args[2].get("type") == "literal":
                ratio = max(1.0, new[1] / max(1.0, old[1]))
            else:
                ratio = max(1.0, new[0] + new[1])
            return text[0] * ratio, text[1] * ratio
        if name == "map" and len(parts) == 2:
            return _then(parts[1], parts[0])
        return _sum(parts)
    # flatten, key_val_pair, expref: as large as what they hold
    return parts[0] if parts else (1.0, 0.0)


def _then(first: Growth, second: Growth) -> Growth:
    """`second` applied to what `first` made."""
    return second[0] * first[0], second[0] * first[1] + second[1]


def _sum(parts: list[Growth]) -> Growth:
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def growth_problem(ast: dict[str, Any]) -> str | None:
    """Why the expression may build a result too large to evaluate, or None."""
    factor, constant = growth(ast)
    if factor > MAX_GROWTH or constant > MAX_RESULT:
        return (
            "the expression can build a result thousands of times larger than the record it "
            "reads (a value copied into itself again and again); results are limited to "
            f"{MAX_RESULT:,} characters and items: simplify it"
        )
    return None


def result_size(value: Any) -> int:
    """Characters of text plus items of lists and objects in `value`. A part that appears
    several times counts each time, but is measured once (`[@, @]` builds shared parts)."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list | dict):
        return 1
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, measured = stack.pop()
        parts = list(node.values()) if isinstance(node, dict) else node
        if measured:
            total = len(parts)
            if isinstance(node, dict):
                total += sum(len(k) for k in node if isinstance(k, str))
            for part in parts:
                if isinstance(part, str):
                    total += len(part)
                elif isinstance(part, list | dict):
                    total += sizes[id(part)]
            sizes[id(node)] = total
            continue
        if id(node) in sizes:
            continue
        stack.append((node, True))
        stack.extend((p, False) for p in parts if isinstance(p, list | dict) and id(p) not in sizes)
    return sizes[id(value)]


class ResultTooLarge(ValueError):
    """A step of an expression built a value over MAX_RESULT (fails the record)."""


class BoundedInterpreter(visitor.TreeInterpreter):
    """JMESPath's interpreter, with every step that builds a value checked against
    MAX_RESULT before the next step can grow it further."""

    def _bounded(self, result: Any) -> Any:
        if isinstance(result, str | list | dict):
            size = result_size(result)
            if size > MAX_RESULT:
                raise ResultTooLarge(
                    f"the result grew past {MAX_RESULT:,} characters and items "
                    f"({size:,}); expressions are limited to that"
                )
        return result

    def visit_function_expression(self, node: Any, value: Any) -> Any:
        return self._bounded(super().visit_function_expression(node, value))

    def visit_multi_select_list(self, node: Any, value: Any) -> Any:
        return self._bounded(super().visit_multi_select_list(node, value))

    def visit_multi_select_dict(self, node: Any, value: Any) -> Any:
        return self._bounded(super().visit_multi_select_dict(node, value))

    def visit_projection(self, node: Any, value: Any) -> Any:
        return self._bounded(super().visit_projection(node, value))

    def visit_value_projection(self, node: Any, value: Any) -> Any:
        return self._bounded(super().visit_value_projection(node, value))

    def visit_filter_projection(self, node: Any, value: Any) -> Any:
        return self._bounded(super().visit_filter_projection(node, value))

    def visit_flatten(self, node: Any, value: Any) -> Any:
        return self._bounded(super().visit_flatten(node, value))
