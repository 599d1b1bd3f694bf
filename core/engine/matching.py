"""Finding a record's counterpart when the link table does not know it: the match index,
candidates for the pending queue, operators' resolutions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from integrate.connector import Page, Record
from integrate.engine.flowrun import UNKEYED, FlowRun, RuleResult
from integrate.engine.plan import QUEUE
from integrate.engine.scratch import Candidate, Stash, TargetIndex
from integrate.engine.unclear import NO_CLEAR_ANSWER
from integrate.errors import PluginError, RecordError
from integrate.model import OBJECT_FIELD
from integrate.state import Held, Link


class Matching(FlowRun):
    """Matching unlinked records; a part of SyncRun."""

    def _unlinked(
        self,
        s: int,
        obj: str,
        sid: str,
        record: Record,
        rules: RuleResult,
        held: Held | None,
        stash: Stash | None,
    ) -> None:
        t = 1 - s
        flow = self.flow
        if (s, sid) in self.unclear:
            self._unclear_again(s, obj, sid, record, rules)
            return
        if flow.upsert_on and self.names[t] == "target":
            self._upsert(s, obj, sid, record, rules, held)
            return
        key: str | None = None
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
            self._create(s, obj, sid, record, rules, held, key=key if flow.match else UNKEYED)
        elif policy == "skip":
            self._skip(
                s,
                sid,
                record,
                held,
                f"no matching record in {self.sides[t].ref.text} (unmatched: skip)",
            )
        elif held is not None and held.kind == QUEUE and NO_CLEAR_ANSWER in held.reason:
            # Its create may have been made: what the operator is asked to check stands.
            self._hold(s, sid, record, QUEUE, held.reason)
        else:
            label, suggestions = self._candidates(s, t, record)
            reason = (
                f"no record of {self.sides[t].ref.text} matches {label}"
                if label
                else "waiting for an operator"
            )
            self._hold(s, sid, record, QUEUE, reason, candidates=suggestions)

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

        def taken(obj: str, id_: str) -> bool:
            linked = self.store.link(self.flow.name, t, obj, id_) is not None
            return linked or (obj, id_) in self.claimed_ids[t]

        return label, index.similar(search, taken)

    def _matched(
        self,
        s: int,
        obj: str,
        sid: str,
        record: Record,
        candidate: Candidate,
        rules: RuleResult,
        held: Held | None,
        stash: Stash | None,
    ) -> None:
        t = 1 - s
        key = (candidate.object, candidate.id)
        owner = self.store.linked_to(self.flow.name, t, candidate.id, candidate.object)
        owner = owner or self.claimed_ids[t].get(key)
        if owner is not None and owner != sid:
            self._hold(
                s,
                sid,
                record,
                QUEUE,
                f"its match {candidate.id} in {self.sides[t].ref.text} is already linked to {owner}",
            )
            return
        self.claimed_ids[t][key] = sid
        current = candidate.record
        if stash is not None:
            fresh = stash.get(candidate.object, candidate.id)
            if fresh is not None:
                current = fresh
                stash.mark(candidate.object, candidate.id)
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
        rules: RuleResult,
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
