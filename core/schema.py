"""The spec language's JSON Schema: loading it, adding plugins' config schemas, and turning
validation errors into positioned, plain-language problems."""

from __future__ import annotations

import copy
import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from integrate.errors import Problem
from integrate.loader import Document, JsonPath, json_path
from integrate.secrets import REFERENCE

SCHEMA_ID = "https://integrate.dev/schemas/spec.schema.json"


@functools.cache
def _core_schema_text() -> str:
    return files("integrate.schemas").joinpath("spec.schema.json").read_text(encoding="utf-8")


def core_schema() -> dict[str, Any]:
    """A fresh copy of the core spec schema (schemas/spec.schema.json)."""
    schema: dict[str, Any] = json.loads(_core_schema_text())
    return schema


def combined_schema(plugin_configs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The core schema with each plugin's config schema bound to `config` when
    `plugin` names it; what `integrate schema` exports for editors."""
    schema = core_schema()
    connection = schema["$defs"]["connection"]
    branches = []
    for name in sorted(plugin_configs):
        branches.append(
            {
                "if": {"properties": {"plugin": {"const": name}}, "required": ["plugin"]},
                "then": {"properties": {"config": copy.deepcopy(dict(plugin_configs[name]))}},
            }
        )
    if branches:
        connection["allOf"] = branches
        connection["properties"]["plugin"]["examples"] = sorted(plugin_configs)
    return schema


@functools.cache
def _vocabulary() -> frozenset[str]:
    """Every property name the core schema knows, for "did you mean" hints."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(core_schema())
    return frozenset(names)


def validate(doc: Document, schema: Mapping[str, Any]) -> list[Problem]:
    """Every schema problem of a loaded spec, each at its line and column."""
    validator = Draft202012Validator(schema)
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for error in validator.iter_errors(doc.data):
        if _checked_when_resolved(error):
            continue
        for problem in _problems(doc, validator, error):
            key = (str(problem.location), problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return _value_map_hints(doc, problems)


_MAP_FORM = "{from: <expression>, values: {<source value>: <value>, ...}, default: <value>}"


def _value_map_hints(doc: Document, problems: list[Problem]) -> list[Problem]:
    """A value map written where it does not go gets one problem that says where it goes,
    instead of the schema's unknown and missing keys."""
    flows = doc.data.get("flows") if isinstance(doc.data, dict) else None
    if not isinstance(flows, dict):
        return problems
    out: list[Problem] = []
    replaced: set[str] = set()
    for problem in problems:
        match = re.match(
            r"^\$\.flows\.([a-z][a-z0-9_]*)\.(values|(?:fields|on_create)\.values)\b", problem.path
        )
        flow = flows.get(match.group(1)) if match else None
        if match is None or not isinstance(flow, dict) or "events" in flow:
            out.append(problem)
            continue
        where = f"$.flows.{match.group(1)}.{match.group(2)}"
        value = flow.get("values") if match.group(2) == "values" else None
        if match.group(2) != "values":
            block = flow.get(match.group(2).split(".")[0])
            value = block.get("values") if isinstance(block, dict) else None
            if not isinstance(value, dict) or "from" in value or "between" in flow:
                out.append(problem)
                continue
        if where in replaced:
            continue
        replaced.add(where)
        if "between" in flow:
            message = (
                "unknown key 'values': in a two-way flow a value map belongs to a field pair: "
                "fields: [{<side>: <field>, <other side>: <field>, values: {...}}]"
            )
        elif match.group(2) == "values":
            message = (
                "unknown key 'values': a one-way flow maps values field by field: "
                f"fields: {{<target field>: {_MAP_FORM}}}"
            )
        else:
            message = (
                "this names a target field 'values'; a value map goes under the field it "
                f"fills: <target field>: {_MAP_FORM}"
            )
        path = tuple(p for p in where.removeprefix("$.").split("."))
        out.append(Problem(doc.at(path, key=True), message, where))
    return out


# What a ${env:...} or ${file:...} reference's value must be is known only once it is
# resolved (before a run): these checks wait until then.
_VALUE_CHECKS = frozenset({"pattern", "format", "enum", "const", "minLength", "maxLength"})


def _checked_when_resolved(error: Any) -> bool:
    return (
        error.validator in _VALUE_CHECKS
        and isinstance(error.instance, str)
        and REFERENCE.search(error.instance) is not None
    )


def check_resolved(
    schema: Mapping[str, Any], config: Mapping[str, Any], referenced: Iterable[tuple[str, ...]]
) -> Iterator[tuple[tuple[str, ...], str]]:
    """(path, message) for each setting given as a reference whose resolved value the
    plugin's settings schema refuses."""
    wanted = set(referenced)
    for error in Draft202012Validator(schema).iter_errors(config):
        path = tuple(str(p) for p in error.absolute_path)
        if path in wanted and error.validator in _VALUE_CHECKS:
            described = error.schema.get("description") if isinstance(error.schema, dict) else None
            yield path, str(described or error.message)


def _problems(
    doc: Document, validator: Draft202012Validator, error: ValidationError
) -> Iterator[Problem]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        if all(c.validator == "required" for c in error.context):
            # anyOf: [{required: [skip]}, {required: [queue]}, ...]: one of these keys is needed.
            present = error.instance if isinstance(error.instance, dict) else {}
            keys = [
                k
                for c in error.context
                if isinstance(c.validator_value, list)
                for k in c.validator_value
                if k not in present
            ]
            path = tuple(error.absolute_path)
            yield Problem(doc.at(path), f"needs one of the keys {', '.join(keys)}", json_path(path))
            return
        for chosen in _best(error):
            yield from _problem(doc, validator, chosen)
        return
    yield from _problem(doc, validator, error)


def _problem(
    doc: Document, validator: Draft202012Validator, error: ValidationError
) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    kind = error.validator
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(
        error.instance, dict
    ):
        allowed = _allowed_keys(validator, error.schema)
        for key in _unexpected(error, allowed):
            hint = _did_you_mean(key, allowed)
            yield Problem(
                doc.at((*path, key), key=True),
                f"unknown key '{key}'{hint}",
                json_path((*path, key)),
            )
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        # A mapping under a key is shown at its key; one in a list, where it starts.
        where = doc.at(path, key=True) if path and isinstance(path[-1], str) else doc.at(path)
        yield Problem(where, f"missing required key '{missing}'", json_path(path))
        return
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        # A bad key (a flow's or field's name): point at the key, not at the whole mapping.
        path = (*path, error.instance)
        yield Problem(doc.at(path, key=True), _message(error, path), json_path(path))
        return
    yield Problem(doc.at(path), _message(error, path), json_path(path))


# Failures that say "this value is not of that form at all" (rather than what is wrong inside).
_WRONG_FORM = ("type", "enum", "const")


def _best(error: ValidationError) -> list[ValidationError]:
    """The most specific reasons an anyOf/oneOf failed: branches that refuse the value's form
    outright are passed over for one that fits its form; then the deepest errors, all those
    of the best branch (an unknown key and the missing key it misspells, say)."""
    candidates = list(_flatten(error))
    here = len(error.absolute_path)
    fitting = [
        c for c in candidates if not (c.validator in _WRONG_FORM and len(c.absolute_path) == here)
    ]
    pool = fitting or [c for c in candidates if c.validator != "type"] or candidates
    deepest = max(len(c.absolute_path) for c in pool)
    deep = [c for c in pool if len(c.absolute_path) == deepest]
    chosen = best_match(deep)
    if chosen is None:
        return [error]
    branch = tuple(chosen.absolute_schema_path)[:-1]
    return [c for c in deep if tuple(c.absolute_schema_path)[:-1] == branch]


def _flatten(error: ValidationError) -> Iterator[ValidationError]:
    for child in error.context or ():
        if child.validator in ("anyOf", "oneOf") and child.context:
            yield from _flatten(child)
        else:
            yield child


def _allowed_keys(validator: Draft202012Validator, schema: Any) -> set[str]:
    keys: set[str] = set()
    if not isinstance(schema, dict):
        return keys
    keys.update(schema.get("properties", {}))
    for sub in schema.get("allOf", []):
        if isinstance(sub, dict) and "$ref" in sub:
            keys.update(_allowed_keys(validator, _local_ref(validator.schema, sub["$ref"])))
        else:
            keys.update(_allowed_keys(validator, sub))
    return keys


def _local_ref(root: Any, ref: str) -> Any:
    node = root
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


def _unexpected(error: ValidationError, allowed: set[str]) -> list[str]:
    patterns = error.schema.get("patternProperties", {}) if isinstance(error.schema, dict) else {}
    out = []
    for key in error.instance if isinstance(error.instance, dict) else {}:
        if key in allowed:
            continue
        if any(re.search(p, key) for p in patterns):
            continue
        out.append(key)
    return out


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "empty",
}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, int | float):
        return "a number"
    return "text"


