"""Running one sync flow: pages in, decisions out, writes in flight.

Read a page; make each record an `Item` (its id, its link, its held state); classify it into
decisions (classify.py, reconcile.py); hand them to the applier, which sends writes in
batches, several at once, and commits each batch's links, held records, failures and the
page's cursor in one transaction, in order. The next page is read while the writes of this
one are in flight.

One-way flows stream the source. Two-way flows first stash the second side's changes on
disk, stream the first side (pairing each record with its counterpart's fresh values when
both changed), then handle what is left of the stash. A value the sync wrote itself equals
the link's snapshot when it comes back, so it is never sent back (echo suppression)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from integrate.conditions import Condition, compile_filter
from integrate.connector import (
    AMBIGUOUS,
    GONE_FIELD,
    MOVE,
    UPDATE,
    UPSERT,
    BadRecord,
    ObjectInfo,
    Page,
    Record,
)
from integrate.engine.ahead import read_ahead
from integrate.engine.apply import Applier, Write
from integrate.engine.classify import Claims, Classifier, MatchView
from integrate.engine.commits import NO_CLEAR_ANSWER, Checkpoint, SyncCommits, UnclearCreate
from integrate.engine.context import RunContext, capped
from integrate.engine.decisions import (
    Create,
    Decision,
    Fail,
    Hold,
    Item,
    Recheck,
    Relink,
    Unchanged,
    Update,
    Upsert,
)
from integrate.engine.objects import ObjectCopy, RunObjects
from integrate.engine.outcomes import Outcomes
from integrate.engine.plan import FAIL, QUEUE, FlowStats
from integrate.engine.reconcile import Reconciler
from integrate.engine.scope import FlowScope
from integrate.engine.scratch import Candidate, Stash, TargetIndex
from integrate.errors import PluginError
from integrate.links import Link
from integrate.model import OBJECT_FIELD, Side, SyncFlow
from integrate.state import Held, StateStore

# Rounds of looking for creates with no clear answer (one fresh read of the target each)
# before a record waits for the next run.
ROUNDS = 3
# A catalogue's names of the boolean type: a bare field of one pushes down as "is true".
BOOLEAN_TYPES = frozenset({"boolean", "bool"})


def fields_held(info: ObjectInfo) -> frozenset[str] | None:
    """The fields a record of the object can hold: its catalogue's, its id and its
    last-modified field (None: any, schemaless)."""
    if info.fields is None:
        return None
    return frozenset(info.fields) | {f for f in (info.id_field, info.modified_field) if f}


class StoreLinks:
    """The link table as classification reads it (side index, object, id)."""

    def __init__(self, store: StateStore, flow: str):
        self.store = store
        self.flow = flow

    def linked_to(self, t: int, obj: str, id: str) -> str | None:
        return self.store.linked_to(self.flow, t, id, obj)

    def taken(self, t: int, obj: str, id: str) -> bool:
        return self.store.link(self.flow, t, obj, id) is not None

    def link(self, t: int, obj: str, id: str) -> Link | None:
        return self.store.link(self.flow, t, obj, id)


class SyncRun:
    """One run of one sync flow."""

    def __init__(
        self,
        ctx: RunContext,
        flow: SyncFlow,
        objects: RunObjects,
        executors: dict[int, ThreadPoolExecutor],
    ):
        self.ctx = ctx
        self.flow = flow
        self.store = ctx.store
        self.objects = objects
        self.scope = FlowScope(
            flow,
            first_run=self.store.completed_runs(flow.name) == 0,
            read_only=(self._read_only(flow.sides[0]), self._read_only(flow.sides[1])),
        )
        self.names = self.scope.names
        self.sides = self.scope.sides
        self.out = Outcomes(ctx, flow.name)
        self.stats = self.out.stats
        self.claims = Claims()
        self.commits = SyncCommits(ctx, self.scope, self.out, self.claims, objects)
        self.applier = Applier(
            self.store, self.commits, dry_run=ctx.dry_run, stop=ctx.stop, executors=executors
        )
        self.indexes: dict[int, TargetIndex] = {}
        self.stash: Stash | None = None
        self._targets: dict[tuple[int, str, str], tuple[Any, int, bool]] = {}
        self.final_cursors: dict[int, dict[str, Any]] = {}
        # (side, object) pairs a page of which held unreadable records: their cursor stays
        # where it was, so those records are read again (once fixed) on the next run.
        self.unreadable_in: set[tuple[int, str]] = set()
        self._reported: set[tuple[int, str]] = set()
        match = MatchView(index=self._index, fetch=self._fetch, fresh=self._fresh)
        reconciler = Reconciler(
            self.scope, self._modified_field, self._current, self._fields_of, self._can_move
        )
        self.classifier = Classifier(
            self.scope, StoreLinks(self.store, flow.name), self.claims, match, reconciler
        )

    # ---- the flow -------------------------------------------------------------------------

    def run(self) -> FlowStats:
        flow = self.flow
        for t, side in enumerate(self.sides):
            if flow.writes_to(side.name):
                for obj in side.ref.objects:
                    if f"{side.ref.connection}.{obj}" in self.objects.looked_up:
                        # read in full this run anyway (a lookup): read it now, and diff
                        # against what the target holds
                        self._copy(t, obj)
        if flow.only_to is not None:
            target = self.names.index(flow.only_to)
            self._stream(1 - target)
        else:
            self.stash = self._stash(1)
            self._stream(0)
            self._drain(1)
        self.applier.flush()
        self._settle()
        for built in self.indexes.values():
            self.objects.unlisten(built.put)
        with self.store.transaction():
            for index, cursors in self.final_cursors.items():
                kept = {o: c for o, c in cursors.items() if (index, o) not in self.unreadable_in}
                self.commits.commit(Checkpoint(index, kept), None)
            self.store.mark_completed(flow.name)
        return self.stats

    def _stream(self, s: int) -> None:
        side = self.sides[s]
        held = {h.source_id: h for h in self.store.held(self.flow.name, side=side.name)}
        if not self.ctx.only_held:
            for obj, page in self._read(s):
                self._count_read(s, len(page.records))
                self._page(s, obj, page.records, held)
                self._track_cursor(s, obj, page)
        self._leftovers(s, held)

    def _leftovers(self, s: int, held: dict[str, Held]) -> None:
        """Held records this run did not read: looked at again, 200 at a time."""
        side = self.sides[s]
        by_object: dict[str, list[Held]] = {}
        for h in held.values():
            by_object.setdefault(h.record.get(OBJECT_FIELD) or side.ref.objects[0], []).append(h)
            self.stats.held_again += 1
            if h.resolution and h.resolution.get("action"):
                self.stats.decided[str(h.resolution["action"])] += 1
        for obj, rows in by_object.items():
            for start in range(0, len(rows), 200):
                chunk = rows[start : start + 200]
                self._page(s, obj, [dict(h.record) for h in chunk], {h.source_id: h for h in chunk})

    def _count_read(self, s: int, n: int) -> None:
        name = self.names[s]
        self.stats.read[name] += n
        if self.ctx.progress is not None:
            self.ctx.progress(self.flow.name, self.sides[s].ref.text, self.stats.read[name])

    def _page(self, s: int, obj: str, records: list[Record], held: dict[str, Held]) -> None:
        conn = self.sides[s].ref.connection
        objects = [r.get(OBJECT_FIELD, obj) for r in records]
        ids = [self.ctx.id_of(conn, o, r) for o, r in zip(objects, records, strict=True)]
        keys = [(o, i) for o, i in zip(objects, ids, strict=True) if i is not None]
        if any(self.applier.pending((s, o, i)) for o, i in keys):
            # Read again while what was decided for it is still in flight (it changed while
            # the run read): that must land first, so that it is decided again against it
            # (an update, never a second create).
            self.applier.flush()
        links = self.store.links(self.flow.name, s, keys)
        for record, sid in zip(records, ids, strict=True):
            if sid is not None and GONE_FIELD in record:
                self.claims.gone.add((s, sid))
        here: set[tuple[str, str]] = set()
        t = 1 - s
        for record, this_obj, sid in zip(records, objects, ids, strict=True):
            if sid is None:
                info = self.ctx.info(conn, this_obj)
                failed = self.out.failure(
                    self.names[s],
                    None,
                    self.names[t],
                    record,
                    f"the record has no '{info.id_field}' (its id field)",
                    stage="read",
                    code="NO_ID",
                )
                self.applier.state(failed)
                continue
            h = held.pop(sid, None)
            link = links.get((this_obj, sid))
            if (this_obj, sid) in here:
                self.applier.flush()  # twice in one page: the first must land first
                link = self.store.link(self.flow.name, s, this_obj, sid)
            here.add((this_obj, sid))
            other: Record | None = None
            if link is not None and self.stash is not None:
                t_obj, t_id = link.object_of(t), link.id_of(t)
                other = self.stash.get(t_obj, t_id)
                if other is not None and GONE_FIELD not in other:
                    self.stash.mark(t_obj, t_id)
            item = Item(s, this_obj, sid, record, h, link)
            self._apply(self.classifier.classify(item, other))

    def _apply(self, decisions: Iterable[Decision]) -> None:
        """Hand a record's decisions over: writes to the applier, claims registered now."""
        for d in decisions:
            if isinstance(d, Create):
                if d.key is not None:
                    # Until this create is committed, another record with the same key waits.
                    self.claims.keys[d.t][d.key] = d.item.sid
                self.applier.write(self._write(d))
            elif isinstance(d, (Upsert, Update)):
                self.applier.write(self._write(d))
            elif isinstance(d, Relink):
                if d.claimed is not None:
                    self.claims.ids[1 - d.item.s][d.claimed] = d.item.sid
                self.applier.state(d)
            elif isinstance(d, Fail):
                self.applier.state(self.commits.failed(d))
            elif isinstance(d, Recheck):
                self.commits.recheck(d)
            elif isinstance(d, Unchanged):
                self.commits.decided(d)
            else:  # Skip, Hold, Release
                self.applier.state(d)

    # ---- writes ---------------------------------------------------------------------------

    def _target(self, t: int, obj: str, op: str) -> tuple[Any, int, bool]:
        """The connector of side t, the batch limit for `obj` and whether it takes one record
        a call; refused when the plugin cannot do `op` on it."""
        known = self._targets.get((t, obj, op))
        if known is None:
            known = self._targets[(t, obj, op)] = self._target_of(t, obj, op)
        return known

    def _target_of(self, t: int, obj: str, op: str) -> tuple[Any, int, bool]:
        side = self.sides[t]
        info = self.ctx.info(side.ref.connection, obj)
        connector = self.ctx.connectors[side.ref.connection]
        if not info.supports(op):
            raise PluginError(
                f"{connector.plugin} cannot {op} records of {obj} (flow '{self.flow.name}')"
            )
        limit = capped(self.flow.common.batch_size, info.write_batch)
        return connector, limit, info.one_per_call

    def _write(self, d: Create | Upsert | Update) -> Write:
        """The write that carries out a create, upsert or update decision."""
        item = d.item
        extra: dict[str, Any] = {}
        if isinstance(d, Create):
            obj, op, values = d.t_obj, "create", {**d.values, **d.extra}
        elif isinstance(d, Upsert):
            obj, op, values = d.t_obj, UPSERT, d.values
            extra["keys"] = self.flow.upsert_on
        else:
            obj, op = d.obj, (MOVE if d.move_from is not None else UPDATE)
            values = {f: new for f, (_old, new) in d.diff.items()}
            extra.update(id=d.t_id, from_object=d.move_from)
        connector, limit, single = self._target(d.t, obj, op)
        return Write(
            d,
            self.names[d.t],
            connector,
            obj,
            op,
            limit,
            values,
            source=(item.s, item.obj, item.sid),
            one_per_call=single,
            **extra,
        )

    # ---- reading --------------------------------------------------------------------------

    def _read(self, s: int) -> Iterator[tuple[str, Page]]:
        """The changes of side s since its cursors (everything with --full-refresh)."""
        side = self.sides[s]
        saved = (
            {} if self.ctx.full_refresh else (self.store.cursor(self.flow.name, side.name) or {})
        )
        for obj in side.ref.objects:
            where = self._where(s, obj)
            for page in self._pages(s, obj, saved.get(obj), self.scope.read_fields[s], where):
                yield obj, page

    def _where(self, s: int, obj: str) -> Condition | None:
        """The flow's filter, for side s's connector to push down (docs/plugins.md): only when
        the side is the source of a one-way flow (a two-way flow's full read doubles as its
        match index, which must hold every record) and its connector `pushes_filters`."""
        side = self.sides[s]
        filt = self.flow.filters.get(side.name)
        if filt is None or self.flow.only_to is None or self.flow.only_to == side.name:
            return None
        if not self.ctx.connectors[side.ref.connection].pushes_filters:
            return None
        fields = self.ctx.info(side.ref.connection, obj).fields or {}
        booleans = [name for name, f in fields.items() if f.type.lower() in BOOLEAN_TYPES]
        return compile_filter(filt, booleans=booleans)

    def _pages(
        self,
        s: int,
        obj: str,
        since: Any,
        fields: tuple[str, ...] | None,
        where: Condition | None = None,
    ) -> Iterator[Page]:
        side = self.sides[s]
        connector = self.ctx.connectors[side.ref.connection]
        info = self.ctx.info(side.ref.connection, obj)
        page_size = capped(self.flow.common.page_size, info.page_size)
        if where is not None:
            pages = connector.read(
                obj, since=since, fields=fields, page_size=page_size, where=where
            )
        else:
            pages = connector.read(obj, since=since, fields=fields, page_size=page_size)
        if connector.reads_ahead:
            pages = read_ahead(pages)  # the next page is fetched while this one is handled
        for page in pages:
            self.ctx.stop.check()  # a safe point: between pages
            if side.ref.multi:
                for record in page.records:
                    record[OBJECT_FIELD] = obj
            if page.failures:
                self._unreadable(s, obj, page.failures)
            yield page

    def _unreadable(self, s: int, obj: str, failures: list[BadRecord]) -> None:
        """Record each unreadable record once per run (a side may be read twice: changes,
        then in full for matching), and keep the object's cursor back."""
        self.unreadable_in.add((s, obj))
        for bad in failures:
            if (s, bad.where) not in self._reported:
                self._reported.add((s, bad.where))
                self.applier.state(self.out.unreadable(self.names[s], self.names[1 - s], bad))

    def _track_cursor(self, s: int, obj: str, page: Page) -> None:
        if page.cursor is None or (s, obj) in self.unreadable_in:
            return
        info = self.ctx.info(self.sides[s].ref.connection, obj)
        if info.sorted_reads:
            self.applier.checkpoint(Checkpoint(s, {obj: page.cursor}))
        else:
            self.final_cursors.setdefault(s, {})[obj] = page.cursor

    def _copy(self, s: int, obj: str) -> ObjectCopy:
        """Side s's object read in full, once per run (shared with lookups and other flows)."""
        side = self.sides[s]
        info = self.ctx.info(side.ref.connection, obj)

        def load(fields: tuple[str, ...] | None) -> Iterator[Page]:
            return self._pages(s, obj, None, fields)

        return self.objects.copy(
            side.ref.connection, obj, info.id_field, load, self.scope.read_fields[s]
        )

    # ---- matching -------------------------------------------------------------------------

    def _index(self, t: int, loader: Any = None) -> TargetIndex:
        """Side t's records by match key, from one full read (kept up to date by the run's
        writes to it)."""
        index = self.indexes.get(t)
        if index is None:
            side = self.sides[t]
            exprs = [key.exprs[side.name] for key in self.flow.match]

            def load() -> Iterator[tuple[str, Page]]:
                for obj in side.ref.objects:
                    for page in self._copy(t, obj).pages():
                        yield obj, page

            def id_of(obj: str, record: Record) -> str:
                return self.ctx.id_of(side.ref.connection, obj, record) or ""

            index = TargetIndex(self.ctx.scratch, exprs, self.flow.normalize, loader or load, id_of)
            for obj in side.ref.objects:
                self.objects.listen(side.ref.connection, obj, index.put)
            self.indexes[t] = index
        return index

    def _fresh(self, obj: str, id: str) -> Record | None:
        """The record of the stashed side as read this run, marked as handled."""
        if self.stash is None:
            return None
        fresh = self.stash.get(obj, id)
        if fresh is not None:
            self.stash.mark(obj, id)
        return fresh

    def _fetch(self, t: int, target_id: str) -> Candidate | None:
        """A record of side t by its id (an operator's --map-to)."""
        side = self.sides[t]
        connector = self.ctx.connectors[side.ref.connection]
        for obj in side.ref.objects:
            try:
                found = connector.get(obj, [target_id])
            except PluginError:
                copy = self._copy(t, obj)
                record = copy.get(target_id)
                found = [record] if record is not None else []
            if found:
                return Candidate(target_id, obj, found[0])
        return None

    def _current(self, t: int, obj: str, id: str) -> Record | None:
        return self.objects.peek(self.sides[t].ref.connection, obj, id)

    def _read_only(self, side: Side) -> frozenset[str]:
        """The fields the side's system keeps read-only in every one of its objects (asked
        only when an object-level one-way direction may bring such a pair in)."""
        if self.flow.only_to != side.name:
            return frozenset()
        found = [self.ctx.info(side.ref.connection, obj).fields for obj in side.ref.objects]
        infos = [f for f in found if f is not None]
        if len(infos) < len(found):  # a schemaless object takes any field
            return frozenset()
        names: set[str] = set().union(*infos)
        return frozenset(n for n in names if all(n not in i or i[n].read_only for i in infos))

    def _modified_field(self, s: int, obj: str) -> str | None:
        return self.ctx.info(self.sides[s].ref.connection, obj).modified_field

    def _fields_of(self, s: int, obj: str) -> frozenset[str] | None:
        return fields_held(self.ctx.info(self.sides[s].ref.connection, obj))

    def _can_move(self, s: int, obj: str) -> bool:
        return self.ctx.info(self.sides[s].ref.connection, obj).supports(MOVE)

    # ---- two-way: the second side's changes -----------------------------------------------

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
                        failed = self.out.failure(
                            self.names[s],
                            None,
                            self.names[1 - s],
                            record,
                            f"the record has no '{info.id_field}' (its id field)",
                            stage="read",
                            code="NO_ID",
                        )
                        self.applier.state(failed)
                        continue
                    stash.put(obj, sid, record)
                    if GONE_FIELD in record:
                        self.claims.gone.add((s, sid))
                self._track_cursor(s, obj, page)
            if full:
                # A full read doubles as this side's match index.
                self._index(s, loader=stash.all)
        return stash

    def _drain(self, s: int) -> None:
        """The stashed records no record of the other side was paired with, and the held
        records of this side that were not read."""
        assert self.stash is not None
        stash, self.stash = self.stash, None
        side = self.sides[s]
        held = {h.source_id: h for h in self.store.held(self.flow.name, side=side.name)}
        for chunk in stash.unhandled():
            links = self.store.links(self.flow.name, s, [(o, sid) for sid, o, _r in chunk])
            for sid, obj, record in chunk:
                item = Item(s, obj, sid, record, held.pop(sid, None), links.get((obj, sid)))
                self._apply(self.classifier.classify(item))
        self._leftovers(s, held)

    # ---- creates with no clear answer -----------------------------------------------------

    def _settle(self) -> None:
        """Look for the records whose create got no clear answer, once all writes are in: each
        round reads the target afresh and looks for each record by the key its create was
        sent with: found, it is linked (then updated if it differs); not found, it is created
        again. What is still unclear after ROUNDS fails with AMBIGUOUS and is looked for
        again on the next run."""
        commits = self.commits
        for _round in range(ROUNDS):
            waiting, commits.unclear = commits.unclear, {}
            self.claims.unclear.clear()
            if not waiting:
                return
            for t in {1 - u.item.s for u in waiting.values()}:
                self.indexes.pop(t, None)  # the next look-up reads side t again
                side = self.sides[t]
                for obj in side.ref.objects:
                    self.objects.forget(side.ref.connection, obj)
            for u in waiting.values():
                self._look_for(u)
            self.applier.flush()
        for u in commits.unclear.values():
            item = u.item
            where = f"{self.sides[1 - item.s].ref.connection}.{u.t_obj}"
            message = (
                f"its create in {where} {NO_CLEAR_ANSWER} {ROUNDS + 1} times; "
                "it is looked for again on the next run"
            )
            self._apply([Fail(item, message, "write", AMBIGUOUS)])
        commits.unclear = {}
        self.claims.unclear.clear()
        self.applier.flush()

    def _look_for(self, u: UnclearCreate) -> None:
        item = u.item
        t = 1 - item.s
        name = self.names[item.s]
        # The record is held (see SyncCommits._unclear): linking or creating it releases it.
        held = Held(self.flow.name, name, item.sid, FAIL, "", {}, [], None, 0, "", "")
        item = Item(item.s, item.obj, item.sid, item.record, held)
        found = self._index(t).find(u.key)
        if len(found) > 1:
            ids = ", ".join(c.id for c in found[:5])
            reason = (
                f"its create {NO_CLEAR_ANSWER}, and {len(found)} records of "
                f"{self.sides[t].ref.text} have its match key ({ids})"
            )
            self._apply([Hold(item, QUEUE, reason)])
            return
        self.commits.looking.add((name, item.sid))
        if found:
            self._apply(self.classifier.match_to(item, found[0], u.rules))
        else:
            self._apply([self.classifier.create(item, u.rules, u.key)])
