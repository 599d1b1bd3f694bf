"""Reconciling a linked pair: which side changed which field since the last sync, conflicts,
and the writes that make both sides equal again (echo suppression by snapshots).

A pure step: from a record, its link and (two-way) its counterpart's fresh record, to
decisions. The link's snapshots are the values last synced on each side; a side changed a
field pair when its own fields differ from its snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from integrate.connector import Record
from integrate.engine.decisions import (
    Decision,
    Fail,
    Hold,
    Item,
    LinkDraft,
    Release,
    Relink,
    Unchanged,
    Update,
)
from integrate.engine.plan import QUEUE
from integrate.engine.scope import FlowScope, RuleResult
from integrate.engine.values import pick, pick_all, same, snapped
from integrate.errors import RecordError
from integrate.links import Link
from integrate.model import OBJECT_FIELD
from integrate.state import Held

# modified_field(side index, object) -> the field holding a record's last-modified time
ModifiedField = Callable[[int, str], str | None]
# current(side index, object, id) -> the record as the system holds it now, when the run has
# read it already (a copy of the object read in full), else None
Current = Callable[[int, str, str], Record | None]


class Reconciler:
    def __init__(
        self,
        scope: FlowScope,
        modified_field: ModifiedField,
        current: Current = lambda _t, _obj, _id: None,
    ):
        self.scope = scope
        self.flow = scope.flow
        self.modified_field = modified_field
        self.current = current

    def reconcile(
        self,
        item: Item,
        link: Link,
        other: Record | None,
        rules: RuleResult,
        *,
        fresh: bool,
        claimed: tuple[str, str] | None = None,
    ) -> list[Decision]:
        """What each side needs, given this record, the other side's fresh record (when it
        changed too, or was just matched: `fresh`) and the link's snapshots."""
        scope, flow = self.scope, self.flow
        s, names = item.s, scope.names
        t = 1 - s
        record = item.record
        out: list[Decision] = []
        snap_s, snap_t = link.values_of(s), link.values_of(t)
        try:
            want_t = scope.make(t, record, rules) if flow.writes_to(names[t]) else {}
        except RecordError as exc:
            return [Fail(item, exc.message, "map", exc.code, exc.location)]
        want_s: dict[str, Any] = {}
        if other is not None and flow.writes_to(names[s]):
            try:
                other_rules = scope.rules(names[t], other, resolved=False)
                if other_rules.action is None:
                    want_s = scope.make(s, other, other_rules)
            except RecordError as exc:
                counterpart = Item(t, link.object_of(t), link.id_of(t), other)
                out.append(Fail(counterpart, exc.message, "map", exc.code, exc.location))
                other = None
        write_t: dict[str, Any] = {}
        write_s: dict[str, Any] = {}
        conflicts: list[str] = []
        winner = _forced_winner(item.held, names)
        for i, pair in enumerate(flow.pairs):
            to_t = scope.pair_to[t][i]
            to_s = bool(want_s) and scope.pair_to[s][i]
            # A field missing from want_* was left out on purpose (`empty: keep`).
            vals_t = (
                {a.field: want_t[a.field] for a in pair.make[names[t]] if a.field in want_t}
                if to_t
                else {}
            )
            vals_s = (
                {a.field: want_s[a.field] for a in pair.make[names[s]] if a.field in want_s}
                if to_s
                else {}
            )
            # A side changed a pair when its own fields differ from the snapshot; a pair that
            # names no field on that side (a one-way field map) compares what it would write.
            s_fields = pair.fields.get(names[s])
            t_fields = pair.fields.get(names[t])
            if not to_t:
                s_changed = False
            elif s_fields:
                s_changed = _differs(pick_all(record, s_fields), snap_s, snapped)
            else:
                s_changed = _differs(vals_t, snap_t, snapped)
            if not to_s:
                t_changed = False
            elif t_fields and other is not None:
                t_changed = _differs(pick_all(other, t_fields), snap_t, snapped)
            else:
                t_changed = _differs(vals_s, snap_s, snapped)
            if s_changed and t_changed:
                assert other is not None
                if not _differs(vals_t, other):
                    continue  # both sides already agree
                side = winner if winner is not None else self._conflict_winner(s, record, other)
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
            reason = (
                f"both sides changed {'; '.join(conflicts)} since the last sync (conflict: queue)"
            )
            return [*out, Hold(item, QUEUE, reason)]
        # What side t holds now: its fresh record, else its record as the run read it (an
        # object read in full), else what the link last saw of it (values, or digests).
        now_t = other if other is not None else self.current(t, link.object_of(t), link.id_of(t))
        current_t, value_t = (now_t, pick) if now_t is not None else (snap_t, snapped)
        diff_t = {
            f: (value_t(current_t, f), v)
            for f, v in write_t.items()
            if not same(value_t(current_t, f), v)
        }
        diff_s = {
            f: (pick(record, f), v) for f, v in write_s.items() if not same(pick(record, f), v)
        }
        # The snapshots the link will hold once the writes land.
        new_snap_s = pick_all(record, scope.fields_of[s])
        new_snap_t = pick_all(other, scope.fields_of[t]) if other is not None else dict(snap_t)
        t_obj = link.object_of(t)
        try:
            # The record moves only when its $object pair changed (or a rule routes it).
            moving = scope.sides[t].ref.multi and (OBJECT_FIELD in write_t or rules.route)
            desired_obj = scope.target_object(t, dict(write_t), rules) if moving else t_obj
        except RecordError as exc:
            return [*out, Fail(item, exc.message, "map", exc.code, exc.location)]
        diff_t.pop(OBJECT_FIELD, None)
        draft = LinkDraft(link)
        held = item.held is not None
        # Side t: move, update or nothing.
        if desired_obj != t_obj:
            out.append(
                Update(item, t, desired_obj, link.id_of(t), diff_t, new_snap_t, draft, held, t_obj)
            )
        elif diff_t:
            out.append(Update(item, t, t_obj, link.id_of(t), diff_t, new_snap_t, draft, held))
        else:
            draft.set_values(t, new_snap_t)
        # Side s: update or nothing.
        if diff_s:
            assert other is not None
            counterpart = Item(t, t_obj, link.id_of(t), other)
            out.append(
                Update(counterpart, s, link.object_of(s), link.id_of(s), diff_s, new_snap_s, draft)
            )
        else:
            draft.set_values(s, new_snap_s)
        if not diff_t and desired_obj == t_obj:
            out.append(Unchanged(item, t, t_obj, link.id_of(t)))
        if fresh or draft.changed():
            out.append(Relink(item, draft, claimed))
        elif held:
            out.append(Release(item))
        return out

    def _conflict_winner(self, s: int, record: Record, other: Record) -> int | None:
        policy = self.flow.conflict
        names = self.scope.names
        if policy == "queue":
            return None
        if policy in names:
            return names.index(policy)
        t = 1 - s
        stamp_s = self._modified(s, record)
        stamp_t = self._modified(t, other)
        if stamp_s is None or stamp_t is None:
            return s
        return s if _instant(stamp_s) >= _instant(stamp_t) else t

    def _modified(self, s: int, record: Record) -> Any:
        obj = record.get(OBJECT_FIELD) or self.scope.sides[s].ref.objects[0]
        field_name = self.modified_field(s, obj)
        return None if field_name is None else record.get(field_name)


def _forced_winner(held: Held | None, names: tuple[str, str]) -> int | None:
    """The side an operator said keeps its values (`pending resolve --keep SIDE`)."""
    if held is None or not held.resolution or held.resolution.get("action") != "keep":
        return None
    side = held.resolution.get("side")
    return names.index(side) if side in names else None


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


def _differs(
    values: dict[str, Any], current: Any, value_at: Callable[[Any, str], Any] = pick
) -> bool:
    """Whether any of `values` differs from `current` (a record; with `snapped`, a snapshot)."""
    if current is None:
        return True
    return any(not same(v, value_at(current, f)) for f, v in values.items())
