"""Running one event flow: changed source records become events (created, updated,
related_added), and each event's handlers act on the target.

The link table remembers, per source record, the target record its `create` made and the
values it had when last seen; an update event carries the fields that changed since then,
so the same change is never acted on twice (polling and webhooks alike)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from croniter import croniter

from integrate.attachments import ATTACHMENT_FIELD, source_file
from integrate.connector import CREATE, Record, WriteResult
from integrate.engine.apply import Applier, Write
from integrate.engine.context import RunContext, capped
from integrate.engine.outcomes import Failed, Outcomes
from integrate.engine.plan import ACTION, FAIL, SKIP, Change, FlowStats
from integrate.engine.values import same, truthy
from integrate.errors import PluginError, RecordError
from integrate.links import Link
from integrate.model import OBJECT_FIELD, EventFlow, EventHandler

SIDE = "source"
ATTACH = "attach"  # the action that receives the source attachment's bytes (FileStream)
NO_TARGET = ""  # b_object of a link for a record seen before the flow started (no target yet)


@dataclass(frozen=True)
class Remember:
    """Keep a record's values (and its target, if any) without writing anything."""

    link: Link


@dataclass(frozen=True)
class Acted:
    """A handler's action on the target, for one source record (or one related record)."""

    sid: str
    obj: str
    record: Record
    handler: EventHandler
    values: dict[str, Any]
    snapshot: dict[str, Any]
    link: Link | None = None
    target_id: str | None = None
    related_id: str | None = None


@dataclass(frozen=True)
class Stamp:
    """When a handler with its own schedule last scanned."""

    key: str
    stamp: str


