"""What every part of a sync flow's run shares: the flow, its state, the derived tables
(fields per side, assigns per direction), and the small steps all parts use."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from integrate.connector import BadRecord, Page, Record, WriteResult
from integrate.engine.context import RunContext
from integrate.engine.outcomes import Outcomes
from integrate.engine.plan import Change
from integrate.engine.scratch import TargetIndex
from integrate.engine.values import LET, key_text, normalize, truthy
from integrate.engine.writer import Writer
from integrate.errors import Location, RecordError
from integrate.expressions import Expr
from integrate.model import OBJECT_FIELD, Assign, Rule, SyncFlow
from integrate.state import Held, Link

if TYPE_CHECKING:
    from integrate.engine.scratch import Candidate, Stash
    from integrate.engine.unclear import UnclearCreate


class Unkeyed(enum.Enum):
    """A match key not worked out yet (None is a key that is empty)."""

    UNKEYED = 0


UNKEYED = Unkeyed.UNKEYED


@dataclass
class RuleResult:
    """What the rules said about a record: a terminal action, or fields to set / a route."""

    action: str | None = None  # skip | queue | defer | fail
    reason: str = ""
    location: Location | None = None
    sets: dict[str, Any] = field(default_factory=dict)
    set_fields: tuple[str, ...] = ()
    route: str | None = None


class FlowRun:
    """The shared state and steps of one sync flow's run (see SyncRun)."""

    def __init__(self, ctx: RunContext, flow: SyncFlow, writer: Writer):
        self.ctx = ctx
        self.flow = flow
        self.store = ctx.store
        self.writer = writer
        self.out = Outcomes(ctx, flow.name, writer)
        self.stats = self.out.stats
        self.first_run = self.store.completed_runs(flow.name) == 0
        self.sides = flow.sides
        self.names = (flow.sides[0].name, flow.sides[1].name)
        # Fields each side contributes to snapshots.
        self.fields_of: list[tuple[str, ...]] = []
        for side in self.sides:
            names: dict[str, None] = {}
            for pair in flow.pairs:
                for name in pair.fields.get(side.name, ()):
                    names[name] = None
            for rule in flow.rules:
                for assign in rule.assigns:
                    names[assign.field] = None
            self.fields_of.append(tuple(names))
        self.field_sets: list[frozenset[str]] = [frozenset(f) for f in self.fields_of]
        self.assigns: list[tuple[Assign, ...]] = [
            tuple(a for p in flow.pairs_to(side.name) for a in p.make[side.name])
            for side in self.sides
        ]
        # (field, key, expression) per side: `key` is set when the expression names one field,
        # which the mapping then reads with a dict look-up instead of a call
        self.plans: list[tuple[tuple[str, str | None, Expr], ...]] = [
            tuple(
                (
                    a.field,
                    a.expr.path[0] if a.expr.path is not None and len(a.expr.path) == 1 else None,
                    a.expr,
                )
                for a in assigns
            )
            for assigns in self.assigns
        ]
        self.pair_to: list[tuple[bool, ...]] = [
            tuple(any(p is q for q in flow.pairs_to(side.name)) for p in flow.pairs)
            for side in self.sides
        ]
        self.read_fields: list[tuple[str, ...] | None] = [self._fields_read(i) for i in (0, 1)]
        self.indexes: dict[int, TargetIndex] = {}
        self.claimed_keys: list[dict[str, str]] = [{}, {}]
        self.claimed_ids: list[dict[tuple[str, str], str]] = [{}, {}]
        self.final_cursors: dict[int, dict[str, Any]] = {}
        # creates with no clear answer, to look for; (side, id) of those being looked for
        self.unclear: dict[tuple[int, str], UnclearCreate] = {}
        self.looking: set[tuple[str, str]] = set()
        # (side, object) pairs a page of which held unreadable records: their cursor stays
        # where it was, so those records are read again (once fixed) on the next run.
        self.unreadable_in: set[tuple[int, str]] = set()
        self._reported: set[tuple[int, str]] = set()

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

    def _read(self, s: int, *, full: bool = False) -> Iterator[tuple[str, Page]]:
        side = self.sides[s]
        connector = self.ctx.connectors[side.ref.connection]
        saved = (
            {}
            if (full or self.ctx.full_refresh)
            else (self.store.cursor(self.flow.name, side.name) or {})
        )
        for obj in side.ref.objects:
            info = self.ctx.info(side.ref.connection, obj)
            page_size = min(self.flow.common.page_size or info.page_size, info.page_size)
            pages = connector.read(
                obj, since=saved.get(obj), fields=self.read_fields[s], page_size=page_size
            )
            for page in pages:
                self.ctx.stop.check()  # a safe point: between pages
                if side.ref.multi:
                    for record in page.records:
                        record[OBJECT_FIELD] = obj
                if page.failures:
                    self._unreadable(s, obj, page.failures)
                yield obj, page

    def _unreadable(self, s: int, obj: str, failures: list[BadRecord]) -> None:
        """Record each unreadable record once per run (a side may be read twice: changes,
        then in full for matching), and keep the object's cursor back."""
        self.unreadable_in.add((s, obj))
        for bad in failures:
            if (s, bad.where) not in self._reported:
                self._reported.add((s, bad.where))
                self.out.unreadable(self.names[s], self.names[1 - s], bad)

    def _rules(self, side: str, record: Record, *, resolved: bool) -> RuleResult:
        out = RuleResult()
        for rule in self.flow.rules:
            if rule.side is not None and rule.side != side:
                continue
            if not truthy(rule.when(record)):
                continue
            if rule.action in ("skip", "queue", "defer", "fail"):
                if rule.action == "queue" and resolved:
                    continue
                out.action = rule.action
                out.reason = rule.reason
                out.location = rule.location
                return out
            self._apply_rule(rule, record, out)
        return out

    @staticmethod
    def _apply_rule(rule: Rule, record: Record, out: RuleResult) -> None:
        if rule.action == "set":
            for assign in rule.assigns:
                out.sets[assign.field] = assign.expr(record)
            out.set_fields = (*out.set_fields, *(a.field for a in rule.assigns))
        elif rule.action == "route" and rule.route is not None:
            out.route = rule.route.objects[0]

    def _make(self, t: int, record: Record, rules: RuleResult | None) -> dict[str, Any]:
        get = record.get
        values = {f: get(k) if k is not None else e(record) for f, k, e in self.plans[t]}
        if rules is not None and rules.sets:
            values.update(rules.sets)
        if self.flow.keep_empty:
            return {f: v for f, v in values.items() if v is not None and v != ""}
        return values

    def _target_object(self, t: int, values: dict[str, Any], rules: RuleResult | None) -> str:
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

    def _key(self, s: int, record: Record) -> str | None:
        """The normalised match key of a record of side s (None when a part is empty)."""
        parts = []
        for key in self.flow.match:
            value = normalize(key.exprs[self.names[s]](record), self.flow.normalize)
            if value is None or value == "":
                return None
            parts.append(value)
        return key_text(parts)

    def _emit(self, change: Change) -> None:
        self.out.emit(change)

    def _created_fields(self, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        """A created record's fields for the plan (old value None); only observers read them."""
        if self.ctx.observer is None:
            return {}
        return {f: (None, v) for f, v in values.items()}

    def _skip(self, s: int, sid: str, record: Record, held: Held | None, reason: str) -> None:
        self.out.skip(self.names[s], sid, self.names[1 - s], reason, release=held is not None)

    def _hold(
        self,
        s: int,
        sid: str,
        record: Record,
        kind: str,
        reason: str,
        location: Location | None = None,
        candidates: list[dict[str, Any]] | None = None,
    ) -> None:
        self.out.hold(
            self.names[s], sid, self.names[1 - s], record, kind, reason, location, candidates
        )

    def _fail(
        self,
        s: int,
        sid: str | None,
        record: Record,
        message: str,
        stage: str,
        code: str = "",
        location: Location | None = None,
    ) -> None:
        self.out.fail(
            self.names[s],
            sid,
            self.names[1 - s],
            record,
            message,
            stage=stage,
            code=code,
            location=location,
        )

    def _write_failed(
        self, s: int, sid: str, record: Record, result: WriteResult, op: str, obj: str
    ) -> None:
        """Inside a commit: the remote rejected one row."""
        where = f"{self.sides[1 - s].ref.connection}.{obj}"
        self.out.fail(
            self.names[s],
            sid,
            self.names[1 - s],
            record,
            f"{op} in {where} failed: {result.error or 'no reason given'}",
            stage="write",
            code=result.code,
            target_object=obj,
            in_commit=True,
        )

    if TYPE_CHECKING:
        # Steps the parts provide to each other (SyncRun combines them).
        def _index(self, t: int, *, loader: Any = None) -> TargetIndex: ...
        def _unclear_again(
            self, s: int, obj: str, sid: str, record: Record, rules: RuleResult
        ) -> None: ...
        def _matched(
            self,
            s: int,
            obj: str,
            sid: str,
            record: Record,
            candidate: Candidate,
            rules: RuleResult,
            held: Held | None,
            stash: Stash | None,
        ) -> None: ...
        def _unclear(
            self,
            s: int,
            obj: str,
            sid: str,
            record: Record,
            rules: RuleResult,
            held: Held | None,
            key: str | None,
            t_obj: str,
            result: WriteResult,
        ) -> None: ...
        def _create(
            self,
            s: int,
            obj: str,
            sid: str,
            record: Record,
            rules: RuleResult,
            held: Held | None,
            *,
            key: str | Unkeyed | None = UNKEYED,
        ) -> None: ...
        def _upsert(
            self, s: int, obj: str, sid: str, record: Record, rules: RuleResult, held: Held | None
        ) -> None: ...
        def _reconcile(
            self,
            s: int,
            obj: str,
            sid: str,
            record: Record,
            link: Link,
            other: Record | None,
            rules: RuleResult,
            held: Held | None,
            *,
            fresh: bool,
        ) -> None: ...
        def _submit_update(
            self,
            s: int,
            sid: str,
            record: Record,
            shared: SharedLink,
            t: int,
            diff: dict[str, tuple[Any, Any]],
            new_snap_t: dict[str, Any],
            held: Held | None,
            to_obj: str | None = None,
        ) -> None: ...


class SharedLink:
    """One link that both directions of a pair may update in the same run."""

    def __init__(self, link: Link):
        self.link = Link(
            link.a_id,
            link.b_id,
            link.a_object,
            link.b_object,
            dict(link.a_values),
            dict(link.b_values),
        )
        self._orig = (dict(link.a_values), dict(link.b_values))

    def set_values(self, index: int, values: dict[str, Any]) -> None:
        if index == 0:
            self.link.a_values = dict(values)
        else:
            self.link.b_values = dict(values)

    def changed_without_write(self, original: Link) -> bool:
        return (self.link.a_values, self.link.b_values) != self._orig
