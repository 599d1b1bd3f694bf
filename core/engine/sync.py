"""Running one sync flow: read changed records page by page, classify each (filter → rules →
link or match → map → diff), and hand the writes to the Writer.

One-way flows stream the source. Two-way flows first stash the second side's changes on
disk, stream the first side (pairing each record with its counterpart's fresh values when
both changed), then handle what is left of the stash. A value the sync wrote itself equals
the link's snapshot when it comes back, so it is never sent back (echo suppression)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from integrate.connector import MOVE, UPSERT, Page, Record, WriteResult
from integrate.engine.context import RunContext
from integrate.engine.plan import (
    CREATE,
    FAIL,
    QUEUE,
    SKIP,
    UNCHANGED,
    UPDATE,
    Change,
    FlowStats,
)
from integrate.engine.scratch import Candidate, Stash, TargetIndex
from integrate.engine.values import key_text, nest, normalize, pick, pick_all, same, truthy
from integrate.engine.writer import Writer
from integrate.errors import Location, PluginError, RecordError
from integrate.model import OBJECT_FIELD, Assign, Rule, SyncFlow
from integrate.secrets import REDACTOR
from integrate.state import Held, Link


@dataclass
class _RuleResult:
    action: str | None = None  # a terminal action: skip | queue | defer | fail
    reason: str = ""
    location: Location | None = None
    sets: dict[str, Any] = field(default_factory=dict)
    set_fields: tuple[str, ...] = ()
    route: str | None = None


class SyncRun:
    """One run of one sync flow."""

    def __init__(self, ctx: RunContext, flow: SyncFlow, writer: Writer):
        self.ctx = ctx
        self.flow = flow
        self.store = ctx.store
        self.writer = writer
        self.stats = FlowStats(flow.name)
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
        self.assigns: list[tuple[Assign, ...]] = [
            tuple(a for p in flow.pairs_to(side.name) for a in p.make[side.name])
            for side in self.sides
        ]
        self.pair_to: list[tuple[bool, ...]] = [
            tuple(any(p is q for q in flow.pairs_to(side.name)) for p in flow.pairs)
            for side in self.sides
        ]
        self.indexes: dict[int, TargetIndex] = {}
        self.claimed_keys: list[dict[str, str]] = [{}, {}]
        self.claimed_ids: list[dict[str, str]] = [{}, {}]
        self.final_cursors: dict[int, dict[str, Any]] = {}

    # ---- driving ----------------------------------------------------------------------

    def run(self) -> FlowStats:
        flow = self.flow
        if flow.only_to is not None:
            target = self.names.index(flow.only_to)
            self._stream(1 - target, stash=None)
        else:
            stash = self._stash(1)
            self._stream(0, stash=stash)
            self._drain(1, stash)
        self.writer.flush_all()
        with self.store.transaction():
            for index, cursors in self.final_cursors.items():
                self._save_cursor(index, cursors)
            self.store.mark_completed(flow.name)
        return self.stats

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
            for page in connector.read(obj, since=saved.get(obj), page_size=page_size):
                if side.ref.multi:
                    for record in page.records:
                        record[OBJECT_FIELD] = obj
                yield obj, page

    def _save_cursor(self, s: int, cursors: dict[str, Any]) -> None:
        name = self.sides[s].name
        merged = dict(self.store.cursor(self.flow.name, name) or {})
        merged.update(cursors)
        self.store.set_cursor(self.flow.name, name, merged)

    def _track_cursor(self, s: int, obj: str, page: Page) -> None:
        if page.cursor is None:
            return
        info = self.ctx.info(self.sides[s].ref.connection, obj)
        if info.sorted_reads:
            cursor = {obj: page.cursor}
            self.writer.checkpoint(lambda: self._save_cursor(s, cursor))
        else:
            self.final_cursors.setdefault(s, {})[obj] = page.cursor

    def _stream(self, s: int, stash: Stash | None) -> None:
        side = self.sides[s]
        held = {h.source_id: h for h in self.store.held(self.flow.name, side=side.name)}
        if not self.ctx.only_held:
            for obj, page in self._read(s):
                self._count_read(s, len(page.records))
                self._page(s, obj, page.records, held, stash)
                self._track_cursor(s, obj, page)
        leftovers = list(held.values())
        for start in range(0, len(leftovers), 200):
            chunk = leftovers[start : start + 200]
            for h in chunk:
                obj = h.record.get(OBJECT_FIELD) or side.ref.objects[0]
                self._page(s, obj, [h.record], {h.source_id: h}, stash)

    def _count_read(self, s: int, n: int) -> None:
        name = self.names[s]
        self.stats.read[name] += n
        if self.ctx.progress is not None:
            self.ctx.progress(self.flow.name, name, self.stats.read[name])

    def _page(
        self, s: int, obj: str, records: list[Record], held: dict[str, Held], stash: Stash | None
    ) -> None:
        conn = self.sides[s].ref.connection
        ids = [self.ctx.id_of(conn, r.get(OBJECT_FIELD, obj), r) for r in records]
        links = self.store.links(self.flow.name, s, [i for i in ids if i is not None])
        for record, sid in zip(records, ids, strict=True):
            this_obj = record.get(OBJECT_FIELD, obj)
            h = held.pop(sid, None) if sid is not None else None
            if sid is None:
                info = self.ctx.info(conn, this_obj)
                self._fail(
                    s,
                    None,
                    record,
                    f"the record has no '{info.id_field}' (its id field)",
                    "read",
                    "NO_ID",
                )
                continue
            self._handle(s, this_obj, sid, record, links.get(sid), h, stash)

    def _stash(self, s: int) -> Stash:
        stash = Stash(self.ctx.scratch)
        conn = self.sides[s].ref.connection
        full = not self.store.cursor(self.flow.name, self.names[s]) or self.ctx.full_refresh
        if not self.ctx.only_held:
            for obj, page in self._read(s):
                self._count_read(s, len(page.records))
                for record in page.records:
                    sid = self.ctx.id_of(conn, obj, record)
                    if sid is None:
                        info = self.ctx.info(conn, obj)
                        self._fail(
                            s,
                            None,
                            record,
                            f"the record has no '{info.id_field}' (its id field)",
                            "read",
                            "NO_ID",
                        )
                        continue
                    stash.put(sid, obj, record)
                self._track_cursor(s, obj, page)
            if full:
                # A full read doubles as this side's match index.
                self._index(s, loader=stash.all)
        return stash

    def _drain(self, s: int, stash: Stash) -> None:
        side = self.sides[s]
        held = {h.source_id: h for h in self.store.held(self.flow.name, side=side.name)}
        for chunk in stash.unhandled():
            links = self.store.links(self.flow.name, s, [sid for sid, _o, _r in chunk])
            for sid, obj, record in chunk:
                self._handle(s, obj, sid, record, links.get(sid), held.pop(sid, None), None)
        for h in held.values():
            obj = h.record.get(OBJECT_FIELD) or side.ref.objects[0]
            link = self.store.link(self.flow.name, s, h.source_id)
            self._handle(s, obj, h.source_id, h.record, link, h, None)

    # ---- one record -------------------------------------------------------------------

    def _handle(
        self,
        s: int,
        obj: str,
        sid: str,
        record: Record,
        link: Link | None,
        held: Held | None,
        stash: Stash | None,
    ) -> None:
        t = 1 - s
        name = self.names[s]
        filt = self.flow.filters.get(name)
        try:
            if filt is not None and not truthy(filt(record)):
                self._skip(
                    s, sid, record, held, f"filtered out (filter at line {filt.location.line})"
                )
                return
            rules = self._rules(name, record, resolved=bool(held and held.resolution))
        except RecordError as exc:
            self._fail(s, sid, record, exc.message, "rules", exc.code, exc.location)
            return
        if rules.action is not None:
            self._terminal(s, sid, record, held, rules)
            return
        other: Record | None = None
        if link is not None and stash is not None:
            t_id = link.id_of(t)
            other = stash.get(t_id)
            if other is not None:
                stash.mark(t_id)
        if link is not None:
            self._reconcile(s, obj, sid, record, link, other, rules, held, fresh=False)
            return
        resolution = held.resolution if held is not None and held.kind == QUEUE else None
        if resolution is not None:
            self._resolved(s, obj, sid, record, resolution, rules, held, stash)
            return
        if not self.flow.writes_to(self.names[t]):
            return
        self._unlinked(s, obj, sid, record, rules, held, stash)

    def _rules(self, side: str, record: Record, *, resolved: bool) -> _RuleResult:
        out = _RuleResult()
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
    def _apply_rule(rule: Rule, record: Record, out: _RuleResult) -> None:
        if rule.action == "set":
            for assign in rule.assigns:
                out.sets[assign.field] = assign.expr(record)
            out.set_fields = (*out.set_fields, *(a.field for a in rule.assigns))
        elif rule.action == "route" and rule.route is not None:
            out.route = rule.route.objects[0]

    def _terminal(
        self, s: int, sid: str, record: Record, held: Held | None, rules: _RuleResult
    ) -> None:
        if rules.action == SKIP:
            self._skip(s, sid, record, held, rules.reason)
        elif rules.action == "fail":
            self._fail(s, sid, record, rules.reason, "rules", "RULE", rules.location)
        else:
            assert rules.action is not None
            self._hold(s, sid, record, rules.action, rules.reason, rules.location)

    def _make(self, t: int, record: Record, rules: _RuleResult | None) -> dict[str, Any]:
        values = {a.field: a.expr(record) for a in self.assigns[t]}
        if rules is not None and rules.sets:
            values.update(rules.sets)
        return values

    def _target_object(self, t: int, values: dict[str, Any], rules: _RuleResult | None) -> str:
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

    def _unlinked(
        self,
        s: int,
        obj: str,
        sid: str,
        record: Record,
        rules: _RuleResult,
        held: Held | None,
        stash: Stash | None,
    ) -> None:
        t = 1 - s
        flow = self.flow
        if flow.upsert_on and self.names[t] == "target":
            self._upsert(s, obj, sid, record, rules, held)
            return
        if flow.match:
            index = self._index(t)
            try:
                key = self._key(s, record)
            except RecordError as exc:
                self._fail(s, sid, record, exc.message, "match", exc.code, exc.location)
                return
            if key is not None:
                claimed = self.claimed_keys[t].get(key)
                if claimed is not None and claimed != sid:
                    self._hold(
                        s,
                        sid,
                        record,
                        QUEUE,
                        f"record {claimed} of this run has the same match key",
                    )
                    return
                candidates = index.find(key)
                if len(candidates) > 1:
                    ids = ", ".join(c.id for c in candidates[:5])
                    self._hold(
                        s,
                        sid,
                        record,
                        QUEUE,
                        f"{len(candidates)} records of {self.sides[t].ref.text} match ({ids})",
                    )
                    return
                if candidates:
                    self._matched(s, obj, sid, record, candidates[0], rules, held, stash)
                    return
        policy = flow.unmatched[self.names[t]].for_run(self.first_run)
        if held is not None and held.kind == QUEUE:
            policy = QUEUE  # a queued record waits for its operator, whatever the run
        if policy == "create":
            self._create(s, obj, sid, record, rules, held)
        elif policy == "skip":
            self._skip(
                s,
                sid,
                record,
                held,
                f"no matching record in {self.sides[t].ref.text} (unmatched: skip)",
            )
        else:
            label, suggestions = self._candidates(s, t, record)
            reason = (
                f"no record of {self.sides[t].ref.text} matches {label}"
                if label
                else "waiting for an operator"
            )
            self._hold(s, sid, record, QUEUE, reason, candidates=suggestions)

    def _key(self, s: int, record: Record) -> str | None:
        """The normalised match key of a record of side s (None when a part is empty)."""
        parts = []
        for key in self.flow.match:
            value = normalize(key.exprs[self.names[s]](record), self.flow.normalize)
            if value is None or value == "":
                return None
            parts.append(value)
        return key_text(parts)

    def _index(self, t: int, *, loader: Any = None) -> TargetIndex:
        index = self.indexes.get(t)
        if index is None:
            side = self.sides[t]
            exprs = [key.exprs[side.name] for key in self.flow.match]

            def load() -> Iterator[tuple[str, Page]]:
                yield from self._read(t, full=True)

            def id_of(obj: str, record: Record) -> str:
                return self.ctx.id_of(side.ref.connection, obj, record) or ""

            index = TargetIndex(self.ctx.scratch, exprs, self.flow.normalize, loader or load, id_of)
            self.indexes[t] = index
        return index

    def _candidates(self, s: int, t: int, record: Record) -> tuple[str, list[dict[str, Any]]]:
        if not self.flow.match:
            return "", []
        parts = [key.exprs[self.names[s]](record) for key in self.flow.match]
        texts = [key.exprs[self.names[s]].text for key in self.flow.match]
        label = ", ".join(f"{t_} = {p!r}" for t_, p in zip(texts, parts, strict=True))
        search = " ".join(str(p) for p in parts if p is not None)
        index = self._index(t)

        def taken(id_: str) -> bool:
            return self.store.link(self.flow.name, t, id_) is not None or id_ in self.claimed_ids[t]

        return label, index.similar(search, taken)

    def _matched(
        self,
        s: int,
        obj: str,
        sid: str,
        record: Record,
        candidate: Candidate,
        rules: _RuleResult,
        held: Held | None,
        stash: Stash | None,
    ) -> None:
        t = 1 - s
        owner = self.store.target_linked_to(self.flow.name, t, candidate.id) or self.claimed_ids[
            t
        ].get(candidate.id)
        if owner is not None and owner != sid:
            self._hold(
                s,
                sid,
                record,
                QUEUE,
                f"its match {candidate.id} in {self.sides[t].ref.text} is already linked to {owner}",
            )
            return
        self.claimed_ids[t][candidate.id] = sid
        current = candidate.record
        if stash is not None:
            fresh = stash.get(candidate.id)
            if fresh is not None:
                current = fresh
                stash.mark(candidate.id)
        if self.sides[t].ref.multi:
            current = {**current, OBJECT_FIELD: candidate.object}
        a_id, b_id = (sid, candidate.id) if s == 0 else (candidate.id, sid)
        a_obj, b_obj = (obj, candidate.object) if s == 0 else (candidate.object, obj)
        link = Link(a_id, b_id, a_obj, b_obj, {}, {})
        self._reconcile(s, obj, sid, record, link, current, rules, held, fresh=True)

    def _resolved(
        self,
        s: int,
        obj: str,
        sid: str,
        record: Record,
        resolution: dict[str, Any],
        rules: _RuleResult,
        held: Held | None,
        stash: Stash | None,
    ) -> None:
        t = 1 - s
        action = resolution.get("action")
        if action == "create":
            self._create(s, obj, sid, record, rules, held)
            return
        target_id = str(resolution.get("target_id"))
        index = self._index(t) if self.flow.match else None
        candidate = index.get(target_id) if index is not None else None
        if candidate is None:
            candidate = self._fetch(t, target_id)
        if candidate is None:
            self._fail(
                s,
                sid,
                record,
                f"the operator mapped it to {target_id}, but {self.sides[t].ref.text} has no such record",
                "resolve",
                "MAPPED_MISSING",
            )
            return
        self._matched(s, obj, sid, record, candidate, rules, held, stash)

    def _fetch(self, t: int, target_id: str) -> Candidate | None:
        side = self.sides[t]
        connector = self.ctx.connectors[side.ref.connection]
        for obj in side.ref.objects:
            try:
                found = connector.get(obj, [target_id])
            except PluginError:
                found = []
                for _obj, page in self._read(t, full=True):
                    found.extend(
                        r
                        for r in page.records
                        if self.ctx.id_of(side.ref.connection, obj, r) == target_id
                    )
            if found:
                return Candidate(target_id, obj, found[0])
        return None

    # ---- reconciling a pair ---------------------------------------------------------

    def _reconcile(
        self,
        s: int,
        obj: str,
        sid: str,
        record: Record,
        link: Link,
        other: Record | None,
        rules: _RuleResult,
        held: Held | None,
        *,
        fresh: bool,
    ) -> None:
        """Decide what each side needs, given this record, the other side's fresh record
        (when it changed too, or was just matched) and the link's snapshots."""
        t = 1 - s
        flow = self.flow
        names = self.names
        snap_s, snap_t = link.values_of(s), link.values_of(t)
        try:
            want_t = self._make(t, record, rules) if flow.writes_to(names[t]) else {}
        except RecordError as exc:
            self._fail(s, sid, record, exc.message, "map", exc.code, exc.location)
            return
        want_s: dict[str, Any] = {}
        other_rules: _RuleResult | None = None
        if other is not None and flow.writes_to(names[s]):
            try:
                other_rules = self._rules(names[t], other, resolved=False)
                if other_rules.action is None:
                    want_s = self._make(s, other, other_rules)
            except RecordError as exc:
                self._fail(t, link.id_of(t), other, exc.message, "map", exc.code, exc.location)
                other = None
        write_t: dict[str, Any] = {}
        write_s: dict[str, Any] = {}
        conflicts: list[str] = []
        winner = self._forced_winner(held)
        for i, pair in enumerate(flow.pairs):
            to_t = self.pair_to[t][i]
            to_s = bool(want_s) and self.pair_to[s][i]
            vals_t = {a.field: want_t.get(a.field) for a in pair.make[names[t]]} if to_t else {}
            vals_s = {a.field: want_s.get(a.field) for a in pair.make[names[s]]} if to_s else {}
            # A side changed a pair when its own fields differ from the snapshot; a pair that
            # names no field on that side (a one-way field map) compares what it would write.
            s_fields = pair.fields.get(names[s])
            t_fields = pair.fields.get(names[t])
            if not to_t:
                s_changed = False
            elif s_fields:
                s_changed = _differs(pick_all(record, s_fields), snap_s)
            else:
                s_changed = _differs(vals_t, snap_t)
            if not to_s:
                t_changed = False
            elif t_fields and other is not None:
                t_changed = _differs(pick_all(other, t_fields), snap_t)
            else:
                t_changed = _differs(vals_s, snap_s)
            if s_changed and t_changed:
                assert other is not None
                if not _differs(vals_t, other):
                    continue  # both sides already agree
                side = winner or self._conflict_winner(s, record, other)
                if side is None:
                    conflicts.append(", ".join(vals_t))
                    continue
                if side == s:
                    write_t.update(vals_t)
                else:
                    write_s.update(vals_s)
            elif s_changed:
                write_t.update(vals_t)
            elif t_changed:
                write_s.update(vals_s)
        for name in rules.set_fields:
            if name in want_t and (fresh or not same(want_t[name], snap_t.get(name))):
                write_t[name] = want_t[name]
        if conflicts:
            self._hold(
                s,
                sid,
                record,
                QUEUE,
                f"both sides changed {'; '.join(conflicts)} since the last sync (conflict: queue)",
            )
            return
        current_t = other if other is not None else snap_t
        current_s = record
        diff_t = {
            f: (pick(current_t, f), v)
            for f, v in write_t.items()
            if not same(pick(current_t, f), v)
        }
        diff_s = {
            f: (pick(current_s, f), v)
            for f, v in write_s.items()
            if not same(pick(current_s, f), v)
        }
        # The snapshots the link will hold once the writes land.
        new_snap_s = pick_all(record, self.fields_of[s])
        new_snap_t = pick_all(other, self.fields_of[t]) if other is not None else dict(snap_t)
        try:
            t_obj = link.object_of(t)
            desired_obj = (
                self._target_object(t, dict(write_t or want_t), rules)
                if self.sides[t].ref.multi
                else t_obj
            )
        except RecordError as exc:
            self._fail(s, sid, record, exc.message, "map", exc.code, exc.location)
            return
        diff_t.pop(OBJECT_FIELD, None)
        shared = _SharedLink(link)
        # Side t: move, update or nothing.
        if desired_obj != t_obj:
            self._submit_move(s, sid, record, shared, t, desired_obj, diff_t, new_snap_t, held)
        elif diff_t:
            self._submit_update(s, sid, record, shared, t, diff_t, new_snap_t, held)
        else:
            shared.set_values(t, new_snap_t)
        # Side s: update or nothing.
        if diff_s:
            assert other is not None
            self._submit_update(t, link.id_of(t), other, shared, s, diff_s, new_snap_s, None)
        else:
            shared.set_values(s, new_snap_s)
        if not diff_t and desired_obj == t_obj:
            self._emit(Change(flow.name, UNCHANGED, names[s], sid, names[t], t_obj, link.id_of(t)))
        if fresh or shared.changed_without_write(link):
            self.writer.state(lambda: self._save(shared, held, s, sid))
        elif held is not None:
            self.writer.state(lambda: self.store.release(flow.name, names[s], sid))

    def _forced_winner(self, held: Held | None) -> int | None:
        if held is None or not held.resolution or held.resolution.get("action") != "keep":
            return None
        side = held.resolution.get("side")
        return self.names.index(side) if side in self.names else None

    def _conflict_winner(self, s: int, record: Record, other: Record) -> int | None:
        policy = self.flow.conflict
        if policy == "queue":
            return None
        if policy in self.names:
            return self.names.index(policy)
        t = 1 - s
        stamp_s = self._modified(s, record)
        stamp_t = self._modified(t, other)
        if stamp_s is None or stamp_t is None:
            return s
        return s if _instant(stamp_s) >= _instant(stamp_t) else t

    def _modified(self, s: int, record: Record) -> Any:
        side = self.sides[s]
        obj = record.get(OBJECT_FIELD) or side.ref.objects[0]
        field_name = self.ctx.info(side.ref.connection, obj).modified_field
        return None if field_name is None else record.get(field_name)

    def _save(self, shared: _SharedLink, held: Held | None, s: int, sid: str) -> None:
        t = 1 - s
        self.claimed_ids[t].pop(shared.link.id_of(t), None)
        self.store.save_link(self.flow.name, shared.link, self.ctx.run_id)
        if held is not None:
            self.store.release(self.flow.name, self.names[s], sid)

    # ---- writes -----------------------------------------------------------------------

    def _limit(self, t: int, obj: str) -> int:
        info = self.ctx.info(self.sides[t].ref.connection, obj)
        return min(self.flow.common.batch_size or info.write_batch, info.write_batch)

    def _create(
        self, s: int, obj: str, sid: str, record: Record, rules: _RuleResult, held: Held | None
    ) -> None:
        t = 1 - s
        names = self.names
        side_t = self.sides[t]
        try:
            values = self._make(t, record, rules)
            t_obj = self._target_object(t, values, rules)
            extra = {a.field: a.expr(record) for a in self.flow.on_create.get(names[t], ())}
            key = self._key(s, record) if self.flow.match else None
        except RecordError as exc:
            self._fail(s, sid, record, exc.message, "map", exc.code, exc.location)
            return
        if key is not None:
            # Until this create is committed, another record with the same key must wait.
            self.claimed_keys[t][key] = sid
        snap_t = {f: v for f, v in values.items() if f in self.fields_of[t]}
        if side_t.ref.multi:
            snap_t[OBJECT_FIELD] = t_obj
        snap_s = pick_all(record, self.fields_of[s])
        payload = {**values, **extra}
        fields = {f: (None, v) for f, v in payload.items()}
        id_field = self.ctx.info(side_t.ref.connection, t_obj).id_field

        def commit(result: WriteResult) -> None:
            if key is not None:
                self.claimed_keys[t].pop(key, None)
            if not result.ok:
                self._write_failed(s, sid, record, result, CREATE, t_obj)
                return
            assert result.id is not None
            a_id, b_id = (sid, result.id) if s == 0 else (result.id, sid)
            a_obj, b_obj = (obj, t_obj) if s == 0 else (t_obj, obj)
            stored_t = self._stored(t, result, snap_t)
            link = Link(
                a_id,
                b_id,
                a_obj,
                b_obj,
                snap_s if s == 0 else stored_t,
                stored_t if s == 0 else snap_s,
            )
            self.store.save_link(self.flow.name, link, self.ctx.run_id)
            if held is not None:
                self.store.release(self.flow.name, names[s], sid)
            if t in self.indexes:
                made = (
                    dict(result.record) if result.record else {**nest(payload), id_field: result.id}
                )
                self.indexes[t].add(t_obj, made)
            self._emit(
                Change(self.flow.name, CREATE, names[s], sid, names[t], t_obj, result.id, fields)
            )

        self._ensure(t, t_obj, "create")
        self.writer.submit(
            side=names[t],
            connector=self.ctx.connectors[side_t.ref.connection],
            object=t_obj,
            op="create",
            limit=self._limit(t, t_obj),
            values=payload,
            commit=commit,
        )

    def _upsert(
        self, s: int, obj: str, sid: str, record: Record, rules: _RuleResult, held: Held | None
    ) -> None:
        t = 1 - s
        names = self.names
        try:
            values = self._make(t, record, rules)
            t_obj = self._target_object(t, values, rules)
        except RecordError as exc:
            self._fail(s, sid, record, exc.message, "map", exc.code, exc.location)
            return
        snap_t = {f: v for f, v in values.items() if f in self.fields_of[t]}
        snap_s = pick_all(record, self.fields_of[s])
        fields = {f: (None, v) for f, v in values.items()}

        def commit(result: WriteResult) -> None:
            if not result.ok:
                self._write_failed(s, sid, record, result, UPSERT, t_obj)
                return
            assert result.id is not None
            stored_t = self._stored(t, result, snap_t)
            link = Link(sid, result.id, obj, t_obj, snap_s, stored_t)
            self.store.save_link(self.flow.name, link, self.ctx.run_id)
            if held is not None:
                self.store.release(self.flow.name, names[s], sid)
            outcome = CREATE if result.created is not False else UPDATE
            self._emit(
                Change(self.flow.name, outcome, names[s], sid, names[t], t_obj, result.id, fields)
            )

        self._ensure(t, t_obj, UPSERT)
        self.writer.submit(
            side=names[t],
            connector=self.ctx.connectors[self.sides[t].ref.connection],
            object=t_obj,
            op=UPSERT,
            limit=self._limit(t, t_obj),
            values=values,
            keys=self.flow.upsert_on,
            commit=commit,
        )

    def _submit_update(
        self,
        s: int,
        sid: str,
        record: Record,
        shared: _SharedLink,
        t: int,
        diff: dict[str, tuple[Any, Any]],
        new_snap_t: dict[str, Any],
        held: Held | None,
    ) -> None:
        names = self.names
        t_obj = shared.link.object_of(t)
        t_id = shared.link.id_of(t)
        snap = dict(new_snap_t)
        for f, (_old, new) in diff.items():
            if f in self.fields_of[t]:
                snap[f] = new

        def commit(result: WriteResult) -> None:
            if not result.ok:
                self._write_failed(s, sid, record, result, UPDATE, t_obj)
                return
            shared.set_values(t, self._stored(t, result, snap))
            self.store.save_link(self.flow.name, shared.link, self.ctx.run_id)
            if held is not None:
                self.store.release(self.flow.name, names[s], sid)
            self._emit(Change(self.flow.name, UPDATE, names[s], sid, names[t], t_obj, t_id, diff))

        self._ensure(t, t_obj, UPDATE)
        self.writer.submit(
            side=names[t],
            connector=self.ctx.connectors[self.sides[t].ref.connection],
            object=t_obj,
            op=UPDATE,
            limit=self._limit(t, t_obj),
            values={f: new for f, (_old, new) in diff.items()},
            id=t_id,
            commit=commit,
        )

    def _submit_move(
        self,
        s: int,
        sid: str,
        record: Record,
        shared: _SharedLink,
        t: int,
        to_obj: str,
        diff: dict[str, tuple[Any, Any]],
        new_snap_t: dict[str, Any],
        held: Held | None,
    ) -> None:
        names = self.names
        from_obj = shared.link.object_of(t)
        t_id = shared.link.id_of(t)
        snap = dict(new_snap_t)
        snap[OBJECT_FIELD] = to_obj
        for f, (_old, new) in diff.items():
            if f in self.fields_of[t]:
                snap[f] = new
        fields = {OBJECT_FIELD: (from_obj, to_obj), **diff}

        def commit(result: WriteResult) -> None:
            if not result.ok:
                self._write_failed(s, sid, record, result, MOVE, to_obj)
                return
            new_id = result.id or t_id
            link = shared.link
            if t == 0:
                link.a_id, link.a_object = new_id, to_obj
            else:
                link.b_id, link.b_object = new_id, to_obj
            shared.set_values(t, self._stored(t, result, snap))
            self.store.save_link(self.flow.name, link, self.ctx.run_id)
            if held is not None:
                self.store.release(self.flow.name, names[s], sid)
            self._emit(
                Change(self.flow.name, UPDATE, names[s], sid, names[t], to_obj, new_id, fields)
            )

        self._ensure(t, to_obj, MOVE)
        self.writer.submit(
            side=names[t],
            connector=self.ctx.connectors[self.sides[t].ref.connection],
            object=to_obj,
            op=MOVE,
            limit=self._limit(t, to_obj),
            values={f: new for f, (_old, new) in diff.items()},
            id=t_id,
            from_object=from_obj,
            commit=commit,
        )

    def _ensure(self, t: int, obj: str, op: str) -> None:
        side = self.sides[t]
        info = self.ctx.info(side.ref.connection, obj)
        if not info.supports(op):
            plugin = self.ctx.connectors[side.ref.connection].plugin
            raise PluginError(f"{plugin} cannot {op} records of {obj} (flow '{self.flow.name}')")

    def _stored(self, t: int, result: WriteResult, fallback: dict[str, Any]) -> dict[str, Any]:
        """What the link remembers of side t: the record as stored, when the API returned it."""
        if not result.record:
            return fallback
        snap = dict(fallback)
        for f in self.fields_of[t]:
            if f == OBJECT_FIELD:
                continue
            value = pick(result.record, f)
            if value is not None or f in fallback:
                snap[f] = value if value is not None else fallback.get(f)
        return snap

    # ---- outcomes -----------------------------------------------------------------------

    def _emit(self, change: Change) -> None:
        self.stats.count(change)
        if self.ctx.observer is not None:
            self.ctx.observer(change)

    def _skip(self, s: int, sid: str, record: Record, held: Held | None, reason: str) -> None:
        self._emit(
            Change(self.flow.name, SKIP, self.names[s], sid, self.names[1 - s], reason=reason)
        )
        if held is not None:
            self.writer.state(lambda: self.store.release(self.flow.name, self.names[s], sid))

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
        name = self.names[s]
        self._emit(
            Change(
                self.flow.name, kind, name, sid, self.names[1 - s], reason=reason, location=location
            )
        )
        self.writer.state(
            lambda: self.store.hold(
                self.flow.name, name, sid, kind, reason, record, self.ctx.run_id, candidates
            )
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
        name = self.names[s]
        self._emit(
            Change(
                self.flow.name,
                FAIL,
                name,
                sid,
                self.names[1 - s],
                reason=message,
                location=location,
                code=code,
            )
        )
        entry = {
            "run_id": self.ctx.run_id,
            "flow": self.flow.name,
            "side": name,
            "source_id": sid,
            "stage": stage,
            "code": code,
            "error": message,
            "location": str(location) if location else "",
            "record": record,
        }

        def save() -> None:
            self.ctx.failures.write(entry)
            self.store.add_failure(
                run_id=self.ctx.run_id,
                flow=self.flow.name,
                side=name,
                source_id=sid,
                stage=stage,
                code=code,
                message=message,
                location=str(entry["location"]),
                record=REDACTOR.redact_data(record),
            )
            if sid is not None:
                self.store.hold(self.flow.name, name, sid, FAIL, message, record, self.ctx.run_id)

        self.writer.state(save)

    def _write_failed(
        self, s: int, sid: str, record: Record, result: WriteResult, op: str, obj: str
    ) -> None:
        """Inside a commit: the remote rejected one row."""
        name = self.names[s]
        message = f"{op} in {self.sides[1 - s].ref.connection}.{obj} failed: {result.error or 'no reason given'}"
        self._emit(
            Change(
                self.flow.name,
                FAIL,
                name,
                sid,
                self.names[1 - s],
                obj,
                reason=message,
                code=result.code,
            )
        )
        entry = {
            "run_id": self.ctx.run_id,
            "flow": self.flow.name,
            "side": name,
            "source_id": sid,
            "stage": "write",
            "code": result.code,
            "error": message,
            "location": "",
            "record": record,
        }
        self.ctx.failures.write(entry)
        self.store.add_failure(
            run_id=self.ctx.run_id,
            flow=self.flow.name,
            side=name,
            source_id=sid,
            stage="write",
            code=result.code,
            message=message,
            location="",
            record=REDACTOR.redact_data(record),
        )
        self.store.hold(self.flow.name, name, sid, FAIL, message, record, self.ctx.run_id)


class _SharedLink:
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


def _instant(value: Any) -> float:
    """A comparable moment from a timestamp field: epoch (s or ms) or ISO 8601 text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000 if value > 1e11 else float(value)
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _differs(values: dict[str, Any], current: Any) -> bool:
    if current is None:
        return True
    return any(not same(v, pick(current, f)) for f, v in values.items())
