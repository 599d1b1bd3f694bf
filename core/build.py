"""From a loaded, schema-valid document to a Spec: every expression compiled once, every
reference checked, every problem reported at once with its place in the file."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from integrate.buildbase import _hint, _secret_paths, _walk
from integrate.buildflows import FlowBuilder
from integrate.errors import Location, ProblemList, SpecError
from integrate.fieldcheck import Catalogue, CatalogueOf, check_flow_fields
from integrate.loader import Document, JsonPath, json_path, load_file
from integrate.model import (
    Connection,
    Flow,
    Sandbox,
    Side,
    Spec,
    SpecTest,
    SyncFlow,
)
from integrate.plugins import Plugins
from integrate.schema import check_resolved, combined_schema, core_schema, validate
from integrate.secrets import ReferenceProblem, Resolver, defaulted, references, reveal


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
_TOP_LEVEL_OK = ("$.description", "$.state", "$.failures", "$.schedule", "$.integrate")


def _depth(path: str) -> int:
    return path.count(".") + path.count("[")


def _revealed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return reveal(value)


def pick(config: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = config
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def resolve_config(
    connection: Connection,
    resolver: Resolver,
    *,
    strict: bool = True,
    schema: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The connection's config with every ${...} reference resolved (secrets as Secret).
    Raises SpecError naming each unset variable and its line; with strict=False an unset
    one becomes None (`integrate auth` runs before the refresh token exists). With the
    plugin's settings `schema`, each resolved value is checked against it too."""
    problems = ProblemList()
    referenced: list[tuple[str, ...]] = []

    def walk(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, path) for v in value]
        if isinstance(value, str) and "${" in value:
            where = connection.config_locations.get(path, connection.location)
            referenced.append(path)
            try:
                return resolver.resolve(
                    value, secret=path in connection.secret_paths, location=where
                )
            except ReferenceProblem as exc:
                problems.extend(exc.problems)
                return None
        return value

    out = walk(dict(connection.config), ())
    if schema is not None and not problems.errors:
        for path, message in check_resolved(schema, _revealed(out), referenced):
            where = connection.config_locations.get(path, connection.location)
            shown = "its value" if path in connection.secret_paths else repr(pick(out, path))
            original = pick(connection.config, path)
            problems.add(
                where,
                f"{original} gives {shown}, which is not valid here: {message}",
                json_path(("connections", connection.alias, "config", *path)),
            )
    if strict:
        problems.raise_if_any()
    assert isinstance(out, dict)
    return out


