"""The built spec: frozen, typed, every expression compiled, everything located.

After the builder, nothing is a raw dict. One-way flows and two-way flows share one model:
a one-way flow is a sync flow whose sides are called `source` and `target` and whose
direction is fixed to the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrate.errors import Location
from integrate.expressions import Expr
from integrate.functions import FunctionLibrary

OBJECT_FIELD = "$object"

CREATE = "create"
SKIP = "skip"
QUEUE = "queue"


@dataclass(frozen=True)
class ObjectRef:
    """connection.Object (or connection.A|B)."""

    connection: str
    objects: tuple[str, ...]
    location: Location

    @property
    def text(self) -> str:
        return f"{self.connection}.{'|'.join(self.objects)}"

    @property
    def multi(self) -> bool:
        return len(self.objects) > 1

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Connection:
    alias: str
    plugin: str
    config: Mapping[str, Any]
    location: Location
    # Paths (within config) of values the plugin marks secret.
    secret_paths: frozenset[tuple[str, ...]] = frozenset()
    config_locations: Mapping[tuple[str, ...], Location] = field(default_factory=dict)
    limits: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Assign:
    """target field ← expression."""

    field: str
    expr: Expr
    # Where the field's name is written (its key), when it has one of its own.
    key: Location | None = None

    @property
    def location(self) -> Location:
        return self.expr.location

    @property
    def field_location(self) -> Location:
        return self.key or self.expr.location


@dataclass(frozen=True)
class Side:
    name: str
    ref: ObjectRef


@dataclass(frozen=True)
class FieldPair:
    """One field kept equal on two sides: its fields on each side, and how each side's
    values are made from the other side's record."""

    location: Location
    fields: Mapping[str, tuple[str, ...]]
    make: Mapping[str, tuple[Assign, ...]]
    # "both", or the name of the only side this pair writes to.
    direction: str = "both"

    def flows_to(self, side: str) -> bool:
        return side in self.make and self.direction in ("both", side)


@dataclass(frozen=True)
class MatchKey:
    exprs: Mapping[str, Expr]
    location: Location


@dataclass(frozen=True)
class Rule:
    when: Expr
    action: str  # skip | queue | defer | fail | set | route
    reason: str
    location: Location
    assigns: tuple[Assign, ...] = ()
    route: ObjectRef | None = None
    side: str | None = None


@dataclass(frozen=True)
class Policy:
    first_run: str
    later: str
    location: Location

    def for_run(self, first: bool) -> str:
        return self.first_run if first else self.later


@dataclass(frozen=True)
class FlowCommon:
    name: str
    location: Location
    description: str
    enabled: bool
    after: tuple[str, ...]
    schedule: str | None
    triggers: tuple[str, ...]
    batch_size: int | None
    page_size: int | None
    batch_location: Location | None
    page_location: Location | None
    # `watch:`: side name -> seconds between looks for its changes by `integrate serve`.
    watch: Mapping[str, float] = field(default_factory=dict)
    watch_location: Location | None = None


@dataclass(frozen=True)
class SyncFlow:
    common: FlowCommon
    sides: tuple[Side, Side]
    two_way: bool
    # None for both ways, else the only side written to.
    only_to: str | None
    pairs: tuple[FieldPair, ...]
    match: tuple[MatchKey, ...]
    normalize: frozenset[str]
    unmatched: Mapping[str, Policy]
    conflict: str
    rules: tuple[Rule, ...]
    filters: Mapping[str, Expr]
    on_create: Mapping[str, tuple[Assign, ...]]
    upsert_on: tuple[str, ...]
    deletes: str = "ignore"
    # Named values over each source record, in order (one-way flows): let.<name>.
    lets: tuple[tuple[str, Expr], ...] = ()
    # `empty: keep`: null or empty source values are not written (the target keeps its own).
    keep_empty: bool = False

    @property
    def name(self) -> str:
        return self.common.name

    def side(self, name: str) -> Side:
        return self.sides[0] if self.sides[0].name == name else self.sides[1]

    def other(self, name: str) -> Side:
        return self.sides[1] if self.sides[0].name == name else self.sides[0]

    def writes_to(self, side: str) -> bool:
        return self.only_to is None or self.only_to == side

    def pairs_to(self, side: str) -> tuple[FieldPair, ...]:
        """The pairs that write to `side`; an object-level one-way direction overrides a
        pair's own direction, both-ways honours it (CS-5)."""
        if not self.writes_to(side):
            return ()
        if self.only_to is not None:
            return tuple(p for p in self.pairs if side in p.make)
        return tuple(p for p in self.pairs if p.flows_to(side))

    def pairs_writing(self, side: str, read_only: frozenset[str]) -> tuple[FieldPair, ...]:
        """The pairs that write to `side`, given the fields its system keeps read-only: a
        pair brought in only by an object-level one-way direction (its own direction is the
        other way) is left out when it would write one of them, as a CRM id kept on the other
        side cannot be written back (CS-5); any other pair writes as `pairs_to` says."""
        return tuple(
            p
            for p in self.pairs_to(side)
            if p.flows_to(side) or not any(a.field.split(".")[0] in read_only for a in p.make[side])
        )


@dataclass(frozen=True)
class EventHandler:
    event: str  # created | updated | related_added
    action: str
    location: Location
    related: str | None = None
    objects: tuple[str, ...] = ()
    when: Expr | None = None
    assigns: tuple[Assign, ...] = ()
    schedule: str | None = None


@dataclass(frozen=True)
class EventFlow:
    common: FlowCommon
    source: ObjectRef
    target: ObjectRef
    filter: Expr | None
    backfill: bool
    handlers: tuple[EventHandler, ...]

    @property
    def name(self) -> str:
        return self.common.name


Flow = SyncFlow | EventFlow


@dataclass(frozen=True)
class SpecTest:
    name: str
    flow: str | None
    given: Mapping[str, tuple[dict[str, Any], ...]]
    runs: int
    expect: tuple[Mapping[str, Any], ...]
    location: Location


@dataclass(frozen=True)
class Sandbox:
    """Demo data for `integrate run --sandbox`."""

    description: str
    # connection.Object → records, or the path of a JSON-lines file of them.
    seed: Mapping[str, tuple[dict[str, Any], ...] | Path]
    options: Mapping[str, Mapping[str, Any]]
    location: Location


@dataclass(frozen=True)
class Spec:
    """A built spec, ready to run."""

    name: str
    description: str
    path: Path
    connections: Mapping[str, Connection]
    # In dependency order (`after` first).
    flows: Mapping[str, Flow]
    schedule: str | None
    state_path: Path | None
    failures_path: Path | None
    tests: tuple[SpecTest, ...]
    library: FunctionLibrary
    location: Location
    warnings: tuple[str, ...] = ()
    sandbox: Sandbox | None = None
    timezone: str = "UTC"

    def flow(self, name: str) -> Flow:
        return self.flows[name]
