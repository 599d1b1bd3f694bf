"""Recording what happens to each record of a flow: counted in the flow's stats, shown to
observers (the plan), and kept in state: held records, the failure ledger and the
failed-records file (redacted)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from integrate.connector import BadRecord, Record
from integrate.engine.context import RunContext
from integrate.engine.plan import CREATE, FAIL, UPDATE, Change, FlowStats
from integrate.engine.values import without_lets
from integrate.errors import Location
from integrate.secrets import REDACTOR

log = logging.getLogger("integrate.writes")

# An unreadable record is kept as {"$raw": its text}, at most this many characters of it.
RAW = "$raw"
MAX_RAW = 64 * 1024


@dataclass(frozen=True)
class Failed:
    """A failed record, to keep: in the failure ledger, the failed-records file and (to be
    tried again next run, when it has an id) the held records."""

    side: str
    sid: str | None
    record: Record
    message: str
    stage: str
    code: str = ""
    where: str = ""
    retry: bool = True


class Outcomes:
    def __init__(self, ctx: RunContext, flow: str):
        self.ctx = ctx
        self.flow = flow
        self.store = ctx.store
        self.stats = FlowStats(flow)

    def emit(self, change: Change) -> None:
        self.stats.count(change)
        if self.ctx.observer is not None:
            self.ctx.observer(change)
        if (
            change.outcome in (CREATE, UPDATE)
            and not self.ctx.dry_run
            and log.isEnabledFor(logging.INFO)
        ):
            # Who wrote what, in the run log (-v): when several specs write one system, the
            # log says which spec's run wrote each record (last writer wins).
            log.info(
                "%s run %s wrote: %s %s.%s:%s from %s:%s (flow %s)",
                self.ctx.spec.name,
                self.ctx.run_id,
                change.outcome,
                self._connection(change.target_side),
                change.target_object,
                change.target_id,
                self._connection(change.source_side),
                change.source_id,
                self.flow,
            )

    def _connection(self, side: str | None) -> str | None:
        flow = self.ctx.spec.flows.get(self.flow)
        sides = getattr(flow, "sides", ())
        for candidate in sides:
            if candidate.name == side:
                return str(candidate.ref.connection)
        return side

    def failure(
        self,
        side: str,
        sid: str | None,
        target: str | None,
        record: Record,
        message: str,
        *,
        stage: str,
        code: str = "",
        location: Location | None = None,
        target_object: str | None = None,
        retry: bool = True,
        where: str = "",
    ) -> Failed:
        """Shown now (the plan, the counts); returned to be kept with the next transaction."""
        self.emit(
            Change(
                self.flow,
                FAIL,
                side,
                sid,
                target,
                target_object,
                reason=message,
                location=location,
                code=code,
            )
        )
        record = dict(without_lets(record))
        where = where or (str(location) if location else "")
        return Failed(side, sid, record, message, stage, code, where, retry)

    def unreadable(self, side: str, target: str | None, bad: BadRecord) -> Failed:
        """A record the connector could not read: a failure (stage `read`) with where it is
        and its raw text. It has no id, so nothing is held: the connector hands it over again
        until it is fixed."""
        raw = bad.raw if len(bad.raw) <= MAX_RAW else bad.raw[:MAX_RAW] + " ...(cut)"
        self.ctx.unreadable += 1
        return self.failure(
            side,
            None,
            target,
            {RAW: raw},
            f"{bad.where}: {bad.message}",
            stage="read",
            code=bad.code or "BAD_RECORD",
            where=bad.where,
        )

    def keep(self, failed: Failed) -> None:
        """Inside a state transaction: keep a failure where the operator finds it."""
        entry = {
            "run_id": self.ctx.run_id,
            "flow": self.flow,
            "side": failed.side,
            "source_id": failed.sid,
            "stage": failed.stage,
            "code": failed.code,
            "error": failed.message,
            "location": failed.where,
            "record": failed.record,
        }
        self.ctx.failures.write(entry)
        self.store.add_failure(
            run_id=self.ctx.run_id,
            flow=self.flow,
            side=failed.side,
            source_id=failed.sid,
            stage=failed.stage,
            code=failed.code,
            message=failed.message,
            location=failed.where,
            record=REDACTOR.redact_data(failed.record),
        )
        if failed.retry and failed.sid is not None:
            self.store.hold(
                self.flow,
                failed.side,
                failed.sid,
                FAIL,
                failed.message,
                failed.record,
                self.ctx.run_id,
            )

    def held(
        self,
        side: str,
        sid: str,
        record: Record,
        kind: str,
        reason: str,
        candidates: list[dict[str, Any]] | None = None,
        code: str = "",
    ) -> None:
        """Inside a state transaction: queued for an operator or deferred."""
        self.store.hold(
            self.flow,
            side,
            sid,
            kind,
            reason,
            dict(without_lets(record)),
            self.ctx.run_id,
            candidates,
            code,
        )
