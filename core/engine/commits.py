"""What a sync flow's decisions leave in the state once carried out: links (with the values
last synced on each side), held records, failures, cursors, and the plan's lines.

`SyncCommits.decided` shows a decision when it is made; `SyncCommits.commit` records it (and
its write's result) inside the applier's state transaction."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from integrate.connector import AMBIGUOUS, MOVE, UPSERT, WriteResult
from integrate.engine.classify import Claims
from integrate.engine.context import RunContext
from integrate.engine.decisions import (
    Create,
    Fail,
    Hold,
    Item,
    Recheck,
    Release,
    Relink,
    Skip,
    Unchanged,
    Update,
    Upsert,
)
from integrate.engine.objects import RunObjects
from integrate.engine.outcomes import Failed, Outcomes
from integrate.engine.plan import CREATE, QUEUE, SKIP, UNCHANGED, UPDATE, Change
from integrate.engine.scope import FlowScope, RuleResult
from integrate.engine.values import nest, pick, without_lets
from integrate.links import Link
from integrate.model import OBJECT_FIELD

# What the reasons say of a create whose answer said nothing sure.
NO_CLEAR_ANSWER = "got no clear answer"


@dataclass(frozen=True)
class Checkpoint:
    """A side's cursor for one object, saved once every write before it has landed."""

    s: int
    cursors: dict[str, Any]


@dataclass(frozen=True)
class UnclearCreate:
    """A record whose create in `t_obj` may or may not have been carried out."""

    item: Item
    rules: RuleResult
    key: str
    t_obj: str


