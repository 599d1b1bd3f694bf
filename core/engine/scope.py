"""What a sync flow's run works out once from the flow (fields per side, assigns per
direction, the fields to read), and the pure steps over one record that every decision
uses: rules, mapping, the target object, the match key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from integrate.connector import Record
from integrate.engine.values import LET, key_text, normalize, truthy
from integrate.errors import Location, RecordError
from integrate.expressions import Expr
from integrate.model import OBJECT_FIELD, Assign, Rule, SyncFlow


@dataclass(frozen=True)
class RuleResult:
    """What the rules said of a record: a terminal action, or fields to set and a route."""

    action: str | None = None  # skip | queue | defer | fail
    reason: str = ""
    location: Location | None = None
    sets: Mapping[str, Any] = field(default_factory=dict)
    set_fields: tuple[str, ...] = ()
    route: str | None = None


NO_RULES = RuleResult()


class FlowScope:
    """The read-only scope of one sync flow in one run: the flow and the tables derived from
    it. Side indexes: 0 is the flow's first side (a one-way flow's source), 1 the other."""

    def __init__(
        self,
        flow: SyncFlow,
        *,
        first_run: bool,
        read_only: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
    ):
        self.flow = flow
        self.first_run = first_run
        self.sides = flow.sides
        self.names = (flow.sides[0].name, flow.sides[1].name)
        # Fields each side contributes to snapshots.
        fields_of: list[tuple[str, ...]] = []
        for side in self.sides:
            names: dict[str, None] = {}
            for pair in flow.pairs:
                for name in pair.fields.get(side.name, ()):
                    names[name] = None
            for rule in flow.rules:
                for assign in rule.assigns:
                    names[assign.field] = None
            fields_of.append(tuple(names))
        self.fields_of: tuple[tuple[str, ...], tuple[str, ...]] = (fields_of[0], fields_of[1])
        self.field_sets = (frozenset(fields_of[0]), frozenset(fields_of[1]))
        writing = tuple(
            flow.pairs_writing(side.name, read_only[s]) for s, side in enumerate(self.sides)
        )
        self.assigns: tuple[tuple[Assign, ...], ...] = tuple(
            tuple(a for p in writing[s] for a in p.make[side.name])
            for s, side in enumerate(self.sides)
        )
        # (field, key, expression) per side: `key` is set when the expression names one field,
        # which the mapping then reads with a dict look-up instead of a call
        self.plans: tuple[tuple[tuple[str, str | None, Expr], ...], ...] = tuple(
            tuple(
                (
                    a.field,
                    a.expr.path[0] if a.expr.path is not None and len(a.expr.path) == 1 else None,
                    a.expr,
                )
                for a in assigns
            )
            for assigns in self.assigns
        )
        self.pair_to: tuple[tuple[bool, ...], ...] = tuple(
            tuple(any(p is q for q in writing[s]) for p in flow.pairs)
            for s in range(len(self.sides))
        )
        self.read_fields = (self._fields_read(0), self._fields_read(1))

    def _fields_read(self, s: int) -> tuple[str, ...] | None:
        """The fields this flow needs of side s's records (None: all of them): everything its
        expressions over those records name, and the side's own pair fields."""
        flow, name = self.flow, self.names[s]
        other = self.names[1 - s]
        exprs = [a.expr for a in self.assigns[1 - s]]
        exprs += [key.exprs[name] for key in flow.match]
        exprs += [flow.filters[name]] if name in flow.filters else []
        if s == 0 and not flow.two_way:
            exprs += [expr for _name, expr in flow.lets]
        exprs += [a.expr for a in flow.on_create.get(other, ())]
        for rule in flow.rules:
            if rule.side in (None, name):
                exprs += [rule.when, *(a.expr for a in rule.assigns)]
        names: set[str] = {f.split(".")[0] for f in self.fields_of[s]}
        for expr in exprs:
            if expr.fields is None:
                return None
            names |= expr.fields
        names.discard(OBJECT_FIELD)
        if flow.lets and s == 0:
            names.discard(LET)
        return tuple(sorted(names))

    # ---- the pure steps -------------------------------------------------------------------

    def rules(self, side: str, record: Record, *, resolved: bool) -> RuleResult:
        """The flow's rules over one record of `side`, in order: the first terminal action
        ends them (a `queue` rule is passed over once an operator resolved the record)."""
        sets: dict[str, Any] = {}
        set_fields: tuple[str, ...] = ()
        route: str | None = None
        for rule in self.flow.rules:
            if rule.side is not None and rule.side != side:
                continue
            if not truthy(rule.when(record)):
                continue
            if rule.action in ("skip", "queue", "defer", "fail"):
                if rule.action == "queue" and resolved:
                    continue
                return RuleResult(rule.action, rule.reason, rule.location)
            if rule.action == "set":
                sets.update(_assigned(rule, record))
                set_fields = (*set_fields, *(a.field for a in rule.assigns))
            elif rule.action == "route" and rule.route is not None:
                route = rule.route.objects[0]
        if not sets and route is None:
            return NO_RULES
        return RuleResult(sets=sets, set_fields=set_fields, route=route)

    def make(self, t: int, record: Record, rules: RuleResult | None) -> dict[str, Any]:
        """The values side t would get from this record (target field → value)."""
        get = record.get
        values = {f: get(k) if k is not None else e(record) for f, k, e in self.plans[t]}
        if rules is not None and rules.sets:
            values.update(rules.sets)
        if self.flow.keep_empty:
            return {f: v for f, v in values.items() if v is not None and v != ""}
        return values

    def on_create(self, t: int, record: Record) -> dict[str, Any]:
        """The flow's `on_create` values for side t (only a create sends them)."""
        assigns = self.flow.on_create.get(self.names[t])
        return {a.field: a.expr(record) for a in assigns} if assigns else {}

    def target_object(self, t: int, values: dict[str, Any], rules: RuleResult | None) -> str:
        """Which of side t's objects the values go to (and `$object` taken out of them)."""
        side = self.sides[t]
        chosen = values.pop(OBJECT_FIELD, None)
        if rules is not None and rules.route:
            chosen = rules.route
        if chosen is None:
            if side.ref.multi:
                raise RecordError(
                    f"cannot tell which of {side.ref.text} to write to: map {OBJECT_FIELD} for {side.name}",
                    location=side.ref.location,
                )
            return side.ref.objects[0]
        if chosen not in side.ref.objects and (rules is None or chosen != rules.route):
            raise RecordError(
                f"{OBJECT_FIELD} is {chosen!r}, not one of {', '.join(side.ref.objects)}",
                location=side.ref.location,
            )
        return str(chosen)

    def key(self, s: int, record: Record) -> str | None:
        """The normalised match key of a record of side s (None when a part is empty)."""
        parts = []
        for key in self.flow.match:
            value = normalize(key.exprs[self.names[s]](record), self.flow.normalize)
            if value is None or value == "":
                return None
            parts.append(value)
        return key_text(parts)


def _assigned(rule: Rule, record: Record) -> dict[str, Any]:
    return {assign.field: assign.expr(record) for assign in rule.assigns}
