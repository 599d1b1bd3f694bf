"""Reconciling a linked pair: which side changed which field since the last sync, conflicts,
and the writes that make both sides equal again (echo suppression by snapshots).

A pure step: from a record, its link and (two-way) its counterpart's fresh record, to
decisions. The link's snapshots are the values last synced on each side; a side changed a
field pair when its own fields differ from its snapshot.

On a side spanning several objects, a record holds only the fields of its own object's
catalogue (a Zoho Lead has no birthday): a field its object lacks never counts as changed and
is never written to it. A record that changes object (moved by the sync, or followed to the
record it became) takes every value of the other side that its new object holds; what it
arrived there without is filled in, never read as emptied."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson

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
from integrate.model import OBJECT_FIELD, FieldPair
from integrate.state import Held

# modified_field(side index, object) -> the field holding a record's last-modified time
ModifiedField = Callable[[int, str], str | None]
# current(side index, object, id) -> the record as the system holds it now, when the run has
# read it already (a copy of the object read in full), else None
Current = Callable[[int, str, str], Record | None]
# The code of a record held by `conflict: queue`: decided again against both sides as they
# are now, on every run, until an operator says which side keeps its values.
CONFLICT = "CONFLICT"
# fields_of(side index, object) -> the fields a record of that object can hold (None: any)
FieldsOf = Callable[[int, str], frozenset[str] | None]
# can_move(side index, object) -> whether the plugin can move a record into that object
CanMove = Callable[[int, str], bool]


class Reconciler:
    def __init__(
        self,
        scope: FlowScope,
        modified_field: ModifiedField,
        current: Current = lambda _t, _obj, _id: None,
        fields_of: FieldsOf = lambda _s, _obj: None,
        can_move: CanMove = lambda _s, _obj: True,
    ):
        self.scope = scope
        self.flow = scope.flow
        self.modified_field = modified_field
        self.current = current
        self.fields_of = fields_of
        self.can_move = can_move
        self._held: dict[tuple[int, str, tuple[str, ...]], tuple[str, ...]] = {}
        # (side, object) -> each pair's fields on that side that a record of the object holds
        self._pairs_held: dict[tuple[int, str], tuple[tuple[str, ...], ...]] = {}

    def pairs_held(self, s: int, obj: str) -> tuple[tuple[str, ...], ...]:
        """For each of the flow's pairs, its fields on side s that `obj`'s records hold."""
        found = self._pairs_held.get((s, obj))
        if found is None:
            name = self.scope.names[s]
            found = self._pairs_held[(s, obj)] = tuple(
                self.held(s, obj, pair.fields.get(name) or ()) for pair in self.flow.pairs
            )
        return found

    def held(self, s: int, obj: str, fields: tuple[str, ...]) -> tuple[str, ...]:
        """Those of `fields` a record of side s's object `obj` can hold (a dotted field by its
        first part; `$object` always)."""
        key = (s, obj, fields)
        found = self._held.get(key)
        if found is None:
            catalogue = self.fields_of(s, obj)
            found = self._held[key] = (
                fields
                if catalogue is None
                else tuple(f for f in fields if f.startswith("$") or f.split(".")[0] in catalogue)
            )
        return found

    def held_values(self, s: int, obj: str, values: dict[str, Any]) -> dict[str, Any]:
        """The values a record of side s's object `obj` can hold: what is written to it."""
        keep = self.held(s, obj, tuple(values))
        return values if len(keep) == len(values) else {f: values[f] for f in keep}

    def reconcile(
        self,
        item: Item,
        link: Link,
        other: Record | None,
        rules: RuleResult,
        *,
        fresh: bool,
        claimed: tuple[str, str] | None = None,
        moved: int | None = None,
    ) -> list[Decision]:
        """What each side needs, given this record, the other side's fresh record (when it
        changed too, or was just matched: `fresh`) and the link's snapshots. `moved` is the
        side whose record is in another object than its snapshot was taken in (it followed
        a record that left its object)."""
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
        # what each side gets where only the other side changed, or neither did: all a
        # record that changes object takes with it
        fill_t: dict[str, Any] = {}
        fill_s: dict[str, Any] = {}
        conflicts: list[str] = []
        winner = _forced_winner(item.held, names)
        s_obj, t_obj = item.obj, link.object_of(t)
        held_by_s, held_by_t = self.pairs_held(s, s_obj), self.pairs_held(t, t_obj)
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
            # A side changed a pair when its own fields differ from the snapshot (fields its
            # object does not have never do); a pair that names no field on that side (a
            # one-way field map) compares what it would write.
            s_fields = pair.fields.get(names[s])
            t_fields = pair.fields.get(names[t])
            if not to_t:
                s_changed = False
            elif s_fields:
                held_s = held_by_s[i]
                s_changed = bool(held_s) and _differs(
                    pick_all(record, held_s), snap_s, snapped, arrived=moved == s
                )
            else:
                s_changed = _differs(vals_t, snap_t, snapped)
            if not to_s:
                t_changed = False
            elif t_fields and other is not None:
                held_t = held_by_t[i]
                t_changed = bool(held_t) and _differs(
                    pick_all(other, held_t), snap_t, snapped, arrived=moved == t
                )
            else:
                t_changed = _differs(vals_s, snap_s, snapped)
            if not t_changed:
                fill_t.update(vals_t)
            if not s_changed:
                fill_s.update(vals_s)
            if s_changed and t_changed:
                assert other is not None
                if not _differs(vals_t, other):
                    continue  # both sides already agree
                side = winner if winner is not None else self._conflict_winner(s, record, other)
                if side is None:
                    conflicts.append(self._both(pair, names, record, other))
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
            return [*out, Hold(item, QUEUE, reason, code=CONFLICT)]
        if moved == s:
            write_s = {**fill_s, **write_s}  # what it arrived in its new object without
        if moved == t:
            write_t = {**fill_t, **write_t}
        # What side t holds now: its fresh record, else its record as the run read it (an
        # object read in full), else what the link last saw of it (values, or digests).
        now_t = other if other is not None else self.current(t, t_obj, link.id_of(t))
        current_t, value_t = (now_t, pick) if now_t is not None else (snap_t, snapped)
        try:
            # The record moves only when its $object pair changed (or a rule routes it).
            moving = scope.sides[t].ref.multi and (OBJECT_FIELD in write_t or rules.route)
            desired_obj = scope.target_object(t, dict(write_t), rules) if moving else t_obj
        except RecordError as exc:
            return [*out, Fail(item, exc.message, "map", exc.code, exc.location)]
        write_t.pop(OBJECT_FIELD, None)
        note = ""
        if desired_obj != t_obj and not self.can_move(t, desired_obj):
            # It cannot go there (a Zoho Contact never becomes a Lead again): it stays, and
            # this side says again where it is.
            write_s.update(self._object_back(s, t_obj, now_t))
            conn = scope.sides[t].ref.connection
            note = (
                f"{conn}.{t_obj} cannot become {conn}.{desired_obj} (its plugin cannot move "
                f"records into {desired_obj}): the record stays in {t_obj} and {names[s]} "
                "is set back to match"
            )
            desired_obj = t_obj
        if desired_obj != t_obj:
            # A record that changes object takes every value its new object holds (the
            # system may not carry them all over), not only the changed ones.
            write_t = {**fill_t, **write_t}
            write_t.pop(OBJECT_FIELD, None)
            write_t = self.held_values(t, desired_obj, write_t)
            diff_t = {f: (value_t(current_t, f), v) for f, v in write_t.items()}
        else:
            write_t = self.held_values(t, t_obj, write_t)
            diff_t = {
                f: (value_t(current_t, f), v)
                for f, v in write_t.items()
                if not same(value_t(current_t, f), v)
            }
        write_s = self.held_values(s, s_obj, write_s)
        diff_s = {
            f: (pick(record, f), v) for f, v in write_s.items() if not same(pick(record, f), v)
        }
        # The snapshots the link will hold once the writes land.
        new_snap_s = pick_all(record, scope.fields_of[s])
        new_snap_t = pick_all(other, scope.fields_of[t]) if other is not None else dict(snap_t)
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
            counterpart = Item(t, t_obj, link.id_of(t), now_t if now_t is not None else {})
            out.append(
                Update(
                    counterpart,
                    s,
                    link.object_of(s),
                    link.id_of(s),
                    diff_s,
                    new_snap_s,
                    draft,
                    note=note,
                )
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

    def _object_back(self, s: int, obj: str, now_t: Record | None) -> dict[str, Any]:
        """Side s's values of the pairs that map the object of side t, for a record of
        side t that is in `obj`."""
        names = self.scope.names
        t_name = names[1 - s]
        record = {**(now_t or {}), OBJECT_FIELD: obj}
        back: dict[str, Any] = {}
        for i, pair in enumerate(self.flow.pairs):
            if OBJECT_FIELD in pair.fields.get(t_name, ()) and self.scope.pair_to[s][i]:
                try:
                    back.update({a.field: a.expr(record) for a in pair.make[names[s]]})
                except RecordError:
                    continue
        return back

    def _both(self, pair: FieldPair, names: tuple[str, str], record: Record, other: Record) -> str:
        """A conflicting pair with each side's values: `phone ⇄ Phone (sm: "1", crm: "2")`."""
        s, t = names
        mine = pair.fields.get(s, ())
        theirs = pair.fields.get(t, ())
        label = " ⇄ ".join(", ".join(f) for f in (mine, theirs) if f)
        return (
            f"{label} ({s}: {_shown(pick_all(record, mine))}, "
            f"{t}: {_shown(pick_all(other, theirs))})"
        )

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


def _shown(values: dict[str, Any]) -> str:
    """Values for a person to compare, each cut at 60 characters."""
    parts = []
    for value in values.values():
        text = orjson.dumps(value, default=str).decode()
        parts.append(text if len(text) <= 60 else text[:57] + "…")
    return ", ".join(parts)


def _differs(
    values: dict[str, Any],
    current: Any,
    value_at: Callable[[Any, str], Any] = pick,
    *,
    arrived: bool = False,
) -> bool:
    """Whether any of `values` differs from `current` (a record; with `snapped`, a snapshot).
    For a record that `arrived` in another object, an empty value is what the move did not
    carry over, not a change."""
    if current is None:
        return True
    return any(
        not same(v, value_at(current, f))
        for f, v in values.items()
        if not (arrived and (v is None or v == ""))
    )