class SyncCommits:
    def __init__(
        self,
        ctx: RunContext,
        scope: FlowScope,
        out: Outcomes,
        claims: Claims,
        objects: RunObjects,
    ):
        self.ctx = ctx
        self.store = ctx.store
        self.scope = scope
        self.flow = scope.flow.name
        self.out = out
        self.claims = claims
        self.objects = objects
        # creates with no clear answer, to look for; (side, id) of those being looked for
        self.unclear: dict[tuple[int, str], UnclearCreate] = {}
        self.looking: set[tuple[str, str]] = set()
        self.observing = ctx.observer is not None

    # ---- shown when decided ---------------------------------------------------------------

    def decided(self, decision: Any) -> None:
        names = self.scope.names
        if isinstance(decision, Skip):
            item = decision.item
            self.emit(
                Change(
                    self.flow,
                    SKIP,
                    names[item.s],
                    item.sid,
                    names[1 - item.s],
                    reason=decision.reason,
                )
            )
        elif isinstance(decision, Hold):
            item = decision.item
            self.emit(
                Change(
                    self.flow,
                    decision.kind,
                    names[item.s],
                    item.sid,
                    names[1 - item.s],
                    reason=decision.reason,
                    location=decision.location,
                    code=decision.code,
                )
            )
        elif isinstance(decision, Unchanged):
            item = decision.item
            change = Change(
                self.flow,
                UNCHANGED,
                names[item.s],
                item.sid,
                names[decision.t],
                decision.t_obj,
                decision.t_id,
            )
            self.emit(change)

    def failed(self, fail: Fail) -> Failed:
        item, names = fail.item, self.scope.names
        return self.out.failure(
            names[item.s],
            item.sid,
            names[1 - item.s],
            item.record,
            fail.message,
            stage=fail.stage,
            code=fail.code,
            location=fail.location,
        )

    def emit(self, change: Change) -> None:
        """A record being looked for (its create was unclear) counts as created by this run,
        found or made again, and says which (in the summary's reasons)."""
        looked = (change.source_side, change.source_id)
        if change.source_id is not None and looked in self.looking:
            self.looking.discard(looked)
            where = f"{self._connection_of(change.target_side)}.{change.target_object}"
            if change.outcome in (UNCHANGED, UPDATE):
                change = dataclasses.replace(
                    change,
                    outcome=CREATE,
                    reason=f"its create {NO_CLEAR_ANSWER}; found in {where} by its match key",
                )
            elif change.outcome == CREATE:
                change = dataclasses.replace(
                    change,
                    reason=f"its create {NO_CLEAR_ANSWER} and {where} did not have it: made again",
                )
        self.out.emit(change)

    def _connection_of(self, side: str | None) -> str:
        for candidate in self.scope.sides:
            if candidate.name == side:
                return str(candidate.ref.connection)
        return str(side)

    # ---- kept in a transaction ------------------------------------------------------------

    def commit(self, decision: Any, result: WriteResult | None) -> None:
        store, flow, names = self.store, self.flow, self.scope.names
        if isinstance(decision, Create):  # the commonest first
            assert result is not None
            self._created(decision, result)
        elif isinstance(decision, Checkpoint):
            self._save_cursor(decision.s, decision.cursors)
        elif isinstance(decision, Failed):
            self.out.keep(decision)
        elif isinstance(decision, Skip):
            if decision.item.held is not None:
                store.release(flow, names[decision.item.s], decision.item.sid)
        elif isinstance(decision, Hold):
            item = decision.item
            self.out.held(
                names[item.s],
                item.sid,
                item.record,
                decision.kind,
                decision.reason,
                decision.candidates,
                decision.code,
            )
        elif isinstance(decision, Relink):
            item, draft = decision.item, decision.draft
            if decision.claimed is not None:
                self.claims.ids[1 - item.s].pop(decision.claimed, None)
            store.save_link(flow, draft.link, self.ctx.run_id, compact=True)
            if item.held is not None:
                store.release(flow, names[item.s], item.sid)
        elif isinstance(decision, Release):
            store.release(flow, names[decision.item.s], decision.item.sid)
        elif isinstance(decision, Upsert):
            assert result is not None
            self._upserted(decision, result)
        elif isinstance(decision, Update):
            assert result is not None
            self._updated(decision, result)

    def _save_cursor(self, s: int, cursors: dict[str, Any]) -> None:
        name = self.scope.names[s]
        merged = dict(self.store.cursor(self.flow, name) or {})
        merged.update(cursors)
        self.store.set_cursor(self.flow, name, merged)

    def _created(self, d: Create, result: WriteResult) -> None:
        item, t = d.item, d.t
        if result.code == AMBIGUOUS and not result.ok:
            self._unclear(d, result)
            return
        if d.key is not None:
            self.claims.keys[t].pop(d.key, None)
        if not result.ok:
            self._write_failed(item, result, CREATE, d.t_obj)
            return
        assert result.id is not None
        s = item.s
        stored_t = self._stored(t, result, d.snap_t)
        a_id, b_id = (item.sid, result.id) if s == 0 else (result.id, item.sid)
        a_obj, b_obj = (item.obj, d.t_obj) if s == 0 else (d.t_obj, item.obj)
        link = Link(
            a_id,
            b_id,
            a_obj,
            b_obj,
            d.snap_s if s == 0 else stored_t,
            stored_t if s == 0 else d.snap_s,
        )
        self.store.save_link(self.flow, link, self.ctx.run_id, compact=True)
        if item.held is not None:
            self.store.release(self.flow, self.scope.names[s], item.sid)
        payload = {**d.values, **d.extra}
        self._written(t, d.t_obj, result, payload, None)
        fields = {f: (None, v) for f, v in payload.items()} if self.observing else {}
        names = self.scope.names
        self.emit(
            Change(self.flow, CREATE, names[s], item.sid, names[t], d.t_obj, result.id, fields)
        )

    def _upserted(self, d: Upsert, result: WriteResult) -> None:
        item, t = d.item, d.t
        names = self.scope.names
        if not result.ok:
            self._write_failed(item, result, UPSERT, d.t_obj)
            return
        assert result.id is not None
        stored_t = self._stored(t, result, d.snap_t)
        link = Link(item.sid, result.id, item.obj, d.t_obj, d.snap_s, stored_t)
        self.store.save_link(self.flow, link, self.ctx.run_id, compact=True)
        if item.held is not None:
            self.store.release(self.flow, names[item.s], item.sid)
        self._written(t, d.t_obj, result, d.values, None)
        outcome = CREATE if result.created is not False else UPDATE
        fields = {f: (None, v) for f, v in d.values.items()} if self.observing else {}
        self.emit(
            Change(
                self.flow, outcome, names[item.s], item.sid, names[t], d.t_obj, result.id, fields
            )
        )

    def _updated(self, d: Update, result: WriteResult) -> None:
        item, t, names = d.item, d.t, self.scope.names
        moving = d.move_from is not None
        op = MOVE if moving else UPDATE
        if not result.ok:
            self._write_failed(item, result, op, d.obj)
            return
        new_id = result.id or d.t_id
        link = d.draft.link
        if moving and t == 0:
            # The link's key is side a's (object, id): the old row goes.
            self.store.delete_link(self.flow, 0, link.a_object, link.a_id)
            link.a_id, link.a_object = new_id, d.obj
        elif moving:
            link.b_id, link.b_object = new_id, d.obj
        snap = dict(d.snap)
        if moving:
            snap[OBJECT_FIELD] = d.obj
        for f, (_old, new) in d.diff.items():
            if f in self.scope.field_sets[t]:
                snap[f] = new
        d.draft.set_values(t, self._stored(t, result, snap))
        self.store.save_link(self.flow, link, self.ctx.run_id, compact=True)
        if d.release:
            self.store.release(self.flow, names[item.s], item.sid)
        values = {f: new for f, (_old, new) in d.diff.items()}
        self._written(t, d.obj, result, values, d.t_id, moved_from=d.move_from)
        fields = {OBJECT_FIELD: (d.move_from, d.obj), **d.diff} if moving else dict(d.diff)
        self.emit(
            Change(
                self.flow,
                UPDATE,
                names[item.s],
                item.sid,
                names[t],
                d.obj,
                new_id,
                fields,
                reason=d.note,
            )
        )

    def _written(
        self,
        t: int,
        obj: str,
        result: WriteResult,
        values: dict[str, Any],
        old_id: str | None,
        *,
        moved_from: str | None = None,
    ) -> None:
        """Keep the run's copies of side t's object (match index, lookups) as written."""
        connection = self.scope.sides[t].ref.connection
        if not self.objects.watched(connection, obj) and moved_from is None:
            return
        id_field = self.ctx.info(connection, obj).id_field
        self.objects.written(connection, obj, id_field, result, nest(values), old_id, moved_from)

    def _stored(self, t: int, result: WriteResult, fallback: dict[str, Any]) -> dict[str, Any]:
        """What the link remembers of side t: the record as stored, when the API returned it."""
        stored = result.record
        if not stored:
            return fallback
        snap = dict(fallback)
        for f in self.scope.fields_of[t]:
            if f == OBJECT_FIELD:
                continue
            value = stored.get(f) if "." not in f else pick(stored, f)
            if value is not None:  # else what was sent stands (or nothing, if nothing was)
                snap[f] = value
        return snap

    def _write_failed(self, item: Item, result: WriteResult, op: str, obj: str) -> None:
        """The system refused one row."""
        names = self.scope.names
        t = 1 - item.s
        where = f"{self.scope.sides[t].ref.connection}.{obj}"
        failed = self.out.failure(
            names[item.s],
            item.sid,
            names[t],
            item.record,
            f"{op} in {where} failed: {result.error or 'no reason given'}",
            stage="write",
            code=result.code,
            target_object=obj,
        )
        self.out.keep(failed)

    # ---- creates with no clear answer -----------------------------------------------------

    def _unclear(self, d: Create, result: WriteResult) -> None:
        """The system's answer to a create says nothing sure. The record is held in the same
        transaction, so a run that dies before settling it looks for it next."""
        item, t = d.item, d.t
        flow, name = self.flow, self.scope.names[item.s]
        where = f"{self.scope.sides[t].ref.connection}.{d.t_obj}"
        said = f"its create in {where} {NO_CLEAR_ANSWER} ({result.error})"
        kept = dict(without_lets(item.record))
        if d.key is None or d.by_operator:
            # Nothing to look for it by (or an operator said create, whatever matches): the
            # operator checks the target and decides.
            reason = (
                f"{said}; it may have been made: look for it in {where}, then "
                f"`integrate pending resolve SPEC {flow} {item.sid} --map-to ID` if it is there, "
                "or `--create` if it is not"
            )
            if d.key is not None:
                self.claims.keys[t].pop(d.key, None)
            self.store.release(flow, name, item.sid)  # an operator's earlier decision is spent
            self.store.hold(
                flow, name, item.sid, QUEUE, reason, kept, self.ctx.run_id, code=AMBIGUOUS
            )
            names = self.scope.names
            self.emit(
                Change(
                    flow,
                    QUEUE,
                    names[item.s],
                    item.sid,
                    names[t],
                    d.t_obj,
                    reason=reason,
                    code=AMBIGUOUS,
                )
            )
            return
        self.store.hold(
            flow,
            name,
            item.sid,
            "fail",
            f"{said}; looked for by its match key",
            kept,
            self.ctx.run_id,
        )
        self.unclear[(item.s, item.sid)] = UnclearCreate(item, d.rules, d.key, d.t_obj)
        self.claims.unclear.add((item.s, item.sid))

    def recheck(self, decision: Recheck) -> None:
        """Read again while its create is unclear: looked for as planned, then written with
        these newer values."""
        key = (decision.item.s, decision.item.sid)
        before = self.unclear[key]
        item = dataclasses.replace(before.item, obj=decision.item.obj, record=decision.item.record)
        self.unclear[key] = dataclasses.replace(before, item=item, rules=decision.rules)
