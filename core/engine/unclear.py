"""Creates whose outcome is unknown (a 5xx answer, or a timeout or reset after the request
was sent): never created again blindly. A record with a match key is looked for in a fresh
read of the target, a few rounds at most: found, it is linked (and updated if it differs);
not found, it is created again. A record without one waits for an operator."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from integrate.connector import AMBIGUOUS, Record, WriteResult
from integrate.engine.flowrun import FlowRun, RuleResult
from integrate.engine.plan import CREATE, FAIL, QUEUE, UNCHANGED, UPDATE, Change
from integrate.engine.values import without_lets
from integrate.state import Held

# Rounds of looking (one fresh read of the target each) before a record waits for the next run.
ROUNDS = 3
# In the reason of every record held for this; a queued one keeps its reason across runs.
NO_CLEAR_ANSWER = "got no clear answer"


@dataclass(frozen=True)
class UnclearCreate:
    """A record of side `s` whose create in `t_obj` may or may not have been carried out."""

    s: int
    obj: str
    sid: str
    record: Record
    rules: RuleResult
    key: str
    t_obj: str


class Settling(FlowRun):
    """Settling creates with no clear answer; a part of SyncRun."""

    def _unclear(
        self,
        s: int,
        obj: str,
        sid: str,
        record: Record,
        rules: RuleResult,
        held: Held | None,
        key: str | None,
        t_obj: str,
        result: WriteResult,
    ) -> None:
        """Inside a create's commit: the system's answer says nothing sure. The record is held
        in the same transaction, so a run that dies before settling it looks for it next."""
        t = 1 - s
        flow, name = self.flow.name, self.names[s]
        where = f"{self.sides[t].ref.connection}.{t_obj}"
        said = f"its create in {where} {NO_CLEAR_ANSWER} ({result.error})"
        kept = dict(without_lets(record))
        operators = held is not None and held.resolution is not None
        if key is None or operators:
            # Nothing to look for it by (or an operator said create, whatever matches): the
            # operator checks the target and decides.
            reason = (
                f"{said}; it may have been made: look for it in {where}, then "
                f"`integrate pending resolve SPEC {flow} {sid} --map-to ID` if it is there, "
                "or `--create` if it is not"
            )
            self.store.release(flow, name, sid)  # an operator's earlier decision is spent
            self.store.hold(flow, name, sid, QUEUE, reason, kept, self.ctx.run_id)
            self.out.emit(
                Change(flow, QUEUE, name, sid, self.names[t], t_obj, reason=reason, code=AMBIGUOUS)
            )
            return
        self.store.hold(
            flow, name, sid, FAIL, f"{said}; looked for by its match key", kept, self.ctx.run_id
        )
        self.unclear[(s, sid)] = UnclearCreate(s, obj, sid, record, rules, key, t_obj)

    def _unclear_again(self, s: int, obj: str, sid: str, record: Record, rules: RuleResult) -> None:
        """The record is read again (it changed while the run read) while its create is
        unclear: it is not decided again now (that could make it twice); it is looked for
        as planned, and then written with these newer values."""
        before = self.unclear[(s, sid)]
        self.unclear[(s, sid)] = dataclasses.replace(before, obj=obj, record=record, rules=rules)

    def _settle(self) -> None:
        """Look for the records whose create got no clear answer, once all writes are in: each
        round reads the target afresh (one full read per side) and looks for each record by
        the key its create was sent with: found, it is linked (then updated if it differs);
        not found, it is created again. What is still unclear after ROUNDS fails with
        AMBIGUOUS and is looked for again on the next run."""
        for _round in range(ROUNDS):
            waiting, self.unclear = self.unclear, {}
            if not waiting:
                return
            for t in {1 - u.s for u in waiting.values()}:
                self.indexes.pop(t, None)  # the next look-up reads side t again
            for u in waiting.values():
                self._look_for(u)
            self.writer.flush_all()
        for u in self.unclear.values():
            where = f"{self.sides[1 - u.s].ref.connection}.{u.t_obj}"
            self._fail(
                u.s,
                u.sid,
                u.record,
                f"its create in {where} {NO_CLEAR_ANSWER} {ROUNDS + 1} times; "
                "it is looked for again on the next run",
                "write",
                AMBIGUOUS,
            )
        self.unclear = {}
        self.writer.flush_all()

    def _look_for(self, u: UnclearCreate) -> None:
        t = 1 - u.s
        name = self.names[u.s]
        # The record is held (see _unclear): linking or creating it releases it.
        held = Held(self.flow.name, name, u.sid, FAIL, "", {}, [], None, 0, "", "")
        found = self._index(t).find(u.key)
        if len(found) > 1:
            ids = ", ".join(c.id for c in found[:5])
            self._hold(
                u.s,
                u.sid,
                u.record,
                QUEUE,
                f"its create {NO_CLEAR_ANSWER}, and {len(found)} records of "
                f"{self.sides[t].ref.text} have its match key ({ids})",
            )
            return
        self.looking.add((name, u.sid))
        if found:
            self._matched(u.s, u.obj, u.sid, u.record, found[0], u.rules, held, None)
        else:
            self._create(u.s, u.obj, u.sid, u.record, u.rules, held)

    def _emit(self, change: Change) -> None:
        """A record being looked for counts as created by this run, found or made again, and
        says which (in the summary's reasons)."""
        looked = (change.source_side, change.source_id)
        if change.source_id is not None and looked in self.looking:
            self.looking.discard(looked)
            where = f"{self._connection_of(change.target_side)}.{change.target_object}"
            if change.outcome in (UNCHANGED, UPDATE):
                change = dataclasses.replace(
                    change,
                    outcome=CREATE,
                    reason=f"its create {NO_CLEAR_ANSWER}; found in {where} by its match key",
                )
            elif change.outcome == CREATE:
                change = dataclasses.replace(
                    change,
                    reason=f"its create {NO_CLEAR_ANSWER} and {where} did not have it: made again",
                )
        super()._emit(change)

    def _connection_of(self, side: str | None) -> str:
        for candidate in self.sides:
            if candidate.name == side:
                return str(candidate.ref.connection)
        return str(side)