class _Builder(FlowBuilder):
    """Builds a whole spec: connections, flows in order, tests."""

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
            self._lets = None
            flow = self._flow(name)
            if flow is not None:
                flows[name] = flow
        self._current_flow = None
        self._lets = None
        ordered = self._order(flows)
        if self.plugins is not None:
            catalogue_of = self._offline_catalogue(connections)
            for flow in ordered.values():
                if isinstance(flow, SyncFlow):
                    check_flow_fields(self.problems, flow, catalogue_of)
        tests = tuple(
            self._test(i)
            for i in range(len(data.get("tests") or []))
            if not self._is_broken(f"$.tests[{i}]") and not self._is_broken("$.tests")
        )
        base = self.doc.path.parent
        state = data.get("state") if isinstance(data.get("state"), str) else None
        if state is not None and state.startswith(("postgresql:", "postgres:")):
            # a database's URL carries its password: the spec is shared, the environment is not
            self.error(
                ("state",),
                "`state` is a file's path; a PostgreSQL state is given with --state or "
                "$INTEGRATE_STATE, never in a spec (its URL holds a password): "
                "docs/scaling-out.md",
            )
            state = None
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
            location=self.at(()),
            warnings=tuple(str(p) for p in self.problems.warnings),
            sandbox=self._sandbox()
            if "sandbox" in data and not self._is_broken("$.sandbox")
            else None,
            timezone=self._timezone(),
        )

    def _offline_catalogue(self, connections: Mapping[str, Connection]) -> CatalogueOf:
        """A side's catalogues as its plugin knows them from the spec's settings alone."""
        plugins = self.plugins
        assert plugins is not None

        def of(side: Side) -> Catalogue | None:
            connection = connections.get(side.ref.connection)
            cls = plugins.connectors.get(connection.plugin) if connection else None
            if connection is None or cls is None:
                return None
            objects = []
            for obj in side.ref.objects:
                fields = cls.offline_fields(connection.config, obj)
                if fields is None:
                    return None
                objects.append(fields)
            return Catalogue(cls.plugin, tuple(objects))

        return of

    def _timezone(self) -> str:
        zone = self.data.get("timezone")
        if not isinstance(zone, str) or self._is_broken("$.timezone"):
            return "UTC"
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.error(
                ("timezone",),
                f"'{zone}' is not a time zone this machine knows (an IANA name such as "
                "'Europe/Warsaw' or 'UTC')",
            )
            return "UTC"
        return zone

    def _sandbox(self) -> Sandbox:
        raw = self.data["sandbox"]
        seed: dict[str, tuple[dict[str, Any], ...] | Path] = {}
        for ref, records in raw.get("seed", {}).items():
            path: JsonPath = ("sandbox", "seed", ref)
            connection = ref.split(".", 1)[0]
            if connection not in self.connection_names:
                hint = _hint(connection, self.connection_names)
                self.error(path, f"there is no connection '{connection}'{hint}", key=True)
                continue
            if isinstance(records, dict):
                file = self.doc.path.parent / records["file"]
                if not file.is_file():
                    self.warn(
                        (*path, "file"),
                        f"{file} does not exist (needed by `integrate run --sandbox`)",
                    )
                seed[ref] = file
            else:
                seed[ref] = tuple(records)
        for alias in raw.get("options", {}):
            if alias not in self.connection_names:
                hint = _hint(alias, self.connection_names)
                self.error(
                    ("sandbox", "options", alias),
                    f"there is no connection '{alias}'{hint}",
                    key=True,
                )
        return Sandbox(
            raw.get("description", ""), seed, dict(raw.get("options", {})), self.at(("sandbox",))
        )

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
                if isinstance(value, str) or (sub in secret_paths and not isinstance(value, dict)):
                    self._check_reference(full, value, sub in secret_paths)
            out[alias] = Connection(
                alias,
                plugin,
                config,
                self.at(path, key=True),
                secret_paths,
                locations,
                dict(raw.get("limits", {})),
            )
        return out

    def _check_reference(self, path: JsonPath, value: Any, secret: bool) -> None:
        text = value if isinstance(value, str) else ""
        if secret and not references(text):
            field = path[-1]
            self.error(
                path,
                f"'{field}' is a secret: write a reference such as ${{env:NAME}} or ${{file:PATH}}, "
                "never the value itself",
            )
            return
        if secret and defaulted(text):
            self.error(
                path,
                f"'{path[-1]}' is a secret: its reference cannot have a default "
                f"(${{env:{defaulted(text)[0]}:-...}}), since the default would be the secret "
                "itself; drop the default",
            )
            return
        for kind, name in self.resolver.missing(text):
            what = f"environment variable {name}" if kind == "env" else f"secret file {name}"
            if self.strict_env:
                self.error(path, f"{what} is not set")
            else:
                self.warn(path, f"{what} is not set (needed when the spec runs)")

    # ---- flows ----------------------------------------------------------------------

    def _order(self, flows: dict[str, Flow]) -> dict[str, Flow]:
        for name, uses in self._linked_uses.items():
            flow = flows.get(name)
            if flow is None:
                continue
            before = self._ancestors(name)
            for used, path in uses:
                if used != name and used not in before:
                    self.error(
                        path,
                        f"linked('{used}') needs flow '{used}' to run first: "
                        f"add `after: {used}` to flow '{name}'",
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
                if dep != name:  # "after itself" is reported where `after` is read
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


__all__ = ["SpecError", "build_spec", "load_spec", "resolve_config"]
