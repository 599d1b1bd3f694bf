"""`integrate test`: a spec's own tests, run against the plugins' emulators, offline.

Each test starts from nothing: fresh emulators seeded with its `given` records, a fresh
state store. Every flow runs (in order) `runs` times, then once more while the plan is
recorded; the expectations are checked against that last plan."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrate.emulator import Emulator
from integrate.engine import Change, RunOptions, run_spec
from integrate.engine.values import same
from integrate.errors import PluginError
from integrate.model import Spec, SpecTest
from integrate.plugins import Plugins
from integrate.secrets import REFERENCE

SEED_REF = "@seed:"
OUTCOME_KEYS = ("create", "update", "unchanged", "skip", "queue", "defer", "fail", "action")


@dataclass
class TestResult:
    name: str
    ok: bool
    messages: list[str] = field(default_factory=list)


def plain_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a connection that are not references (secrets, env)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, str) and REFERENCE.search(value):
            continue
        out[key] = plain_config(value) if isinstance(value, Mapping) else value
    return out


def seed(
    emulators: Mapping[str, Emulator], given: Mapping[str, Iterable[Mapping[str, Any]]], what: str
) -> dict[str, str]:
    """Put records into emulated objects: {connection.Object: records}, in order. On a side
    spanning several objects (conn.A|B), each record names its own with `$object`. A record
    may name itself with `$seed: acme`; later records then write `"@seed:acme"` for its id (the
    emulated system gives ids, so demo data refers to its own records this way)."""
    named: dict[str, str] = {}
    for ref, records in given.items():
        alias, _, names = ref.partition(".")
        objects = names.split("|")
        by_object: dict[str, list[dict[str, Any]]] = {obj: [] for obj in objects}
        labels: dict[str, list[str | None]] = {obj: [] for obj in objects}
        for record in records:
            row = dict(record)
            obj = str(row.pop("$object", objects[0]))
            if obj not in by_object:
                raise PluginError(f"{what}: $object {obj!r} is not one of {names}")
            label = row.pop("$seed", None)
            by_object[obj].append(_resolve(row, named, what))
            labels[obj].append(str(label) if label is not None else None)
        for obj, rows in by_object.items():
            if not rows:
                continue
            stored = emulators[alias].seed(obj, rows)
            for label, record in zip(labels[obj], stored, strict=True):
                if label is not None:
                    named[label] = str(record.get("id"))
    return named


def _resolve(value: Any, named: Mapping[str, str], what: str) -> Any:
    if isinstance(value, str) and value.startswith(SEED_REF):
        label = value[len(SEED_REF) :]
        if label not in named:
            raise PluginError(
                f"{what}: {value!r} names no record seeded before it (`$seed: {label}`)"
            )
        return named[label]
    if isinstance(value, dict):
        return {k: _resolve(v, named, what) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, named, what) for v in value]
    return value


def start_emulators(spec: Spec, plugins: Plugins) -> dict[str, Emulator]:
    emulators: dict[str, Emulator] = {}
    try:
        for alias, connection in spec.connections.items():
            cls = plugins.emulators.get(connection.plugin)
            if cls is None:
                raise PluginError(
                    f"plugin '{connection.plugin}' has no emulator, so connection '{alias}' cannot be emulated"
                )
            emulators[alias] = cls.for_connection(plain_config(connection.config))
    except BaseException:
        for emulator in emulators.values():
            emulator.close()
        raise
    return emulators


def emulated_options(spec: Spec, emulators: Mapping[str, Emulator], **kwargs: Any) -> RunOptions:
    configs = {}
    transports = {}
    for alias, emulator in emulators.items():
        configs[alias] = {
            **plain_config(spec.connections[alias].config),
            **emulator.connection_config(),
        }
        transport = emulator.transport()
        if transport is not None:
            transports[alias] = transport
    return RunOptions(configs=configs, transports=transports, **kwargs)


def run_spec_tests(
    spec: Spec, plugins: Plugins, *, pattern: str | None = None
) -> Iterator[TestResult]:
    for test in spec.tests:
        if pattern and pattern not in test.name:
            continue
        yield run_one(spec, plugins, test)


def run_one(spec: Spec, plugins: Plugins, test: SpecTest) -> TestResult:
    emulators = start_emulators(spec, plugins)
    try:
        try:
            named = seed(emulators, test.given, f"test '{test.name}'")
        except (PluginError, ValueError) as exc:
            return TestResult(test.name, False, [f"given: {exc}"])
        with tempfile.TemporaryDirectory(prefix="integrate-test-") as tmp:
            base = Path(tmp)
            for _ in range(test.runs):
                run_spec(
                    spec,
                    plugins,
                    emulated_options(
                        spec,
                        emulators,
                        state_path=base / "state.db",
                        failures_path=base / "failed.jsonl",
                    ),
                )
            plan: list[Change] = []
            run_spec(
                spec,
                plugins,
                emulated_options(
                    spec,
                    emulators,
                    state_path=base / "state.db",
                    failures_path=base / "failed.jsonl",
                    observer=plan.append,
                ),
            )
    finally:
        for emulator in emulators.values():
            emulator.close()
    messages = []
    for i, expectation in enumerate(test.expect):
        try:
            expectation = _resolve(expectation, named, f"expect[{i}]")
        except PluginError as exc:
            messages.append(str(exc))
            continue
        problem = check(expectation, plan, test.flow)
        if problem:
            messages.append(f"expect[{i}] {problem}")
    if messages:
        messages.append("the plan was:")
        messages.extend(f"  {_describe(c)}" for c in plan)
    return TestResult(test.name, not messages, messages)


def check(expectation: Mapping[str, Any], plan: list[Change], default_flow: str | None) -> str:
    outcome = next(k for k in OUTCOME_KEYS if k in expectation)
    value = expectation[outcome]
    flow = expectation.get("flow", default_flow)
    matches = [c for c in plan if _fits(c, outcome, value, flow, expectation)]
    wanted = expectation.get("count")
    if wanted is None:
        return "" if matches else f"no plan line fits {dict(expectation)}"
    if len(matches) != wanted:
        return f"{len(matches)} plan lines fit {dict(expectation)}, expected {wanted}"
    return ""


def _fits(change: Change, outcome: str, value: Any, flow: str | None, e: Mapping[str, Any]) -> bool:
    if change.outcome != outcome:
        return False
    if flow is not None and change.flow != flow:
        return False
    if "source" in e and str(e["source"]) != str(change.source_id):
        return False
    if "target" in e and str(e["target"]) != str(change.target_id):
        return False
    if isinstance(value, str):
        if outcome in ("skip", "queue", "defer", "fail"):
            if value not in change.reason:
                return False
        elif outcome == "action":
            if value != change.action:
                return False
        elif "." in value:
            _connection, _, obj = value.partition(".")
            if change.target_object != obj:
                return False
    for name, wanted in (e.get("fields") or {}).items():
        if name not in change.fields or not same(change.fields[name][1], wanted):
            return False
    return True


def _describe(change: Change) -> str:
    parts = [change.flow, change.outcome, f"source={change.source_id}"]
    if change.target_object:
        parts.append(f"target={change.target_object}:{change.target_id}")
    if change.reason:
        parts.append(f"reason={change.reason!r}")
    if change.fields:
        parts.append("fields=" + ", ".join(f"{k}={v[1]!r}" for k, v in change.fields.items()))
    return " ".join(parts)
