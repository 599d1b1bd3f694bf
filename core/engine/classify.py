"""Classification: from a record in flight to what is to be done with it. filter → rules →
link or match → map → diff, as decisions (create, update, unchanged, skip, queue, fail ...).

A `Classifier` reads the run's scope (the flow's tables, the match index, the link table,
the claims of this run's pending decisions) and changes none of it: the sync loop registers
what the decisions claim, and the applier carries them out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from integrate.connector import AMBIGUOUS, GONE_FIELD, Record
from integrate.engine.decisions import (
    Create,
    Decision,
    Fail,
    Hold,
    Item,
    LinkDraft,
    Recheck,
    Skip,
    Upsert,
)
from integrate.engine.plan import QUEUE, SKIP
from integrate.engine.reconcile import CONFLICT, Reconciler
from integrate.engine.scope import FlowScope, RuleResult
from integrate.engine.scratch import Candidate, TargetIndex
from integrate.engine.values import pick_all, truthy, with_lets
from integrate.errors import IntegrateError, RecordError
from integrate.links import Link
from integrate.model import OBJECT_FIELD


class Links(Protocol):
    """What classification reads of the link table."""

    def linked_to(self, t: int, obj: str, id: str) -> str | None: ...

    def taken(self, t: int, obj: str, id: str) -> bool: ...

    def link(self, t: int, obj: str, id: str) -> Link | None: ...


@dataclass
class Claims:
    """What this run's decisions claimed and has not committed yet, per side: match keys of
    creates in flight, target records just matched. A record that claims what another one
    already holds waits (never two creates for one key, never one record linked twice)."""

    keys: tuple[dict[str, str], dict[str, str]] = field(default_factory=lambda: ({}, {}))
    ids: tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]] = field(
        default_factory=lambda: ({}, {})
    )
    # (side, id) of records whose create is unclear, being looked for (SyncCommits._unclear)
    unclear: set[tuple[int, str]] = field(default_factory=set)
    # (side, id) of records read this run that left their object (GONE_FIELD): a record
    # linked to one follows its successor
    gone: set[tuple[int, str]] = field(default_factory=set)


@dataclass
class MatchView:
    """How classification finds counterparts: the match index of a side, a record by id
    (an operator's --map-to), the fresh version of a record read this run (two-way)."""

    index: Callable[[int], TargetIndex]
    fetch: Callable[[int, str], Candidate | None]
    fresh: Callable[[str, str], Record | None] = lambda _obj, _id: None


class Classifier:
    def __init__(
        self,
        scope: FlowScope,
        links: Links,
        claims: Claims,
        match: MatchView,
        reconciler: Reconciler,
    ):
        self.scope = scope
        self.flow = scope.flow
        self.links = links
        self.claims = claims
        self.match = match
        self.reconciler = reconciler

    # ---- an item's way ----------------------------------------------------------------

    def classify(self, item: Item, other: Record | None = None) -> list[Decision]:
        """What to do with one record; `other` is its counterpart's fresh record, when that
        changed too (two-way)."""
        scope, s = self.scope, item.s
        t = 1 - s
        name = scope.names[s]
        held = item.held
        gone = item.record.get(GONE_FIELD)
        if gone is not None:
            where = f"{scope.sides[s].ref.connection}.{item.obj}"
            return [Skip(item, f"no longer in {where} ({gone}): nothing is written for it")]
        filt = self.flow.filters.get(name)
        try:
            if self.flow.lets and not self.flow.two_way:
                item = _with(item, record=with_lets(item.record, self.flow.lets))
            if filt is not None and not truthy(filt(item.record)):
                line = filt.location.line
                return [Skip(item, f"filtered out (filter at line {line})")]
            rules = scope.rules(name, item.record, resolved=bool(held and held.resolution))
        except RecordError as exc:
            return [Fail(item, exc.message, "rules", exc.code, exc.location)]
        if rules.action is not None:
            return [self._terminal(item, rules)]
        if item.link is not None:
            if (t, item.link.id_of(t)) in self.claims.gone:
                return self._successor(item, item.link, rules)
            if other is None and held is not None and held.code == CONFLICT:
                other = self._counterpart(t, item.link)
            return self.reconciler.reconcile(item, item.link, other, rules, fresh=False)
        resolution = held.resolution if held is not None and held.kind == QUEUE else None
        if resolution is not None:
            return self._resolved(item, resolution, rules)
        if not self.flow.writes_to(scope.names[t]):
            return []
        return self._unlinked(item, rules)

    def _terminal(self, item: Item, rules: RuleResult) -> Decision:
        assert rules.action is not None
        if rules.action == SKIP:
            return Skip(item, rules.reason)
        if rules.action == "fail":
            return Fail(item, rules.reason, "rules", "RULE", rules.location)
        return Hold(item, rules.action, rules.reason, rules.location)

    # ---- no link yet: match, or what `unmatched` says ----------------------------------

    def _unlinked(self, item: Item, rules: RuleResult) -> list[Decision]:
        scope, s = self.scope, item.s
        t = 1 - s
        flow = self.flow
        if (s, item.sid) in self.claims.unclear:
            return [Recheck(item, rules)]
        if flow.upsert_on and scope.names[t] == "target":
            return [self._upsert(item, rules)]
        key: str | None = None
        if flow.match:
            try:
                key = scope.key(s, item.record)
            except RecordError as exc:
                return [Fail(item, exc.message, "match", exc.code, exc.location)]
            if key is not None:
                claimed = self.claims.keys[t].get(key)
                if claimed is not None and claimed != item.sid:
                    return [
                        Hold(item, QUEUE, f"record {claimed} of this run has the same match key")
                    ]
                candidates = self.match.index(t).find(key)
                if len(candidates) > 1:
                    ids = ", ".join(c.id for c in candidates[:5])
                    found = f"{len(candidates)} records of {scope.sides[t].ref.text} match ({ids})"
                    return [Hold(item, QUEUE, found)]
                if candidates:
                    return self.match_to(item, candidates[0], rules)
        held = item.held
        policy = flow.unmatched[scope.names[t]].for_run(scope.first_run)
        if held is not None and held.kind == QUEUE:
            policy = QUEUE  # a queued record waits for its operator, whatever the run
        if policy == "create":
            return [self.create(item, rules, key)]
        if policy == "skip":
            reason = f"no matching record in {scope.sides[t].ref.text} (unmatched: skip)"
            return [Skip(item, reason)]
        if held is not None and held.kind == QUEUE and held.code == AMBIGUOUS:
            # Its create may have been made: what the operator is asked to check stands.
            return [Hold(item, QUEUE, held.reason, code=AMBIGUOUS)]
        label, suggestions = self._candidates(item.s, item.record)
        reason = (
            f"no record of {scope.sides[t].ref.text} matches {label}"
            if label
            else "waiting for an operator"
        )
        return [Hold(item, QUEUE, reason, candidates=suggestions)]

    def _candidates(self, s: int, record: Record) -> tuple[str, list[dict[str, Any]]]:
        """A label of the record's match key, and the records most like it (for the queue)."""
        flow, t = self.flow, 1 - s
        if not flow.match:
            return "", []
        name = self.scope.names[s]
        parts = [key.exprs[name](record) for key in flow.match]
        texts = [key.exprs[name].text for key in flow.match]
        if all(p is None for p in parts):  # nothing to look for: say what it lacks
            label = f"it: it has no {' and no '.join(texts)}"
        else:
            label = ", ".join(f"{t_} = {p!r}" for t_, p in zip(texts, parts, strict=True))
        search = " ".join(str(p) for p in parts if p is not None)

        def taken(obj: str, id_: str) -> bool:
            return self.links.taken(t, obj, id_) or (obj, id_) in self.claims.ids[t]

        return label, self.match.index(t).similar(search, taken)

    def match_to(self, item: Item, candidate: Candidate, rules: RuleResult) -> list[Decision]:
        """Link to the record found by its key (unless another record holds it), then make
        both sides agree as for any linked pair."""
        scope, s = self.scope, item.s
        t = 1 - s
        key = (candidate.object, candidate.id)
        owner = self.links.linked_to(t, candidate.object, candidate.id)
        owner = owner or self.claims.ids[t].get(key)
        if owner is not None and owner != item.sid:
            held_by = self.links.link(t, candidate.object, candidate.id)
            if held_by is not None and self._left(s, owner):
                # Its match was linked to a record of this side that is no longer there (a
                # Lead converted into this Contact, say): the link follows this record.
                moved = _moved(held_by, s, item.obj, item.sid)
                return self._follow(item, moved, candidate, rules, s)
            reason = f"its match {candidate.id} in {scope.sides[t].ref.text} is already linked to {owner}"
            return [Hold(item, QUEUE, reason)]
        current = self._now(t, candidate)
        a_id, b_id = (item.sid, candidate.id) if s == 0 else (candidate.id, item.sid)
        a_obj, b_obj = (item.obj, candidate.object) if s == 0 else (candidate.object, item.obj)
        link = Link(a_id, b_id, a_obj, b_obj, {}, {})
        return self.reconciler.reconcile(item, link, current, rules, fresh=True, claimed=key)

    def _counterpart(self, t: int, link: Link) -> Record | None:
        """The linked record of side t as it is now: a conflict waiting for an operator is
        decided against both sides' current values, never against what the link last saw
        (which would let the waiting side overwrite the other's edit)."""
        obj, id_ = link.object_of(t), link.id_of(t)
        record = self.match.fresh(obj, id_)
        if record is None:
            try:
                found = self.match.fetch(t, id_)
            except IntegrateError:
                return None
            if found is None:
                return None
            obj, record = found.object, found.record
        return self._placed(t, obj, record)

    def _now(self, t: int, candidate: Candidate) -> Record:
        """A record of side t as this run knows it now: read afresh this run, else as found."""
        record = self.match.fresh(candidate.object, candidate.id) or candidate.record
        return self._placed(t, candidate.object, record)

    def _placed(self, t: int, obj: str, record: Record) -> Record:
        """The record with its object named, on a side that spans several."""
        return {**record, OBJECT_FIELD: obj} if self.scope.sides[t].ref.multi else record

    # ---- a counterpart that left its object --------------------------------------------

    def _successor(self, item: Item, link: Link, rules: RuleResult) -> list[Decision]:
        """The record this one is linked to left its object this run: its successor is the
        one record of that side that matches this one by key; the link follows it."""
        scope, s = self.scope, item.s
        t = 1 - s
        where = f"{scope.sides[t].ref.connection}.{link.object_of(t)}"
        left = f"its record {link.id_of(t)} left {where}"
        candidates: list[Candidate] = []
        if self.flow.match:
            try:
                key = scope.key(s, item.record)
            except RecordError as exc:
                return [Fail(item, exc.message, "match", exc.code, exc.location)]
            if key is not None:
                candidates = [
                    c for c in self.match.index(t).find(key) if (t, c.id) not in self.claims.gone
                ]
        if not candidates:
            return [Skip(item, f"{left} and no record there matches it: nothing is written")]
        if len(candidates) > 1:
            ids = ", ".join(c.id for c in candidates[:5])
            return [Hold(item, QUEUE, f"{left}; {len(candidates)} records match it ({ids})")]
        [candidate] = candidates
        moved = _moved(link, t, candidate.object, candidate.id)
        return self._follow(item, moved, candidate, rules, t)

    def _left(self, s: int, id: str) -> bool:
        """Whether side s's record `id` left its object: read so this run (GONE_FIELD), or
        no longer found by its id (one call; a read that fails says no)."""
        if (s, id) in self.claims.gone:
            return True
        try:
            found = self.match.fetch(s, id)
        except IntegrateError:
            return False
        return found is None or GONE_FIELD in found.record

    def _follow(
        self, item: Item, link: Link, counterpart: Candidate, rules: RuleResult, moved: int
    ) -> list[Decision]:
        """Reconcile over the link that followed side `moved`'s record to its successor: the
        snapshots are the old link's, so what differs from them (the successor's object,
        say) is a change that reaches the other side, and what the successor lacks is
        filled in from it; the link is saved with the successor's id."""
        current = self._now(1 - item.s, counterpart)
        claimed = (counterpart.object, counterpart.id)
        return self.reconciler.reconcile(
            item, link, current, rules, fresh=True, claimed=claimed, moved=moved
        )

    def _resolved(
        self, item: Item, resolution: dict[str, Any], rules: RuleResult
    ) -> list[Decision]:
        """An operator's decision on a queued record: create it, or map it to a record."""
        t = 1 - item.s
        if resolution.get("action") == "create":
            try:
                key = self.scope.key(item.s, item.record) if self.flow.match else None
            except RecordError as exc:
                return [Fail(item, exc.message, "map", exc.code, exc.location)]
            return [self.create(item, rules, key, by_operator=True)]
        target_id = str(resolution.get("target_id"))
        index = self.match.index(t) if self.flow.match else None
        candidate = index.get(target_id) if index is not None else None
        if candidate is None:
            candidate = self.match.fetch(t, target_id)
        if candidate is None:
            where = self.scope.sides[t].ref.text
            message = f"the operator mapped it to {target_id}, but {where} has no such record"
            return [Fail(item, message, "resolve", "MAPPED_MISSING")]
        return self.match_to(item, candidate, rules)

    # ---- writes -------------------------------------------------------------------------

    def create(
        self, item: Item, rules: RuleResult, key: str | None, *, by_operator: bool = False
    ) -> Decision:
        scope, s = self.scope, item.s
        t = 1 - s
        try:
            values = scope.make(t, item.record, rules)
            t_obj = scope.target_object(t, values, rules)
            extra = scope.on_create(t, item.record)
        except RecordError as exc:
            return Fail(item, exc.message, "map", exc.code, exc.location)
        values = self.reconciler.held_values(t, t_obj, values)
        field_set = scope.field_sets[t]
        snap_t = {f: v for f, v in values.items() if f in field_set}
        if scope.sides[t].ref.multi:
            snap_t[OBJECT_FIELD] = t_obj
        snap_s = pick_all(item.record, scope.fields_of[s])
        return Create(item, t, t_obj, values, extra, key, snap_t, snap_s, by_operator, rules)

    def _upsert(self, item: Item, rules: RuleResult) -> Decision:
        scope, s = self.scope, item.s
        t = 1 - s
        try:
            values = scope.make(t, item.record, rules)
            t_obj = scope.target_object(t, values, rules)
        except RecordError as exc:
            return Fail(item, exc.message, "map", exc.code, exc.location)
        field_set = scope.field_sets[t]
        snap_t = {f: v for f, v in values.items() if f in field_set}
        snap_s = pick_all(item.record, scope.fields_of[s])
        return Upsert(item, t, t_obj, values, snap_t, snap_s)


def _moved(link: Link, side: int, obj: str, id: str) -> Link:
    """The link with side `side`'s end at another record (its snapshots kept)."""
    if side == 0:
        return Link(id, link.b_id, obj, link.b_object, link.a_values, link.b_values)
    return Link(link.a_id, id, link.a_object, obj, link.a_values, link.b_values)


def _with(item: Item, **changes: Any) -> Item:
    return Item(
        changes.get("s", item.s),
        changes.get("obj", item.obj),
        changes.get("sid", item.sid),
        changes.get("record", item.record),
        changes.get("held", item.held),
        changes.get("link", item.link),
    )


__all__ = ["Claims", "Classifier", "LinkDraft", "Links", "MatchView"]
