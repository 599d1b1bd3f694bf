"""From a loaded, schema-valid document to a Spec: every expression compiled once, every
reference checked, every problem reported at once with its place in the file."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from integrate.errors import Location, ProblemList, SpecError
from integrate.expressions import (
    Expr,
    ExpressionError,
    compile_expr,
    constant,
    function_calls,
    literal_args,
    parse,
)
from integrate.functions import FunctionLibrary, RunBinding, context_functions
from integrate.loader import Document, JsonPath, json_path, load_file
from integrate.model import (
    OBJECT_FIELD,
    Assign,
    Connection,
    EventFlow,
    EventHandler,
    FieldPair,
    Flow,
    FlowCommon,
    MatchKey,
    ObjectRef,
    Policy,
    Rule,
    Side,
    Spec,
    SpecTest,
    SyncFlow,
)
from integrate.plugins import Plugins
from integrate.schema import combined_schema, core_schema, validate
from integrate.secrets import REFERENCE, ReferenceProblem, Resolver, Secret

RESERVED_SIDES = {"values", "default", "direction", "description"}
RULE_ACTIONS = ("skip", "queue", "defer", "fail", "set", "route")
DEFAULT_NORMALIZE = frozenset({"case", "whitespace"})


def load_spec(
    path: str | Path,
    plugins: Plugins | None,
    *,
    resolver: Resolver | None = None,
    strict_env: bool = True,
) -> Spec:
    """Load, validate and build a spec. With `plugins=None` only the core schema is used
    (plugin configs are not checked). With strict_env, an unset ${env:...} is an error;
    otherwise a warning."""
    doc = load_file(path)
    return build_spec(doc, plugins, resolver=resolver, strict_env=strict_env)


def build_spec(
    doc: Document,
    plugins: Plugins | None,
    *,
    resolver: Resolver | None = None,
    strict_env: bool = True,
) -> Spec:
    schema = core_schema() if plugins is None else combined_schema(plugins.config_schemas())
    problems = ProblemList()
    problems.extend(validate(doc, schema))
    # Parts the schema already refused are not built, so every other problem (expressions,
    # references) is still found and reported with them, all at once.
    broken = {p.path for p in problems.errors}
    if any(_depth(path) <= 1 and path not in _TOP_LEVEL_OK for path in broken):
        problems.raise_if_any()
    builder = _Builder(
        doc, plugins, resolver or Resolver(base=doc.path.parent), problems, strict_env
    )
    builder.broken = broken
    spec = builder.build()
    problems.raise_if_any()
    return spec


# Flow keys holding lists whose broken items are skipped one at a time.
_ITEMWISE = ("fields", "rules", "events", "match")
_TOP_LEVEL_OK = ("$.description", "$.state", "$.failures", "$.schedule", "$.integrate")


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _depth(path: str) -> int:
    return path.count(".") + path.count("[")


def resolve_config(connection: Connection, resolver: Resolver) -> dict[str, Any]:
    """The connection's config with every ${...} reference resolved (secrets as Secret).
    Raises SpecError naming each unset variable and its line."""
    problems = ProblemList()

    def walk(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, path) for v in value]
        if isinstance(value, str) and "${" in value:
            where = connection.config_locations.get(path, connection.location)
            try:
                return resolver.resolve(
                    value, secret=path in connection.secret_paths, location=where
                )
            except ReferenceProblem as exc:
                problems.extend(exc.problems)
                return None
        return value

    out = walk(dict(connection.config), ())
    problems.raise_if_any()
    assert isinstance(out, dict)
    return out


class _Builder:
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
        self.binding = RunBinding()
        extra = list(plugins.functions) if plugins is not None else []
        if plugins is None:
            from integrate.functions import CORE_FUNCTIONS

            extra = list(CORE_FUNCTIONS)
        self.library = FunctionLibrary([*extra, *context_functions(self.binding)])
        self.flow_names = set(self.data.get("flows", {}))
        self.sync_flow_names = {
            name for name, raw in self.data.get("flows", {}).items() if "events" not in raw
        }
        self.connection_names = set(self.data.get("connections", {}))
        # JSON paths the schema refused; those parts are skipped.
        self.broken: set[str] = set()
        # linked() uses found while compiling, per flow, to check `after`.
        self._linked_uses: dict[str, list[tuple[str, Location]]] = {}
        self._current_flow: str | None = None

    # ---- helpers ------------------------------------------------------------------------

    def _is_broken(self, prefix: str) -> bool:
        return any(_within(path, prefix) for path in self.broken)

    def _prune_flow(self, name: str) -> bool:
        """Drop the parts of a flow the schema refused, so the rest can still be checked.
        False when the flow cannot be built at all (itself or a required key is broken)."""
        prefix = f"$.flows.{name}"
        raw = self.data["flows"][name]
        if prefix in self.broken or not isinstance(raw, dict):
            return False
        required = ("from", "to", "between", "events")
        if any(self._is_broken(f"{prefix}.{key}") for key in required):
            return False
        if "between" in raw and (self._is_broken(f"{prefix}.fields") and f"{prefix}.fields" in self.broken):
            return False
        for key in list(raw):
            where = f"{prefix}.{key}"
            if not self._is_broken(where):
                continue
            if key in _ITEMWISE and isinstance(raw[key], list) and where not in self.broken:
                continue  # broken items are skipped one by one
            if key in ("fields", "on_create") and isinstance(raw[key], dict) and where not in self.broken:
                for sub in list(raw[key]):
                    if self._is_broken(f"{where}.{sub}"):
                        del raw[key][sub]
                continue
            del raw[key]
        return True

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
        if not isinstance(value, str):
            return constant(value, location)
        text = self._substitute(value, path)
        try:
            compiled = compile_expr(text, location, self.library)
            self._check_calls(text, path)
        except ExpressionError as exc:
            shift = 0
            if exc.offset and "\n" not in value and "${" not in value:
                shift = exc.offset + (1 if self.doc.positions.is_quoted(path) else 0)
            where = Location(location.file, location.line, location.col + shift)
            self.problems.add(where, exc.message, json_path(path))
            return None
        return compiled

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
        for call in function_calls(parse(text)):
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
                    self._linked_uses.setdefault(self._current_flow, []).append(
                        (flow, self.at(path))
                    )
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

    def build(self) -> Spec:
        data = self.data
        connections = self._connections()
        if isinstance(data.get("schedule"), str) and not self._is_broken("$.schedule"):
            self._cron(("schedule",))
        flows: dict[str, Flow] = {}
        for name in data["flows"]:
            if not self._prune_flow(name):
                continue
            self._current_flow = name
            flow = self._flow(name)
            if flow is not None:
                flows[name] = flow
        self._current_flow = None
        ordered = self._order(flows)
        tests = tuple(
            self._test(i)
            for i in range(len(data.get("tests") or []))
            if not self._is_broken(f"$.tests[{i}]") and not self._is_broken("$.tests")
        )
        base = self.doc.path.parent
        state = data.get("state") if isinstance(data.get("state"), str) else None
        failures = data.get("failures") if isinstance(data.get("failures"), str) else None
        return Spec(
            name=data["name"],
            description=data.get("description", ""),
            path=self.doc.path,
            connections=connections,
            flows=ordered,
            schedule=data.get("schedule"),
            state_path=(base / state) if state else None,
            failures_path=(base / failures) if failures else None,
            tests=tuple(t for t in tests if t is not None),
            library=self.library,
            binding=self.binding,
            location=self.at(()),
            warnings=tuple(str(p) for p in self.problems.warnings),
        )

    def _cron(self, path: JsonPath) -> None:
        from croniter import croniter

        text = self.get(path)
        if not croniter.is_valid(text):
            self.error(
                path, f"'{text}' is not a valid cron expression (minute hour day month weekday)"
            )

    # ---- connections --------------------------------------------------------------------

    def _connections(self) -> dict[str, Connection]:
        out: dict[str, Connection] = {}
        for alias, raw in self.data["connections"].items():
            if self._is_broken(f"$.connections.{alias}"):
                continue
            path: JsonPath = ("connections", alias)
            plugin = raw["plugin"]
            secret_paths: frozenset[tuple[str, ...]] = frozenset()
            if self.plugins is not None:
                if plugin not in self.plugins.connectors:
                    installed = sorted(self.plugins.connectors)
                    hint = _hint(plugin, installed)
                    listed = ", ".join(installed) or "none"
                    self.error(
                        (*path, "plugin"),
                        f"plugin '{plugin}' is not installed{hint} (installed: {listed})",
                    )
                else:
                    schema = self.plugins.connectors[plugin].config_schema
                    secret_paths = frozenset(_secret_paths(schema))
            config = raw.get("config", {})
            locations: dict[tuple[str, ...], Location] = {}
            for sub, value in _walk(config, ()):
                full = (*path, "config", *sub)
                locations[sub] = self.at(full)
                if isinstance(value, str):
                    self._check_reference(full, value, sub in secret_paths)
            out[alias] = Connection(
                alias, plugin, config, self.at(path, key=True), secret_paths, locations
            )
        return out

    def _check_reference(self, path: JsonPath, value: str, secret: bool) -> None:
        if secret and not REFERENCE.search(value):
            field = path[-1]
            self.error(
                path,
                f"'{field}' is a secret: write a reference such as ${{env:NAME}} or ${{file:PATH}}, "
                "never the value itself",
            )
            return
        for kind, name in self.resolver.missing(value):
            what = f"environment variable {name}" if kind == "env" else f"secret file {name}"
            if self.strict_env:
                self.error(path, f"{what} is not set")
            else:
                self.warn(path, f"{what} is not set (needed when the spec runs)")

    # ---- flows ----------------------------------------------------------------------

    def _common(self, name: str) -> FlowCommon:
        path: JsonPath = ("flows", name)
        raw = self.get(path)
        after = raw.get("after", ())
        after = (after,) if isinstance(after, str) else tuple(after)
        for i, dep in enumerate(after):
            where = (*path, "after") if isinstance(raw.get("after"), str) else (*path, "after", i)
            if dep not in self.flow_names:
                self.error(where, f"there is no flow '{dep}'{_hint(dep, self.flow_names)}")
            elif dep == name:
                self.error(where, "a flow cannot run after itself")
        if "schedule" in raw:
            self._cron((*path, "schedule"))
        return FlowCommon(
            name=name,
            location=self.at(path, key=True),
            description=raw.get("description", ""),
            enabled=raw.get("enabled", True),
            after=after,
            schedule=raw.get("schedule"),
            triggers=tuple(raw.get("triggers", ("poll",))),
            batch_size=raw.get("batch_size"),
            page_size=raw.get("page_size"),
            batch_location=self.at((*path, "batch_size")) if "batch_size" in raw else None,
            page_location=self.at((*path, "page_size")) if "page_size" in raw else None,
        )

    def _flow(self, name: str) -> Flow | None:
        raw = self.get(("flows", name))
        if "events" in raw:
            return self._event_flow(name)
        return self._sync_flow(name)

    def _sides(self, name: str) -> tuple[Side, Side] | None:
        path: JsonPath = ("flows", name)
        raw = self.get(path)
        if "between" not in raw:
            src = self.object_ref((*path, "from"))
            dst = self.object_ref((*path, "to"))
            if src is None or dst is None:
                return None
            if src.multi:
                self.error((*path, "from"), "the source of a one-way flow is one object")
            return Side("source", src), Side("target", dst)
        between = raw["between"]
        if isinstance(between, list):
            refs = [self.object_ref((*path, "between", i)) for i in range(2)]
            if refs[0] is None or refs[1] is None:
                return None
            if refs[0].connection == refs[1].connection:
                self.error(
                    (*path, "between"),
                    f"both sides use connection '{refs[0].connection}': name the sides, "
                    "e.g. between: {left: conn.A, right: conn.B}",
                )
                return None
            return Side(refs[0].connection, refs[0]), Side(refs[1].connection, refs[1])
        names = list(between)
        refs = [self.object_ref((*path, "between", n)) for n in names]
        if refs[0] is None or refs[1] is None:
            return None
        return Side(names[0], refs[0]), Side(names[1], refs[1])

    def _sync_flow(self, name: str) -> SyncFlow | None:
        path: JsonPath = ("flows", name)
        raw = self.get(path)
        common = self._common(name)
        sides = self._sides(name)
        if sides is None:
            return None
        two_way = "between" in raw
        side_names = [s.name for s in sides]
        for side in side_names:
            if side in RESERVED_SIDES or side.startswith("to_"):
                self.error((*path, "between"), f"'{side}' cannot name a side (it is a keyword)")
                return None
        if two_way:
            only_to = (
                self._direction((*path, "direction"), side_names) if "direction" in raw else None
            )
            pairs = tuple(
                p
                for i in range(len(raw["fields"]))
                if not self._is_broken(f"$.flows.{name}.fields[{i}]")
                and (p := self._pair((*path, "fields", i), sides)) is not None
            )
        else:
            only_to = "target"
            pairs = tuple(self._one_way_pairs(path, raw))
        match, normalize = self._match(path, raw, side_names)
        unmatched = self._unmatched(path, raw, side_names, two_way)
        conflict = raw.get("conflict", "newest")
        if conflict not in ("newest", "queue") and conflict not in side_names:
            self.error(
                (*path, "conflict"),
                f"'{conflict}' is not newest, queue or a side ({', '.join(side_names)})",
            )
        rules = tuple(
            r
            for i in range(len(raw.get("rules", [])))
            if not self._is_broken(json_path((*path, "rules", i)))
            and (r := self._rule((*path, "rules", i), sides, two_way)) is not None
        )
        filters: dict[str, Expr] = {}
        if "filter" in raw:
            if two_way:
                for side in raw["filter"]:
                    if side not in side_names:
                        self.error(
                            (*path, "filter", side),
                            f"there is no side '{side}'{_hint(side, side_names)}",
                            key=True,
                        )
                    elif (e := self.expr((*path, "filter", side))) is not None:
                        filters[side] = e
            elif (e := self.expr((*path, "filter"))) is not None:
                filters["source"] = e
        on_create: dict[str, tuple[Assign, ...]] = {}
        if "on_create" in raw:
            if two_way:
                for side in raw["on_create"]:
                    if side not in side_names:
                        self.error(
                            (*path, "on_create", side),
                            f"there is no side '{side}'{_hint(side, side_names)}",
                            key=True,
                        )
                    else:
                        on_create[side] = self._assigns((*path, "on_create", side), sides, side)
            else:
                on_create["target"] = self._assigns((*path, "on_create"), sides, "target")
        upsert_on = tuple(raw.get("upsert_on", ()))
        flow = SyncFlow(
            common=common,
            sides=sides,
            two_way=two_way,
            only_to=only_to,
            pairs=pairs,
            match=match,
            normalize=normalize,
            unmatched=unmatched,
            conflict=conflict,
            rules=rules,
            filters=filters,
            on_create=on_create,
            upsert_on=upsert_on,
            deletes=raw.get("deletes", "ignore"),
        )
        if not match and not upsert_on:
            for side in side_names:
                policy = unmatched[side]
                if flow.writes_to(side) and "create" in (policy.first_run, policy.later):
                    self.warn(
                        path,
                        f"flow has no match keys: a run killed between a create in {side} and its "
                        "commit creates that record again on restart (add match or upsert_on)",
                    )
                    break
        return flow

    def _direction(self, path: JsonPath, sides: list[str]) -> str | None:
        value: str = self.get(path)
        if value == "both":
            return None
        side = value.removeprefix("to_")
        if side not in sides:
            options = ", ".join(f"to_{s}" for s in sides)
            self.error(path, f"'{value}' is not both or {options}")
            return None
        return side

    def _one_way_pairs(self, path: JsonPath, raw: Mapping[str, Any]) -> Iterable[FieldPair]:
        for field_name in raw.get("fields", {}):
            fpath = (*path, "fields", field_name)
            self._check_object_field(field_name, fpath, "target", raw)
            expr = self.expr(fpath)
            if expr is None:
                continue
            yield FieldPair(
                location=self.at(fpath, key=True),
                fields={"target": (field_name,)},
                make={"target": (Assign(field_name, expr),)},
                direction="target",
            )

    def _check_object_field(
        self, field_name: str, path: JsonPath, side: str, raw: Mapping[str, Any]
    ) -> None:
        if field_name != OBJECT_FIELD:
            return
        ref = raw.get("to") if side == "target" else None
        if isinstance(ref, str) and "|" not in ref:
            self.error(
                path,
                f"{OBJECT_FIELD} only exists on a side that spans several objects (conn.A|B)",
                key=True,
            )

    def _pair(self, path: JsonPath, sides: tuple[Side, Side]) -> FieldPair | None:
        raw: dict[str, Any] = self.get(path)
        names = [s.name for s in sides]
        fields: dict[str, tuple[str, ...]] = {}
        for key, value in raw.items():
            if key in RESERVED_SIDES or key.startswith("to_"):
                continue
            if key not in names:
                self.error((*path, key), f"there is no side '{key}'{_hint(key, names)}", key=True)
                return None
            fields[key] = (value,)
            side = sides[names.index(key)]
            if value == OBJECT_FIELD and not side.ref.multi:
                self.error(
                    (*path, key),
                    f"{OBJECT_FIELD} only exists on a side that spans several objects (conn.A|B)",
                )
        makers: dict[str, tuple[Assign, ...]] = {}
        for key, value in raw.items():
            if not key.startswith("to_"):
                continue
            target = key[3:]
            if target not in names:
                options = ", ".join(f"to_{n}" for n in names)
                self.error((*path, key), f"'{key}' names no side (use {options})", key=True)
                return None
            if isinstance(value, dict):
                assigns = self._assigns((*path, key), sides, target)
                if target in fields and (fields[target] != tuple(a.field for a in assigns)):
                    self.error(
                        (*path, key),
                        f"give either {target}: <field> or {key}: {{field: expression}}, not both",
                        key=True,
                    )
                fields[target] = tuple(a.field for a in assigns)
                makers[target] = assigns
            else:
                if target not in fields:
                    self.error(
                        (*path, key),
                        f"{key} needs the field it writes: add {target}: <field name>",
                        key=True,
                    )
                    return None
                expr = self.expr((*path, key))
                if expr is None:
                    return None
                makers[target] = (Assign(fields[target][0], expr),)
        if "values" in raw:
            if makers:
                self.error(
                    (*path, "values"),
                    "a value map cannot be combined with to_<side> expressions",
                    key=True,
                )
                return None
            if any(len(fields.get(n, ())) != 1 for n in names):
                self.error(
                    (*path, "values"), "a value map needs the field's name on both sides", key=True
                )
                return None
            makers.update(self._value_map(path, raw, sides, fields))
        else:
            for target in names:
                source = names[1 - names.index(target)]
                if target not in makers and target in fields and source in fields:
                    src_field = fields[source][0]
                    makers[target] = (
                        Assign(fields[target][0], _field_expr(src_field, self.at(path))),
                    )
        direction = "both"
        if "direction" in raw:
            chosen = self._direction((*path, "direction"), names)
            direction = chosen or "both"
            if chosen is not None and chosen not in makers:
                self.error(
                    (*path, "direction"), f"this pair has no way to make values for '{chosen}'"
                )
        if not makers:
            self.error(
                path,
                "this pair says neither side's field nor how to make it (e.g. {a: email, b: Email})",
            )
            return None
        if "default" in raw:
            for side in raw["default"]:
                if side not in names:
                    self.error(
                        (*path, "default", side),
                        f"there is no side '{side}'{_hint(side, names)}",
                        key=True,
                    )
        return FieldPair(self.at(path), fields, makers, direction)

    def _value_map(
        self,
        path: JsonPath,
        raw: Mapping[str, Any],
        sides: tuple[Side, Side],
        fields: Mapping[str, tuple[str, ...]],
    ) -> dict[str, tuple[Assign, ...]]:
        first, second = sides[0].name, sides[1].name
        forward: dict[Any, Any] = dict(raw["values"])
        backward: dict[Any, Any] = {}
        for key, value in forward.items():
            if value in backward:
                self.error(
                    (*path, "values", key),
                    f"'{value}' appears twice on the {second} side: the map must work both ways",
                )
            backward[value] = key
        defaults = raw.get("default", {})
        location = self.at((*path, "values"))
        label = f"{fields[first][0]} ⇄ {fields[second][0]}"
        out: dict[str, tuple[Assign, ...]] = {}
        for target, source, table in ((second, first, forward), (first, second, backward)):
            getter = _field_expr(fields[source][0], location)
            fallback = defaults.get(target, _NO_DEFAULT)
            out[target] = (
                Assign(fields[target][0], _mapped(getter, table, fallback, label, location)),
            )
        return out

    def _assigns(self, path: JsonPath, sides: tuple[Side, Side], target: str) -> tuple[Assign, ...]:
        out = []
        raw = self.get(path)
        flow_raw = self.get(path[:3])
        for field_name in raw:
            fpath = (*path, field_name)
            self._check_object_field(field_name, fpath, target, flow_raw)
            expr = self.expr(fpath)
            if expr is not None:
                out.append(Assign(field_name, expr))
        return tuple(out)

    def _match(
        self, path: JsonPath, raw: Mapping[str, Any], sides: list[str]
    ) -> tuple[tuple[MatchKey, ...], frozenset[str]]:
        if "match" not in raw:
            return (), DEFAULT_NORMALIZE
        spec = raw["match"]
        if isinstance(spec, dict):
            keys_path: JsonPath = (*path, "match", "keys")
            normalize_raw = spec.get("normalize", sorted(DEFAULT_NORMALIZE))
            normalize = frozenset() if normalize_raw == "exact" else frozenset(normalize_raw)
            count = len(spec["keys"])
        else:
            keys_path = (*path, "match")
            normalize = DEFAULT_NORMALIZE
            count = len(spec)
        keys = []
        for i in range(count):
            if self._is_broken(json_path((*keys_path, i))):
                continue
            exprs = {}
            for j, side in enumerate(sides):
                e = self.expr((*keys_path, i, j))
                if e is not None:
                    exprs[side] = e
            if len(exprs) == 2:
                keys.append(MatchKey(exprs, self.at((*keys_path, i))))
        return tuple(keys), normalize

    def _unmatched(
        self, path: JsonPath, raw: Mapping[str, Any], sides: list[str], two_way: bool
    ) -> dict[str, Policy]:
        here = self.at((*path, "unmatched")) if "unmatched" in raw else self.at(path)
        default = Policy("create", "create", here)
        value = raw.get("unmatched")
        out = dict.fromkeys(sides, default)
        if value is None:
            return out
        if isinstance(value, str):
            return {side: Policy(value, value, here) for side in sides}
        if "first_run" in value:
            return {side: Policy(value["first_run"], value["later"], here) for side in sides}
        for key, policy in value.items():
            side = key.removeprefix("to_")
            if side not in sides:
                options = ", ".join(f"to_{s}" for s in sides)
                self.error(
                    (*path, "unmatched", key), f"'{key}' names no side (use {options})", key=True
                )
                continue
            where = self.at((*path, "unmatched", key))
            if isinstance(policy, str):
                out[side] = Policy(policy, policy, where)
            else:
                out[side] = Policy(policy["first_run"], policy["later"], where)
        return out

    def _rule(self, path: JsonPath, sides: tuple[Side, Side], two_way: bool) -> Rule | None:
        raw = self.get(path)
        actions = [a for a in RULE_ACTIONS if a in raw]
        if len(actions) != 1:
            self.error(path, f"a rule does one thing; this one says {', '.join(actions)}")
            return None
        action = actions[0]
        side = raw.get("side")
        names = [s.name for s in sides]
        if side is not None:
            if not two_way:
                self.error((*path, "side"), "side is only for two-way flows", key=True)
            elif side not in names:
                self.error((*path, "side"), f"there is no side '{side}'{_hint(side, names)}")
        when = self.expr((*path, "when"))
        if when is None:
            return None
        location = self.at(path)
        if action == "set":
            # The rule writes to the side opposite the record's side; for one-way that is target.
            target = (
                "target"
                if not two_way
                else (names[1 - names.index(side)] if side in names else names[1])
            )
            assigns = self._assigns((*path, "set"), sides, target)
            return Rule(when, "set", "", location, assigns=assigns, side=side)
        if action == "route":
            ref = self.object_ref((*path, "route"))
            if ref is None:
                return None
            target_side = sides[1] if not two_way else None
            if target_side is not None and ref.connection != target_side.ref.connection:
                self.error(
                    (*path, "route"),
                    f"a rule can only route to another object of '{target_side.ref.connection}'",
                )
            return Rule(when, "route", "", location, route=ref, side=side)
        return Rule(when, action, raw[action], location, side=side)

    # ---- event flows ----------------------------------------------------------------

    def _event_flow(self, name: str) -> EventFlow | None:
        path: JsonPath = ("flows", name)
        raw = self.get(path)
        common = self._common(name)
        source = self.object_ref((*path, "from"))
        target = self.object_ref((*path, "to"))
        if source is None or target is None:
            return None
        if target.multi:
            self.error((*path, "to"), "an event flow writes to one object")
        filt = self.expr((*path, "filter")) if "filter" in raw else None
        handlers = []
        for i, handler in enumerate(raw["events"]):
            if self._is_broken(json_path((*path, "events", i))):
                continue
            hpath = (*path, "events", i)
            event = handler["event"]
            related = handler.get("related")
            if event == "related_added" and not related:
                self.error(
                    hpath,
                    "related_added needs `related`: the related list to watch (Deals, Events ...)",
                )
            if related and event != "related_added":
                self.error(
                    (*hpath, "related"), "`related` belongs to related_added events", key=True
                )
            objects = tuple(handler.get("objects", ()))
            for j, obj in enumerate(objects):
                if obj not in source.objects:
                    self.error(
                        (*hpath, "objects", j), f"'{obj}' is not one of {', '.join(source.objects)}"
                    )
            when = self.expr((*hpath, "when")) if "when" in handler else None
            assigns: tuple[Assign, ...] = ()
            if "fields" in handler:
                assigns = tuple(
                    Assign(f, e)
                    for f in handler["fields"]
                    if (e := self.expr((*hpath, "fields", f))) is not None
                )
            if "schedule" in handler:
                self._cron((*hpath, "schedule"))
            handlers.append(
                EventHandler(
                    event=event,
                    action=handler["do"],
                    location=self.at(hpath),
                    related=related,
                    objects=objects,
                    when=when,
                    assigns=assigns,
                    schedule=handler.get("schedule"),
                )
            )
        return EventFlow(common, source, target, filt, raw.get("backfill", False), tuple(handlers))

    # ---- order and tests ------------------------------------------------------------

    def _order(self, flows: dict[str, Flow]) -> dict[str, Flow]:
        for name, uses in self._linked_uses.items():
            flow = flows.get(name)
            if flow is None:
                continue
            before = self._ancestors(name)
            for used, location in uses:
                if used != name and used not in before:
                    self.problems.add(
                        location,
                        f"linked('{used}') needs flow '{used}' to run first: add `after: {used}` to flow '{name}'",
                    )
        ordered: dict[str, Flow] = {}
        visiting: set[str] = set()

        def visit(name: str, chain: tuple[str, ...]) -> None:
            if name in ordered or name not in flows:
                return
            if name in visiting:
                cycle = " → ".join((*chain, name))
                self.error(
                    ("flows", name, "after"), f"flows run after each other in a circle: {cycle}"
                )
                return
            visiting.add(name)
            for dep in flows[name].common.after:
                visit(dep, (*chain, name))
            visiting.discard(name)
            ordered[name] = flows[name]

        for name in flows:
            visit(name, ())
        return ordered

    def _ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            raw = self.data["flows"].get(current, {})
            after = raw.get("after", ())
            for dep in [after] if isinstance(after, str) else after:
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    def _test(self, index: int) -> SpecTest | None:
        path: JsonPath = ("tests", index)
        raw = self.get(path)
        flow = raw.get("flow")
        if flow is not None and flow not in self.flow_names:
            self.error((*path, "flow"), f"there is no flow '{flow}'{_hint(flow, self.flow_names)}")
        given: dict[str, tuple[dict[str, Any], ...]] = {}
        for ref_text, records in raw["given"].items():
            connection = ref_text.split(".", 1)[0]
            if connection not in self.connection_names:
                self.error(
                    (*path, "given", ref_text),
                    f"there is no connection '{connection}'{_hint(connection, self.connection_names)}",
                    key=True,
                )
            given[ref_text] = tuple(records)
        for j, expectation in enumerate(raw["expect"]):
            eflow = expectation.get("flow")
            if eflow is not None and eflow not in self.flow_names:
                self.error(
                    (*path, "expect", j, "flow"),
                    f"there is no flow '{eflow}'{_hint(eflow, self.flow_names)}",
                )
        return SpecTest(
            name=raw["name"],
            flow=flow,
            given=given,
            runs=raw.get("runs", 0),
            expect=tuple(raw["expect"]),
            location=self.at(path),
        )


_NO_DEFAULT = object()


def _mapped(
    getter: Expr, table: Mapping[Any, Any], fallback: Any, label: str, location: Location
) -> Expr:
    from integrate.errors import RecordError

    def fn(record: Any) -> Any:
        value = getter(record)
        if value is None:
            return None
        if value in table:
            return table[value]
        if fallback is not _NO_DEFAULT:
            return fallback
        raise RecordError(
            f"the value {value!r} has no entry in the value map {label}", location=location
        )

    return Expr(f"values({getter.text})", location, fn)


def _field_expr(field_name: str, location: Location) -> Expr:
    parts = tuple(field_name.split("."))

    def fn(record: Any) -> Any:
        for part in parts:
            if not isinstance(record, dict):
                return None
            record = record.get(part)
        return record

    return Expr(field_name, location, fn, path=parts)


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


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


__all__ = ["SpecError", "build_spec", "load_spec", "resolve_config"]
