"""Compiling spec expressions once: JMESPath for the general case, a direct getter for plain
field paths (they never enter the interpreter), constants for literals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath import exceptions as jp_errors

from integrate.errors import Location, RecordError
from integrate.exprlimits import (
    MAX_DEPTH,
    BoundedInterpreter,
    depth_of,
    growth_problem,
    nesting_problem,
)
from integrate.functions import FunctionLibrary


@dataclass(frozen=True, eq=False)
class Expr:
    """A compiled expression with the place in the spec it came from."""

    text: str
    location: Location
    fn: Callable[[Any], Any]
    constant: bool = False
    path: tuple[str, ...] | None = None  # set when the expression is a plain field path
    # Every field name the expression may read (a superset), None when it may read any.
    fields: frozenset[str] | None = frozenset()
    # The fields it reads at the top of the record itself (not inside a projection, filter
    # or function argument given by &): what a field catalogue can check.
    roots: frozenset[str] = frozenset()

    def __call__(self, data: Any) -> Any:
        try:
            return self.fn(data)
        except RecordError as exc:
            if exc.location is None:
                exc.location = self.location
            raise
        except jp_errors.JMESPathError as exc:
            raise RecordError(f"{self.short}: {_one_line(exc)}", location=self.location) from exc
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise RecordError(f"{self.short}: {exc}", location=self.location) from exc
        except RecursionError as exc:
            # Only data nested hundreds of levels deep gets here (the expression's own depth
            # is bounded when it is compiled).
            raise RecordError(
                f"{self.short}: the record is nested too deeply to evaluate this",
                location=self.location,
            ) from exc

    @property
    def short(self) -> str:
        """The expression's text, cut to one readable line for messages."""
        return self.text if len(self.text) <= 80 else self.text[:77] + "..."

    def __repr__(self) -> str:
        return f"Expr({self.text!r} at {self.location})"