class EventRun:
    def __init__(self, ctx: RunContext, flow: EventFlow, executors: dict[int, ThreadPoolExecutor]):
        self.ctx = ctx
        self.flow = flow
        self.store = ctx.store
        self.out = Outcomes(ctx, flow.name)
        self.stats = self.out.stats
        self.applier = Applier(
            self.store, self, dry_run=ctx.dry_run, stop=ctx.stop, executors=executors
        )
        self.first_run = self.store.completed_runs(flow.name) == 0
        self.target_conn = flow.target.connection
        self.target_obj = flow.target.objects[0]
        self.connector = ctx.connectors[flow.source.connection]
        self.cursors: dict[str, Any] = {}

    def run(self) -> FlowStats:
        saved = {} if self.ctx.full_refresh else (self.store.cursor(self.flow.name, SIDE) or {})
        # Records whose action failed last time are tried again (a newer read wins).
        self.held = {
            h.source_id: h for h in self.store.held(self.flow.name, side=SIDE, kinds=(FAIL,))
        }
        reported: set[str] = set()
        held_back: set[str] = set()
        for obj in self.flow.source.objects:
            if self.ctx.only_held:
                break
            info = self.ctx.info(self.flow.source.connection, obj)
            size = capped(self.flow.common.page_size, info.page_size)
            for page in self.connector.read(obj, since=saved.get(obj), page_size=size):
                self.ctx.stop.check()  # a safe point: between pages
                self.stats.read[SIDE] += len(page.records)
                if self.ctx.progress is not None:
                    source = f"{self.flow.source.connection}.{obj}"
                    self.ctx.progress(self.flow.name, source, self.stats.read[SIDE])
                self._page(obj, page.records)
                for bad in page.failures:
                    if bad.where not in reported:
                        reported.add(bad.where)
                        self.applier.state(self.out.unreadable(SIDE, None, bad))
                if page.failures:
                    held_back.add(obj)  # read again (once fixed) on the next run
                if page.cursor is not None and obj not in held_back:
                    self.cursors[obj] = page.cursor
        for held in list(self.held.values()):
            obj = held.record.get(OBJECT_FIELD) or self.flow.source.objects[0]
            self._page(obj, [dict(held.record)])
        # Notes made just now get their related records too: commit them first.
        self.applier.flush()
        self._related()
        self.applier.flush()
        with self.store.transaction():
            if self.cursors:
                merged = dict(saved)
                merged.update(self.cursors)
                self.store.set_cursor(self.flow.name, SIDE, merged)
            self.store.mark_completed(self.flow.name)
        return self.stats

    # ---- created / updated ------------------------------------------------------------

    def _page(self, obj: str, records: list[Record]) -> None:
        conn = self.flow.source.connection
        ids = [self.ctx.id_of(conn, obj, r) for r in records]
        links = self.store.links(self.flow.name, 0, [(obj, i) for i in ids if i])
        for record, sid in zip(records, ids, strict=True):
            if sid is None:
                info = self.ctx.info(conn, obj)
                failed = self.out.failure(
                    SIDE,
                    None,
                    None,
                    record,
                    f"the record has no '{info.id_field}' (its id field)",
                    stage="read",
                    code="NO_ID",
                )
                self.applier.state(failed)
                continue
            self.held.pop(sid, None)
            if self.flow.source.multi:
                record[OBJECT_FIELD] = obj
            try:
                if self.flow.filter is not None and not truthy(self.flow.filter(record)):
                    self._emit(Change(self.flow.name, SKIP, SIDE, sid, reason="filtered out"))
                    continue
            except RecordError as exc:
                self._fail(sid, record, exc)
                continue
            link = links.get((obj, sid))
            snapshot = self._snapshot(obj, record)
            if link is None:
                if self.first_run and not self.flow.backfill:
                    self._remember(Link(sid, f"~{obj}:{sid}", obj, NO_TARGET, snapshot, {}))
                    self._emit(
                        Change(
                            self.flow.name,
                            SKIP,
                            SIDE,
                            sid,
                            reason="existed before the flow started (backfill: false)",
                        )
                    )
                    continue
                self._event("created", obj, sid, record, None, snapshot, [])
                continue
            changes = [
                {"field": f, "old": link.a_values.get(f), "new": v}
                for f, v in snapshot.items()
                if not same(link.a_values.get(f), v)
            ]
            changes.extend(
                {"field": f, "old": old, "new": None}
                for f, old in link.a_values.items()
                if f not in snapshot and old is not None
            )
            if not changes:
                continue
            self._event("updated", obj, sid, record, link, snapshot, changes)

    def _remember(self, link: Link) -> None:
        """Keep a record's values (and its target, if any) without writing anything."""
        self.applier.state(Remember(link))

    def _snapshot(self, obj: str, record: Record) -> dict[str, Any]:
        info = self.ctx.info(self.flow.source.connection, obj)
        skip = {info.id_field, info.modified_field, OBJECT_FIELD}
        # what the system keeps itself (read-only: activity times, Modified_By, formulas)
        # is no user's change: it neither makes an `updated` event nor shows in `changes`
        skip |= {name for name, field in (info.fields or {}).items() if field.read_only}
        return {k: v for k, v in record.items() if k not in skip and not k.startswith("$")}

    def _event(
        self,
        event: str,
        obj: str,
        sid: str,
        record: Record,
        link: Link | None,
        snapshot: dict[str, Any],
        changes: list[dict[str, Any]],
    ) -> None:
        target_id = link.b_id if link is not None and link.b_object != NO_TARGET else None
        data = {
            "event": event,
            "object": obj,
            "record": record,
            "changes": changes,
            "target_id": target_id,
        }
        acted = False
        for handler in self.flow.handlers:
            if handler.event != event or (handler.objects and obj not in handler.objects):
                continue
            acted = self._act(handler, obj, sid, record, data, link, snapshot) or acted
        if not acted:
            # Nothing to write: remember what was seen so this change is not an event again.
            # (When an action is written, its commit remembers it; a failed action is retried.)
            base = link or Link(sid, f"~{obj}:{sid}", obj, NO_TARGET, {}, {})
            seen = Link(base.a_id, base.b_id, base.a_object, base.b_object, snapshot, base.b_values)
            self._remember(seen)

    def _act(
        self,
        handler: EventHandler,
        obj: str,
        sid: str,
        record: Record,
        data: dict[str, Any],
        link: Link | None,
        snapshot: dict[str, Any],
    ) -> bool:
        """Queue one handler's action; True when a write was queued."""
        try:
            if handler.when is not None and not truthy(handler.when(data)):
                return False
            values = {a.field: a.expr(data) for a in handler.assigns}
        except RecordError as exc:
            self._fail(sid, record, exc)
            return True  # failed: do not remember the change, so it is tried again
        target_id = data["target_id"]
        if handler.action == CREATE:
            if target_id is not None:
                return False
            self._write(Acted(sid, obj, record, handler, values, snapshot, link))
            return True
        if target_id is None:
            self._emit(
                Change(
                    self.flow.name,
                    SKIP,
                    SIDE,
                    sid,
                    reason=f"no {self.flow.target.text} record to {handler.action}",
                )
            )
            return False
        self._write(Acted(sid, obj, record, handler, values, snapshot, link, target_id))
        return True

    def _write(
        self, acted: Acted, limit: int | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        """Queue the action; `extra` values go to the target but not into the report."""
        info = self.ctx.info(self.target_conn, self.target_obj)
        if limit is None:
            limit = capped(self.flow.common.batch_size, info.write_batch)
        self.applier.write(
            Write(
                acted,
                "target",
                self.ctx.connectors[self.target_conn],
                self.target_obj,
                acted.handler.action,
                limit,
                {**acted.values, **(extra or {})},
                id=acted.target_id,
                one_per_call=info.one_per_call,
            )
        )

    # ---- related_added ----------------------------------------------------------------

    def _related(self) -> None:
        handlers = [h for h in self.flow.handlers if h.event == "related_added"]
        if not handlers:
            return
        rows = self.store.pairs(self.flow.name, not_b_object=NO_TARGET)
        for handler in handlers:
            if not self._due(handler):
                continue
            assert handler.related is not None
            id_field = self._related_id_field(handler.related)
            for sid, target_id, obj in rows:
                if handler.objects and obj not in handler.objects:
                    continue
                seen = self.store.seen_related(self.flow.name, sid, handler.related)
                for page in self.connector.related(obj, sid, handler.related):
                    for rel in page.records:
                        rid = str(rel.get(id_field))
                        if rid in seen:
                            continue
                        self._related_action(handler, obj, sid, target_id, rel, rid)

    def _related_id_field(self, related: str) -> str:
        """The id field of a related list's records (the plugin's, when it knows the list)."""
        try:
            return self.ctx.info(self.flow.source.connection, related).id_field
        except PluginError:
            return "id"

    def _related_action(
        self, handler: EventHandler, obj: str, sid: str, target_id: str, rel: Record, rid: str
    ) -> None:
        assert handler.related is not None
        data = {
            "event": "related_added",
            "object": obj,
            "record": {"id": sid},
            "related": rel,
            "related_list": handler.related,
            "target_id": target_id,
            "changes": [],
        }
        try:
            if handler.when is not None and not truthy(handler.when(data)):
                return
            values = {a.field: a.expr(data) for a in handler.assigns}
        except RecordError as exc:
            self._fail(sid, rel, exc)
            return
        info = self.ctx.info(self.target_conn, self.target_obj)
        acted = Acted(sid, obj, rel, handler, values, {}, None, target_id, rid)
        extra = {}
        if handler.action == ATTACH:
            file = source_file(self.connector, obj, sid, values)
            if file is not None:
                extra[ATTACHMENT_FIELD] = file
        self._write(acted, limit=info.write_batch, extra=extra)

    def _due(self, handler: EventHandler) -> bool:
        """A handler with its own schedule runs when its cron has fired since its last scan."""
        if handler.schedule is None:
            return True
        key = f"schedule:{handler.event}:{handler.related}:{self.flow.handlers.index(handler)}"
        last = self.store.cursor(self.flow.name, key)
        # the run's clock (the connections' own), so a fake clock moves schedules too
        now = dt.datetime.fromtimestamp(self.connector.context.clock.now(), dt.UTC)
        if last is not None:
            previous = croniter(handler.schedule, now).get_prev(dt.datetime)
            if dt.datetime.fromisoformat(last) >= previous:
                return False
        self.applier.state(Stamp(key, now.isoformat()))
        return True

    # ---- outcomes -----------------------------------------------------------------------

    def _emit(self, change: Change) -> None:
        self.out.emit(change)

    def _acted(self, sid: str, target_id: str | None, values: dict[str, Any], action: str) -> None:
        fields = {f: (None, v) for f, v in values.items()}
        self._emit(
            Change(
                self.flow.name,
                ACTION,
                SIDE,
                sid,
                "target",
                self.target_obj,
                target_id,
                fields,
                action=action,
            )
        )

    def _fail(self, sid: str, record: Record, exc: RecordError) -> None:
        failed = self.out.failure(
            SIDE,
            sid,
            None,
            record,
            exc.message,
            stage="map",
            code=exc.code,
            location=exc.location,
        )
        self.applier.state(failed)

    # ---- what the applier asks of a flow ---------------------------------------------------

    def decided(self, decision: Any) -> None:
        """Nothing to show before it is written (a skip is shown where it is decided)."""

    def commit(self, decision: Any, result: WriteResult | None) -> None:
        """Inside the applier's transaction: keep what was decided and done."""
        store, flow = self.store, self.flow.name
        if isinstance(decision, Failed):
            self.out.keep(decision)
        elif isinstance(decision, Remember):
            store.save_link(flow, decision.link, self.ctx.run_id)
            store.release(flow, SIDE, decision.link.a_id)
        elif isinstance(decision, Stamp):
            store.set_cursor(flow, decision.key, decision.stamp)
        elif isinstance(decision, Acted):
            assert result is not None
            self._done(decision, result)

    def _done(self, acted: Acted, result: WriteResult) -> None:
        store, flow = self.store, self.flow.name
        handler = acted.handler
        if not result.ok:
            message = f"{handler.action} on {self.flow.target.text} failed: {result.error or 'no reason given'}"
            failed = self.out.failure(
                SIDE,
                acted.sid,
                None,
                acted.record,
                message,
                stage="write",
                code=result.code,
                location=handler.location,
            )
            self.out.keep(failed)
            return
        if acted.related_id is not None:
            assert handler.related is not None
            assert acted.target_id is not None
            store.mark_seen(flow, acted.sid, handler.related, acted.related_id)
            self._acted(acted.sid, acted.target_id, acted.values, handler.action)
            return
        if handler.action == CREATE:
            assert result.id is not None
            made = Link(acted.sid, result.id, acted.obj, self.target_obj, acted.snapshot, {})
            store.save_link(flow, made, self.ctx.run_id)
            store.release(flow, SIDE, acted.sid)
            self._acted(acted.sid, result.id, acted.values, CREATE)
            return
        link = acted.link
        assert link is not None
        seen = Link(
            link.a_id, link.b_id, link.a_object, link.b_object, acted.snapshot, link.b_values
        )
        store.save_link(flow, seen, self.ctx.run_id)
        store.release(flow, SIDE, acted.sid)
        self._acted(acted.sid, acted.target_id, acted.values, handler.action)
