"""JMESPath functions: the core's own, plugins' (through a hook), and the library that binds
them into one `jmespath.Options` for a build. Every function is pure and total: bad input
gives null or a clear error, never a crash or a side effect."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath import functions as jp_functions

from integrate.errors import RecordError


@dataclass(frozen=True)
class Function:
    """A JMESPath function a spec can call.

    `params` gives each parameter's JMESPath types ("string", "string|null", "any",
    "array", "object", "number", "boolean", "expref"); with `variadic` the last one repeats.
    """

    name: str
    impl: Callable[..., Any]
    params: tuple[str, ...]
    variadic: bool = False
    description: str = ""

    def signature(self) -> tuple[dict[str, Any], ...]:
        out: list[dict[str, Any]] = []
        for i, param in enumerate(self.params):
            types = [] if param == "any" else param.split("|")
            entry: dict[str, Any] = {"types": types}
            if self.variadic and i == len(self.params) - 1:
                entry["variadic"] = True
            out.append(entry)
        return tuple(out)


class FunctionLibrary(jp_functions.Functions):
    """The functions one build can call: JMESPath's built-ins plus registered ones."""

    def __init__(self, extra: Iterable[Function] = ()):
        self.FUNCTION_TABLE = dict(jp_functions.Functions.FUNCTION_TABLE)
        self.described: dict[str, Function] = {}
        for fn in extra:
            self.add(fn)

    def add(self, fn: Function) -> None:
        impl = fn.impl

        def call(_self: Any, *args: Any) -> Any:
            return impl(*args)

        self.FUNCTION_TABLE[fn.name] = {"function": call, "signature": fn.signature()}
        self.described[fn.name] = fn

    def arity(self, name: str) -> tuple[int, bool] | None:
        spec = self.FUNCTION_TABLE.get(name)
        if spec is None:
            return None
        sig = spec["signature"]
        variadic = bool(sig) and bool(sig[-1].get("variadic"))
        return len(sig), variadic

    def names(self) -> list[str]:
        return sorted(self.FUNCTION_TABLE)

    def options(self) -> jmespath.Options:
        return jmespath.Options(custom_functions=self)


# ---- the core's functions --------------------------------------------------------------


def _lower(s: str | None) -> str | None:
    return None if s is None else s.lower()


def _upper(s: str | None) -> str | None:
    return None if s is None else s.upper()


def _trim(s: str | None) -> str | None:
    return None if s is None else " ".join(s.split())


def _words(s: str | None) -> list[str]:
    return [] if not s else s.split()


def _first_word(s: str | None) -> str | None:
    words = _words(s)
    return words[0] if words else None


def _rest_words(s: str | None) -> str | None:
    words = _words(s)
    return " ".join(words[1:]) if len(words) > 1 else None


def _concat(*parts: Any) -> str:
    return "".join(_text(p) for p in parts if p is not None)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _split(s: str | None, sep: str) -> list[str]:
    if s is None:
        return []
    return s.split(sep) if sep else s.split()


def _replace(s: str | None, old: str, new: str) -> str | None:
    return None if s is None else s.replace(old, new)


def _if(condition: Any, then: Any, otherwise: Any) -> Any:
    return then if _truthy(condition) else otherwise


def _truthy(value: Any) -> bool:
    # JMESPath truthiness: false, null, "", [], {} are false; 0 is true.
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    return None


def _escape_html(s: Any) -> str | None:
    return None if s is None else html.escape(_text(s))


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_date(value: Any, in_format: str | None) -> dt.datetime | dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"date(): cannot read {value!r} as a date")
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    text = str(value)
    try:
        if in_format:
            return dt.datetime.strptime(text, in_format)
        if _ISO_DATE.match(text):
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        expected = f"the format {in_format}" if in_format else "an ISO date"
        raise RecordError(f"date(): {text!r} is not {expected}") from exc


def _date(value: Any, out_format: str, *in_format: str) -> str | None:
    parsed = _parse_date(value, in_format[0] if in_format else None)
    return None if parsed is None else parsed.strftime(out_format)


