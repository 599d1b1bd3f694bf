"""Running one sync flow: read changed records page by page, classify each (filter → rules →
link or match → map → diff), and hand the writes to the Writer.

One-way flows stream the source. Two-way flows first stash the second side's changes on
disk, stream the first side (pairing each record with its counterpart's fresh values when
both changed), then handle what is left of the stash. A value the sync wrote itself equals
the link's snapshot when it comes back, so it is never sent back (echo suppression)."""

from __future__ import annotations

from typing import Any

from integrate.connector import Page, Record
from integrate.engine.flowrun import RuleResult
from integrate.engine.matching import Matching
from integrate.engine.plan import QUEUE, SKIP, FlowStats
from integrate.engine.reconcile import Reconciling
from integrate.engine.scratch import Stash
from integrate.engine.unclear import Settling
from integrate.engine.values import truthy, with_lets
from integrate.engine.writes import Writing
from integrate.errors import RecordError
from integrate.model import OBJECT_FIELD
from integrate.state import Held, Link


class SyncRun(Matching, Reconciling, Writing, Settling):
    """One run of one sync flow."""

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
        self._settle()
        with self.store.transaction():
            for index, cursors in self.final_cursors.items():
                kept = {o: c for o, c in cursors.items() if (index, o) not in self.unreadable_in}
                self._save_cursor(index, kept)
            self.store.mark_completed(flow.name)
        return self.stats

    def _save_cursor(self, s: int, cursors: dict[str, Any]) -> None:
        name = self.sides[s].name
        merged = dict(self.store.cursor(self.flow.name, name) or {})
        merged.update(cursors)
        self.store.set_cursor(self.flow.name, name, merged)

    def _track_cursor(self, s: int, obj: str, page: Page) -> None:
        if page.cursor is None or (s, obj) in self.unreadable_in:
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
            self.ctx.progress(self.flow.name, self.sides[s].ref.text, self.stats.read[name])

    def _page(
        self, s: int, obj: str, records: list[Record], held: dict[str, Held], stash: Stash | None
    ) -> None:
        conn = self.sides[s].ref.connection
        ids = [self.ctx.id_of(conn, r.get(OBJECT_FIELD, obj), r) for r in records]
        objects = [r.get(OBJECT_FIELD, obj) for r in records]
        keys = [(o, i) for o, i in zip(objects, ids, strict=True) if i is not None]
        if any(self.writer.pending((s, o, i)) for o, i in keys):
            # Read again while what was decided for it is still queued (it changed while the
            # run read): that must land first, so that it is decided again against it (an
            # update, never a second create).
            self.writer.flush_all()
        links = self.store.links(self.flow.name, s, keys)
        here: set[tuple[str, str]] = set()
        for record, sid in zip(records, ids, strict=True):
            this_obj = record.get(OBJECT_FIELD, obj)
            h = held.pop(sid, None) if sid is not None else None
            if sid is not None and (this_obj, sid) in here:
                self.writer.flush_all()  # twice in one page: the first must land first
                link = self.store.link(self.flow.name, s, this_obj, sid)
                if link is not None:
                    links[(this_obj, sid)] = link
            here.add((this_obj, sid or ""))
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
            self._handle(s, this_obj, sid, record, links.get((this_obj, sid)), h, stash)

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
                    stash.put(obj, sid, record)
                self._track_cursor(s, obj, page)
            if full:
                # A full read doubles as this side's match index.
                self._index(s, loader=stash.all)
        return stash

    def _drain(self, s: int, stash: Stash) -> None:
        side = self.sides[s]
        held = {h.source_id: h for h in self.store.held(self.flow.name, side=side.name)}
        for chunk in stash.unhandled():
            links = self.store.links(self.flow.name, s, [(o, sid) for sid, o, _r in chunk])
            for sid, obj, record in chunk:
                self._handle(s, obj, sid, record, links.get((obj, sid)), held.pop(sid, None), None)
        for h in held.values():
            obj = h.record.get(OBJECT_FIELD) or side.ref.objects[0]
            link = self.store.link(self.flow.name, s, obj, h.source_id)
            self._handle(s, obj, h.source_id, h.record, link, h, None)

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
            if self.flow.lets and not self.flow.two_way:
                record = with_lets(record, self.flow.lets)
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
            other = stash.get(link.object_of(t), t_id)
            if other is not None:
                stash.mark(link.object_of(t), t_id)
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

    def _terminal(
        self, s: int, sid: str, record: Record, held: Held | None, rules: RuleResult
    ) -> None:
        if rules.action == SKIP:
            self._skip(s, sid, record, held, rules.reason)
        elif rules.action == "fail":
            self._fail(s, sid, record, rules.reason, "rules", "RULE", rules.location)
        else:
            assert rules.action is not None
            self._hold(s, sid, record, rules.action, rules.reason, rules.location)