def _message(error: ValidationError, path: JsonPath) -> str:
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    last = path[-1] if path else None
    if kind == "type":
        wanted = error.validator_value
        names = [str(n) for n in (wanted if isinstance(wanted, list) else [wanted])]
        text = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        hint = ""
        if isinstance(last, str) and last not in _vocabulary():
            hint = _did_you_mean(last, _vocabulary())
        return f"expected {text}, found {_kind_of(value)}{hint}"
    if kind == "enum":
        allowed = error.validator_value if isinstance(error.validator_value, list) else []
        options = [str(o) for o in allowed]
        hint = _did_you_mean(str(value), options) if isinstance(value, str) else ""
        return f"'{value}' is not one of {', '.join(options)}{hint}"
    if kind == "const":
        return f"must be {json.dumps(error.validator_value)}, found {json.dumps(value)}"
    if kind == "pattern":
        # The description's first sentence ("e.g." does not end one).
        what = re.split(r"(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z])", schema.get("description", ""))[0]
        what = what.rstrip(".")
        detail = f": {what[0].lower()}{what[1:]}" if what else ""
        return f"'{value}' is not valid here{detail}"
    if kind in ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"):
        limit = error.validator_value
        noun = {"Items": "item", "Length": "character", "Properties": "key"}[kind[3:]]
        plural = "" if limit == 1 else "s"
        bound = "at least" if kind.startswith("min") else "at most"
        return f"needs {bound} {limit} {noun}{plural}"
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        return f"must be {bound} {error.validator_value}, found {value}"
    if kind == "uniqueItems":
        return "items must not repeat"
    if kind == "anyOf":
        return "does not fit any allowed form: " + error.message
    return error.message