class _SafeFormatter(string.Formatter):
    """str.format without attribute or index access: only {name} and {0} are allowed."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Any) -> Any:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|\d+", field_name):
            raise RecordError(f"format(): '{{{field_name}}}' is not allowed; use {{name}} or {{0}}")
        return super().get_field(field_name, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec:
            raise RecordError("format(): format specifications are not supported")
        return "" if value is None else _text(value)


_FORMATTER = _SafeFormatter()


def _format(template: str, values: Any) -> str:
    try:
        if isinstance(values, dict):
            return _FORMATTER.vformat(template, (), _Missing(values))
        if isinstance(values, list):
            return _FORMATTER.vformat(template, values, {})
        return _FORMATTER.vformat(template, (values,), {})
    except KeyError as exc:
        # {name} with a list or a single value: there are no names to fill it from.
        raise RecordError(f"format(): {{{exc.args[0]}}} needs an object of values") from exc
    except (IndexError, ValueError) as exc:
        raise RecordError(f"format(): {exc}") from exc


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> None:
        return None


CORE_FUNCTIONS: tuple[Function, ...] = (
    Function("lower", _lower, ("string|null",), description="Lowercase text; null stays null."),
    Function("upper", _upper, ("string|null",), description="Uppercase text; null stays null."),
    Function(
        "trim", _trim, ("string|null",), description="Text without surrounding or double spaces."
    ),
    Function("first_word", _first_word, ("string|null",), description="The first word of text."),
    Function(
        "rest_words", _rest_words, ("string|null",), description="Every word of text but the first."
    ),
    Function("split", _split, ("string|null", "string"), description="Text split at a separator."),
    Function(
        "replace",
        _replace,
        ("string|null", "string", "string"),
        description="Text with every old replaced by new.",
    ),
    Function(
        "concat",
        _concat,
        ("any",),
        variadic=True,
        description="Values joined as text; nulls left out.",
    ),
    Function(
        "coalesce",
        _coalesce,
        ("any",),
        variadic=True,
        description="The first value that is neither null nor empty text.",
    ),
    Function("if", _if, ("any", "any", "any"), description="if(condition, then, otherwise)."),
    Function(
        "escape_html", _escape_html, ("any",), description="Text made safe to put inside HTML."
    ),
    Function(
        "date",
        _date,
        ("any", "string"),
        variadic=True,
        description="date(value, out_format[, in_format]): reformat an ISO date/date-time, epoch milliseconds, or text in in_format (strftime codes).",
    ),
    Function(
        "format",
        _format,
        ("string", "any"),
        description="format(template, values): fill {name} from an object or {0} from a list.",
    ),
)


CONTEXT_FUNCTIONS = frozenset({"linked", "lookup"})


@dataclass(frozen=True)
class RunScope:
    """What the context functions (linked, lookup) reach while a flow of a run is running:
    the run's link table and the objects it reads. Expressions stay pure functions of their
    record; the runner hands each flow its scope with `run_scope()`."""

    linked: Callable[[str, Any, str | None], Any]
    lookup: Callable[[str, Any], Any]


_SCOPE: ContextVar[RunScope | None] = ContextVar("integrate_run_scope", default=None)


@contextlib.contextmanager
def run_scope(scope: RunScope) -> Iterator[RunScope]:
    """Expressions evaluated inside the block answer linked() and lookup() from `scope`
    (outside any run, both answer null)."""
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def context_functions() -> tuple[Function, ...]:
    """linked() and lookup(): they read the run's link table and connections (`run_scope`)."""

    def linked(flow: str, source_id: Any, *side: str) -> Any:
        scope = _SCOPE.get()
        if source_id is None or scope is None:
            return None
        return scope.linked(flow, source_id, side[0] if side else None)

    def lookup(ref: str, query: Any) -> Any:
        scope = _SCOPE.get()
        if scope is None:
            return None
        return scope.lookup(ref, query)

    return (
        Function(
            "linked",
            linked,
            ("string", "any"),
            variadic=True,
            description="linked('flow', id[, 'side']): the id linked to `id` on the flow's other side, or null. `id` is on the flow's first side (a one-way flow's source) unless `side` names its side.",
        ),
        Function(
            "lookup",
            lookup,
            ("string", "object"),
            description="lookup('connection.Object', {field: value}): the first record of that object whose fields equal the query (the object is read once per run, then answered from memory; text compares ignoring case and extra spaces), or null.",
        ),
    )
