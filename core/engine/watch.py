"""Watching one side of a sync flow for `integrate serve`'s push on change (CS-6).

A look reads the side as the flow's next run would (from its saved cursor, the same
fields) and judges each record with the run's own classifier against the state as the last
run left it, writing nothing: a record is a change when the run would do something for it
(write it, link it, hold or fail it anew, keep a new snapshot of it). A connector whose reads
have a cursor answers with the few records modified since; one without (a full read each
time) is judged just as well, record by record against the link snapshots."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrate.connector import Connector, Record
from integrate.engine.classify import Claims, Classifier, MatchView
from integrate.engine.context import FailureSink, RunContext, capped
from integrate.engine.decisions import Item, Relink, Skip, Unchanged
from integrate.engine.reconcile import Reconciler
from integrate.engine.runner import RunOptions, linked_reader, open_connector, state_location
from integrate.engine.scope import FlowScope
from integrate.engine.scratch import Scratch
from integrate.engine.sync import StoreLinks, fields_held
from integrate.engine.values import LET, same
from integrate.functions import RunScope, run_scope
from integrate.links import Link, digest
from integrate.metacache import MetadataCache, StateEntries
from integrate.model import OBJECT_FIELD, Spec, SyncFlow
from integrate.plugins import Plugins
from integrate.secrets import Resolver
from integrate.state import StateStore
from integrate.tokencache import StateTokenCache


@dataclass(frozen=True)
class Look:
    """What one look at a side found: records read, how many are changes, and why the flow
    needs a run ("" when it does not)."""

    flow: str
    side: str  # as the spec names it (a one-way flow's source: its connection)
    read: int = 0
    changed: int = 0
    reason: str = ""
    # a run of the integration was going (another process): nothing was read
    busy: bool = False
    # the watched connection's calls (reads, auth, retries ...), as a run report counts them
    calls: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def needs_run(self) -> bool:
        return bool(self.reason)


class _OtherSide(Exception):
    """Judging the record needs the other side (a match by key) or another object (a
    lookup()): a look reads neither, so the run, which does, has work to do."""


def look(spec: Spec, plugins: Plugins, flow_name: str, side: str, options: RunOptions) -> Look:
    """Look at `side` (a side name of the model: `source` for a one-way flow) of a sync flow
    for changes since the flow's last run; reads only that side, writes nothing."""
    flow = spec.flows[flow_name]
    assert isinstance(flow, SyncFlow)
    s = 0 if flow.sides[0].name == side else 1
    ref = flow.sides[s].ref
    label = side if flow.two_way else ref.connection
    path = state_location(spec, options)
    if isinstance(path, Path) and not path.exists():
        return Look(flow_name, label, reason=f"{flow_name}: it has not run yet")
    if StateStore.run_going(path, spec.name):
        return Look(flow_name, label, busy=True)  # looked at again once that run ended
    store = StateStore(path, spec.name)
    try:
        if store.completed_runs(flow_name) == 0:
            return Look(flow_name, label, reason=f"{flow_name}: it has not completed a run yet")
        resolver = options.resolver or Resolver(base=spec.path.parent)
        watching = dataclasses.replace(options, dry_run=True)  # read only
        tokens, metadata = StateTokenCache(store), MetadataCache(StateEntries(store), options.clock)
        connector = open_connector(
            spec, plugins, watching, resolver, ref.connection, tokens, metadata
        )
        scratch = Scratch()
        try:
            ctx = RunContext(
                spec=spec,
                store=store,
                connectors={ref.connection: connector},
                scratch=scratch,
                failures=FailureSink(None, spec.name, dry_run=True),
                dry_run=True,
            )
            # linked() reads the links as they stand; a lookup() would read another object
            linked = functools.partial(linked_reader(spec, ctx), current=flow_name)
            with run_scope(RunScope(linked=linked, lookup=_other_side)):
                read, changed = _Judge(ctx, flow, s, connector).count()
        finally:
            scratch.close()
            connector.close()
        calls = connector.context.stats.as_dict()
    finally:
        store.close()
    reason = f"{flow_name}: {changed} changed on {label} since the last run" if changed else ""
    return Look(flow_name, label, read, changed, reason, calls=calls)


