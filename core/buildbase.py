"""The builder's tools: positions, problems, expressions compiled once with their
references checked, and the small value helpers the flow builders share."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from integrate.errors import Location, ProblemList
from integrate.expressions import (
    Expr,
    ExpressionError,
    compile_expr,
    constant,
    function_calls,
    literal_args,
    parse,
)
from integrate.functions import FunctionLibrary, context_functions
from integrate.loader import Document, JsonPath, json_path
from integrate.model import (
    ObjectRef,
)
from integrate.plugins import Plugins
from integrate.secrets import REFERENCE, ReferenceProblem, Resolver, Secret

RESERVED_SIDES = {"values", "default", "direction", "description"}
RULE_ACTIONS = ("skip", "queue", "defer", "fail", "set", "route")
DEFAULT_NORMALIZE = frozenset({"case", "whitespace"})


class BuilderBase:
    """Shared state and tools of the spec builder."""

    def __init__(
        self,
        doc: Document,
        plugins: Plugins | None,
        resolver: Resolver,
        problems: ProblemList,
        strict_env: bool,
    ):
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.plugins = plugins
        self.resolver = resolver
        self.problems = problems
        self.strict_env = strict_env
        extra = list(plugins.functions) if plugins is not None else []
        if plugins is None:
            from integrate.functions import CORE_FUNCTIONS

            extra = list(CORE_FUNCTIONS)
        self.library = FunctionLibrary([*extra, *context_functions()])
        self.flow_names = set(self.data.get("flows", {}))
        self.sync_flow_names = {
            name for name, raw in self.data.get("flows", {}).items() if "events" not in raw
        }
        self.connection_names = set(self.data.get("connections", {}))
        # JSON paths the schema refused; those parts are skipped.
        self.broken: set[str] = set()
        # linked() uses found while compiling, per flow, to check `after`.
        self._linked_uses: dict[str, list[tuple[str, JsonPath]]] = {}
        self._current_flow: str | None = None
        # The `let` names the expression being compiled may read (None: the flow has none).
        self._lets: list[str] | None = None
        # Whether the flow being built has a `let:` block (one-way flows only).
        self._let_block = False

    # ---- helpers ------------------------------------------------------------------------

    def _is_broken(self, prefix: str) -> bool:
        return any(_within(path, prefix) for path in self.broken)

    def at(self, path: JsonPath, *, key: bool = False) -> Location:
        return self.doc.at(path, key=key)

    def error(self, path: JsonPath, message: str, *, key: bool = False) -> None:
        self.problems.add(self.at(path, key=key), message, json_path(path))

    def warn(self, path: JsonPath, message: str) -> None:
        self.problems.warn(self.at(path), message, json_path(path))

    def get(self, path: JsonPath) -> Any:
        node: Any = self.data
        for part in path:
            node = node[part]
        return node

    def expr(self, path: JsonPath) -> Expr | None:
        """Compile the expression (or constant) at path; None after reporting a problem."""
        value = self.get(path)
        location = self.at(path)
        if isinstance(value, dict):
            return self._mapped_value(path, value)
        if not isinstance(value, str):
            return constant(value, location)
        text = self._substitute(value, path)
        try:
            compiled = compile_expr(text, location, self.library)
            self._check_calls(text, path)
        except ExpressionError as exc:
            shift = 0
            if exc.offset and "${" not in value and self.doc.positions.is_verbatim(path):
                shift = exc.offset + (1 if self.doc.positions.is_quoted(path) else 0)
            where = Location(location.file, location.line, location.col + shift)
            self.problems.add(where, exc.message, json_path(path))
            return None
        return compiled

    def _mapped_value(self, path: JsonPath, raw: Mapping[str, Any]) -> Expr | None:
        """A field's one-way value map {from, values, default}: the value of `from` looked
        up in `values` (by its text), `default` or a failed record when it is not there."""
        getter = self.expr((*path, "from"))
        if getter is None:
            return None
        label = f"{getter.short} \u2192 {path[-1]}"
        fallback = raw.get("default", _NO_DEFAULT)
        return _mapped(getter, dict(raw["values"]), fallback, label, self.at((*path, "values")))

    def _substitute(self, text: str, path: JsonPath) -> str:
        if "${" not in text:
            return text
        try:
            value = self.resolver.resolve(text, secret=False, location=self.at(path))
        except ReferenceProblem as exc:
            for problem in exc.problems:
                if self.strict_env:
                    self.problems.add(problem.location, problem.message, json_path(path))
                else:
                    self.problems.warn(problem.location, problem.message, json_path(path))
            return REFERENCE.sub("", text)
        return value.reveal() if isinstance(value, Secret) else value

    def _check_calls(self, text: str, path: JsonPath) -> None:
        ast = parse(text)
        if self._lets is not None and "let" in text:
            for used in let_names(ast):
                if not self._let_block:
                    raise ExpressionError(
                        f"let.{used} is not defined: this flow has no `let:` block"
                        f" (add one: let: {{{used}: <expression>}})"
                    )
                if used not in self._lets:
                    known = ", ".join(self._lets) or "none before this one"
                    raise ExpressionError(
                        f"let.{used} is not defined (defined so far: {known}){_hint(used, self._lets)}"
                    )
        for call in function_calls(ast):
            args = literal_args(call)
            if call["value"] == "linked":
                flow = args[0]
                if not isinstance(flow, str):
                    raise ExpressionError(
                        "linked() needs the flow's name as a quoted text: linked('accounts', id)"
                    )
                if flow not in self.sync_flow_names:
                    hint = _hint(flow, self.sync_flow_names)
                    raise ExpressionError(f"linked('{flow}'): there is no sync flow '{flow}'{hint}")
                if len(args) > 2:
                    sides = self._side_names(flow)
                    if not isinstance(args[2], str) or args[2] not in sides:
                        raise ExpressionError(
                            f"linked('{flow}', id, side): side must be one of "
                            f"{', '.join(sides)}, as quoted text"
                        )
                if self._current_flow is not None:
                    self._linked_uses.setdefault(self._current_flow, []).append((flow, path))
            elif call["value"] == "lookup":
                ref = args[0]
                if not isinstance(ref, str) or "." not in ref:
                    raise ExpressionError(
                        "lookup() needs 'connection.Object' as a quoted text: lookup('sdp.sites', {...})"
                    )
                conn = ref.split(".", 1)[0]
                if conn not in self.connection_names:
                    hint = _hint(conn, self.connection_names)
                    raise ExpressionError(f"lookup('{ref}'): there is no connection '{conn}'{hint}")

    def _side_names(self, flow: str) -> list[str]:
        raw = self.data["flows"].get(flow, {})
        between = raw.get("between")
        if isinstance(between, dict):
            return list(between)
        if isinstance(between, list):
            return [str(ref).split(".", 1)[0] for ref in between]
        return ["source", "target"]

    def object_ref(self, path: JsonPath) -> ObjectRef | None:
        text: str = self.get(path)
        connection, _, objects = text.partition(".")
        if connection not in self.connection_names:
            hint = _hint(connection, self.connection_names)
            self.error(path, f"there is no connection '{connection}'{hint}")
            return None
        return ObjectRef(connection, tuple(objects.split("|")), self.at(path))

    # ---- the spec -----------------------------------------------------------------------

    def _cron(self, path: JsonPath) -> None:
        from integrate.schedule import cron_problem

        text = self.get(path)
        found = cron_problem(text)
        if found is None:
            return
        message, offset = found
        location = self.at(path)
        if offset is not None and self.doc.positions.is_verbatim(path):
            # The culprit's own column, when the value is written as it reads.
            shift = offset + (1 if self.doc.positions.is_quoted(path) else 0)
            location = Location(location.file, location.line, location.col + shift)
        self.problems.add(location, message, json_path(path))

    # ---- connections --------------------------------------------------------------------


_NO_DEFAULT = object()


def _mapped(
    getter: Expr,
    table: Mapping[Any, Any],
    fallback: Any,
    label: str,
    location: Location,
    *,
    null_default: bool = False,
) -> Expr:
    """The value map as an expression. A null value stays null, or with `null_default`
    takes the fallback (when there is one)."""
    from integrate.errors import RecordError

    def fn(record: Any) -> Any:
        value = getter(record)
        if value is None:
            return fallback if null_default and fallback is not _NO_DEFAULT else None
        if isinstance(value, str | int | float) and value in table:
            return table[value]
        if isinstance(value, bool | int | float):
            # Value-map keys are YAML mapping keys, so text: 3 is found under "3".
            text = ("true" if value else "false") if isinstance(value, bool) else _number(value)
            if text in table:
                return table[text]
        if fallback is not _NO_DEFAULT:
            return fallback
        raise RecordError(
            f"the value {value!r} has no entry in the value map {label}", location=location
        )

    return Expr(f"values({getter.text})", location, fn, fields=getter.fields, roots=getter.roots)


def _number(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _field_expr(field_name: str, location: Location) -> Expr:
    parts = tuple(field_name.split("."))

    def fn(record: Any) -> Any:
        for part in parts:
            if not isinstance(record, dict):
                return None
            record = record.get(part)
        return record

    return Expr(field_name, location, fn, path=parts, roots=frozenset(parts[:1]))


def _walk(value: Any, path: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*path, k), v
            yield from _walk(v, (*path, k))


def _secret_paths(
    schema: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterable[tuple[str, ...]]:
    for name, sub in schema.get("properties", {}).items():
        if not isinstance(sub, Mapping):
            continue
        if sub.get("x-secret"):
            yield (*path, name)
        yield from _secret_paths(sub, (*path, name))


def let_names(ast: dict[str, Any]) -> Iterator[str]:
    """Every X an expression reads as let.X."""
    stack = [ast]
    while stack:
        node = stack.pop()
        children = [c for c in node.get("children", ()) if isinstance(c, dict)]
        if (
            node.get("type") == "subexpression"
            and len(children) >= 2
            and children[0].get("type") == "field"
            and children[0].get("value") == "let"
        ):
            second = children[1]
            if second.get("type") == "index_expression" and second.get("children"):
                second = second["children"][0]
            if second.get("type") == "field":
                yield str(second["value"])
        stack.extend(children)


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))
