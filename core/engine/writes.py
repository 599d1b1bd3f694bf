"""Queuing creates, upserts, updates and moves with the Writer, and what each one's commit
remembers (links, snapshots, held records) once the system has answered."""

from __future__ import annotations

from typing import Any

from integrate.connector import AMBIGUOUS, MOVE, UPSERT, Record, WriteResult
from integrate.engine.flowrun import UNKEYED, FlowRun, RuleResult, SharedLink, Unkeyed
from integrate.engine.plan import CREATE, UPDATE, Change
from integrate.engine.values import nest, pick, pick_all
from integrate.errors import PluginError, RecordError
from integrate.model import OBJECT_FIELD
from integrate.state import Held, Link


class Writing(FlowRun):
    """Submitting writes and committing their results; a part of SyncRun."""

    def _limit(self, t: int, obj: str) -> int:
        info = self.ctx.info(self.sides[t].ref.connection, obj)
        return min(self.flow.common.batch_size or info.write_batch, info.write_batch)

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
    ) -> None:
        """`key`: the record's match key when the caller has worked it out already."""
        t = 1 - s
        names = self.names
        side_t = self.sides[t]
        try:
            values = self._make(t, record, rules)
            t_obj = self._target_object(t, values, rules)
            on_create = self.flow.on_create.get(names[t])
            extra = {a.field: a.expr(record) for a in on_create} if on_create else {}
            if key is UNKEYED:
                key = self._key(s, record) if self.flow.match else None
        except RecordError as exc:
            self._fail(s, sid, record, exc.message, "map", exc.code, exc.location)
            return
        if key is not None:
            # Until this create is committed, another record with the same key must wait.
            self.claimed_keys[t][key] = sid
        field_set = self.field_sets[t]
        snap_t = {f: v for f, v in values.items() if f in field_set}
        if side_t.ref.multi:
            snap_t[OBJECT_FIELD] = t_obj
        snap_s = pick_all(record, self.fields_of[s])
        payload = {**values, **extra}
        fields = self._created_fields(payload)
        id_field = self.ctx.info(side_t.ref.connection, t_obj).id_field

        def commit(result: WriteResult) -> None:
            if result.code == AMBIGUOUS and not result.ok:
                # Maybe made: looked for before anything else takes its key (unclear.py).
                self._unclear(s, obj, sid, record, rules, held, key, t_obj, result)
                return
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
            source=(s, obj, sid),
        )

    def _upsert(
        self, s: int, obj: str, sid: str, record: Record, rules: RuleResult, held: Held | None
    ) -> None:
        t = 1 - s
        names = self.names
        try:
            values = self._make(t, record, rules)
            t_obj = self._target_object(t, values, rules)
        except RecordError as exc:
            self._fail(s, sid, record, exc.message, "map", exc.code, exc.location)
            return
        field_set = self.field_sets[t]
        snap_t = {f: v for f, v in values.items() if f in field_set}
        snap_s = pick_all(record, self.fields_of[s])
        fields = self._created_fields(values)

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
            source=(s, obj, sid),
        )

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
    ) -> None:
        """Update the record linked on side t with `diff`; with `to_obj`, move it there first
        (a Lead becoming a Contact): the move writes the changed fields too."""
        names = self.names
        from_obj = shared.link.object_of(t)
        t_id = shared.link.id_of(t)
        moving = to_obj is not None and to_obj != from_obj
        obj = to_obj if moving and to_obj is not None else from_obj
        op = MOVE if moving else UPDATE
        snap = dict(new_snap_t)
        if moving:
            snap[OBJECT_FIELD] = obj
        for f, (_old, new) in diff.items():
            if f in self.field_sets[t]:
                snap[f] = new
        fields = {OBJECT_FIELD: (from_obj, obj), **diff} if moving else diff

        def commit(result: WriteResult) -> None:
            if not result.ok:
                self._write_failed(s, sid, record, result, op, obj)
                return
            new_id = result.id or t_id
            link = shared.link
            if moving and t == 0:
                # The link's key is side a's (object, id): the old row goes.
                self.store.delete_link(self.flow.name, 0, link.a_object, link.a_id)
                link.a_id, link.a_object = new_id, obj
            elif moving:
                link.b_id, link.b_object = new_id, obj
            shared.set_values(t, self._stored(t, result, snap))
            self.store.save_link(self.flow.name, link, self.ctx.run_id)
            if held is not None:
                self.store.release(self.flow.name, names[s], sid)
            self._emit(Change(self.flow.name, UPDATE, names[s], sid, names[t], obj, new_id, fields))

        self._ensure(t, obj, op)
        self.writer.submit(
            side=names[t],
            connector=self.ctx.connectors[self.sides[t].ref.connection],
            object=obj,
            op=op,
            limit=self._limit(t, obj),
            values={f: new for f, (_old, new) in diff.items()},
            id=t_id,
            from_object=from_obj if moving else None,
            commit=commit,
            source=(s, shared.link.object_of(s), sid),
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