class _Judge:
    """The run's classifier over one side's records, with the other side out of reach."""

    def __init__(self, ctx: RunContext, flow: SyncFlow, s: int, connector: Connector):
        self.ctx = ctx
        self.flow = flow
        self.s = s
        self.connector = connector
        self.side = flow.sides[s]
        self.scope = FlowScope(flow, first_run=False)
        reconciler = Reconciler(
            self.scope,
            self._modified_field,
            fields_of=self._fields_of,
        )
        self.classifier = Classifier(
            self.scope,
            StoreLinks(ctx.store, flow.name),
            Claims(),
            MatchView(index=_other_side, fetch=_other_side),
            reconciler,
        )

    def count(self) -> tuple[int, int]:
        """(records read, records that are changes)."""
        store, conn = self.ctx.store, self.side.ref.connection
        held = {h.source_id: h for h in store.held(self.flow.name, side=self.side.name)}
        read = changed = 0
        for obj, records in self._pages():
            ids = [self.ctx.id_of(conn, r.get(OBJECT_FIELD, obj), r) for r in records]
            keys = [(r.get(OBJECT_FIELD, obj), i) for r, i in zip(records, ids, strict=True) if i]
            links = store.links(self.flow.name, self.s, keys)
            for record, sid in zip(records, ids, strict=True):
                read += 1
                if sid is None:
                    continue  # the run fails it (no id) whatever the watch says
                this_obj = record.get(OBJECT_FIELD, obj)
                item = Item(
                    self.s, this_obj, sid, record, held.get(sid), links.get((this_obj, sid))
                )
                changed += self._changed(item)
        return read, changed

    def _pages(self) -> Iterator[tuple[str, list[Record]]]:
        """The side's records since its saved cursors, as the run reads them."""
        saved = self.ctx.store.cursor(self.flow.name, self.side.name) or {}
        fields = self.scope.read_fields[self.s]
        for obj in self.side.ref.objects:
            info = self.ctx.info(self.side.ref.connection, obj)
            size = capped(self.flow.common.page_size, info.page_size)
            for page in self.connector.read(
                obj, since=saved.get(obj), fields=fields, page_size=size
            ):
                if self.side.ref.multi:
                    for record in page.records:
                        record[OBJECT_FIELD] = obj
                yield obj, page.records

    def _changed(self, item: Item) -> bool:
        held = item.held
        if held is not None and not held.resolution and _same(held.record, item.record):
            return False  # waiting as it was (queued, deferred, failed): nothing new
        try:
            decisions = self.classifier.classify(item)
        except _OtherSide:
            return True
        for d in decisions:
            if isinstance(d, Relink):
                if _moved_on(d.draft.link, item.link):
                    return True
            elif not isinstance(d, (Unchanged, Skip)):
                return True
        return False

    def _modified_field(self, s: int, obj: str) -> str | None:
        if s != self.s:
            return None  # the other side is not read: no conflict is judged here
        return self.ctx.info(self.side.ref.connection, obj).modified_field

    def _fields_of(self, s: int, obj: str) -> frozenset[str] | None:
        """The fields a record of the watched side's object can hold (the other side's: any,
        which changes no judgement of a record of this side)."""
        if s != self.s:
            return None
        return fields_held(self.ctx.info(self.side.ref.connection, obj))


def _moved_on(draft: Link, link: Link | None) -> bool:
    """Whether a relink would keep other snapshots than the link holds, value by value as
    the engine compares them (a link keeps digests of long values, a draft the values)."""
    if link is None:
        return True
    for side in (0, 1):
        if (draft.id_of(side), draft.object_of(side)) != (link.id_of(side), link.object_of(side)):
            return True
        old = link.values_of(side)
        if any(not same(v, old.get(f)) for f, v in draft.values_of(side).items()):
            return True
    return False


def _other_side(*_args: Any, **_kwargs: Any) -> Any:
    raise _OtherSide


def _same(held: dict[str, Any], record: Record) -> bool:
    """Whether a held record reads as it did when it was held (its `let` values aside)."""
    return digest(_plain(held)) == digest(_plain(record))


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != LET}


__all__ = ["Look", "look"]