class ExpressionError(Exception):
    """An expression that does not compile; `offset` is the column within the text."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.message = message
        self.offset = offset


def constant(value: Any, location: Location) -> Expr:
    return Expr(repr(value), location, lambda _data: value, constant=True)


def compile_expr(text: str, location: Location, library: FunctionLibrary) -> Expr:
    """Compile once; raise ExpressionError (with the column offset) if it is not valid, nests
    too deeply, or can grow its result beyond the limits (see exprlimits)."""
    nesting = nesting_problem(text)
    if nesting is not None:
        raise ExpressionError(*nesting)
    try:
        parsed = jmespath.compile(text)
    except jp_errors.ParseError as exc:
        position = exc.lex_position if isinstance(exc.lex_position, int) else 0
        detail = _parse_detail(exc)
        raise ExpressionError(f"invalid expression {_shown(text)}: {detail}", position) from exc
    except jp_errors.JMESPathError as exc:
        raise ExpressionError(f"invalid expression {_shown(text)}: {_one_line(exc)}") from exc
    except RecursionError as exc:
        # Brackets are bounded above; a long run of `!` or `[*]` can still exhaust the parser.
        raise ExpressionError(
            f"the expression nests deeper than {MAX_DEPTH} levels: split it"
        ) from exc
    ast: dict[str, Any] = parsed.parsed  # type: ignore[assignment]
    grows = growth_problem(ast)
    if grows is not None:
        raise ExpressionError(grows)
    if depth_of(ast) > MAX_DEPTH:
        raise ExpressionError(
            f"the expression nests deeper than {MAX_DEPTH} levels (a long chain of `||`, "
            "`|` or `[]`): split it"
        )
    check_functions(ast, library)
    check_negations(ast, text)
    if ast["type"] == "literal":
        return constant(ast["value"], location)
    path = plain_path(ast)
    if path is not None:
        return Expr(
            text,
            location,
            _getter(path),
            path=path,
            fields=frozenset(path[:1]),
            roots=frozenset(path[:1]),
        )
    interpreter = BoundedInterpreter(library.options())
    visit = interpreter.visit
    tree: Any = ast

    def search(data: Any) -> Any:
        return visit(tree, data)

    return Expr(text, location, search, fields=field_names(ast), roots=root_fields(ast))


def plain_path(ast: dict[str, Any]) -> tuple[str, ...] | None:
    """('Owner', 'email') for `Owner.email`; None for anything that needs the interpreter."""
    if ast["type"] == "field":
        return (ast["value"],)
    if ast["type"] == "subexpression" and all(c["type"] == "field" for c in ast["children"]):
        return tuple(c["value"] for c in ast["children"])
    return None


def _getter(path: tuple[str, ...]) -> Callable[[Any], Any]:
    if len(path) == 1:
        key = path[0]

        def get_one(data: Any) -> Any:
            return data.get(key) if isinstance(data, dict) else None

        return get_one

    def get_path(data: Any) -> Any:
        for key in path:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
        return data

    return get_path


# Nodes whose first child is read from the current value and the rest from what it gives.
_CHAINS = frozenset(
    {"subexpression", "index_expression", "pipe", "projection", "value_projection", "flatten"}
)


def root_fields(ast: dict[str, Any]) -> frozenset[str]:
    """The field names an expression reads from the record it is given (`lower(Email)`,
    `a.b`: Email, a), leaving out those read from a value found inside it (`a[?b]`: b)."""
    names: set[str] = set()
    stack = [ast]
    while stack:
        node = stack.pop()
        kind = node.get("type")
        children = [c for c in node.get("children", ()) if isinstance(c, dict)]
        if kind == "field":
            names.add(str(node["value"]))
        elif kind in _CHAINS or kind == "filter_projection":
            stack.extend(children[:1])
        elif kind != "expref":
            stack.extend(children)
    return frozenset(names)


def field_names(ast: dict[str, Any]) -> frozenset[str] | None:
    """Every identifier an expression names (more than it reads, never less), or None when
    it may read fields it does not name (`*`, `keys(@)`, `values(@)`)."""
    names: set[str] = set()
    stack = [ast]
    while stack:
        node = stack.pop()
        kind = node.get("type")
        if kind == "field":
            names.add(str(node["value"]))
        elif kind == "value_projection" or (
            kind == "function_expression" and node.get("value") in ("keys", "values", "to_array")
        ):
            return None
        stack.extend(child for child in node.get("children", ()) if isinstance(child, dict))
    return frozenset(names)


def check_negations(ast: dict[str, Any], text: str) -> None:
    """`!a.b` reads as `(!a).b` in JMESPath: a field of true or false, always null. Refuse it
    and say what was meant."""
    stack = [ast]
    while stack:
        node = stack.pop()
        children = [c for c in node.get("children", ()) if isinstance(c, dict)]
        if node.get("type") in ("subexpression", "index_expression") and children:
            first = children[0]
            if first.get("type") == "not_expression":
                raise ExpressionError(
                    f"invalid expression {text!r}: `!` applies only to what follows it up to "
                    "the first `.` or `[`, so `!a.b` is always null: write `!(a.b)`"
                )
        stack.extend(children)


def function_calls(ast: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every function_expression node in an AST."""
    if ast.get("type") == "function_expression":
        yield ast
    for child in ast.get("children", ()):
        if isinstance(child, dict):
            yield from function_calls(child)


def check_functions(ast: dict[str, Any], library: FunctionLibrary) -> None:
    for call in function_calls(ast):
        name = call["value"]
        arity = library.arity(name)
        if arity is None:
            import difflib

            close = difflib.get_close_matches(name, library.names(), n=1)
            hint = f" (did you mean {close[0]}()?)" if close else ""
            raise ExpressionError(f"unknown function {name}(){hint}")
        count, variadic = arity
        given = len(call["children"])
        if (variadic and given < count) or (not variadic and given != count):
            wanted = f"at least {count}" if variadic else str(count)
            raise ExpressionError(
                f"{name}() takes {wanted} argument{'s' if count != 1 else ''}, got {given}"
            )


def literal_args(call: dict[str, Any]) -> list[Any]:
    """The literal values of a call's arguments (None where an argument is not a literal)."""
    return [c.get("value") if c.get("type") == "literal" else None for c in call["children"]]


def parse(text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = jmespath.compile(text).parsed  # type: ignore[assignment]
    return parsed


def _parse_detail(exc: jp_errors.ParseError) -> str:
    if type(exc) is jp_errors.ParseError:
        # Its str() adds "Parse error at column N ... for expression:" and the expression on
        # further lines; the column is reported as the problem's own.
        head = exc.msg
    else:
        lines = str(exc).splitlines()
        head = lines[0] if lines else "syntax error"
    for prefix in ("Invalid jmespath expression: ", "Bad jmespath expression: "):
        head = head.removeprefix(prefix)
    head = head.rstrip(":")
    if exc.token_value is not None and "Incomplete" not in head:
        return f"{head} (near {exc.token_value!r})"
    return head.rstrip(":")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
