"""Recording what happens to each record of a flow: counted in the flow's stats, shown to
observers (the plan), and kept in state: held records, the failure ledger and the
failed-records file (redacted)."""

from __future__ import annotations

import logging
from typing import Any

from integrate.connector import BadRecord, Record
from integrate.engine.context import RunContext
from integrate.engine.plan import CREATE, FAIL, SKIP, UPDATE, Change, FlowStats
from integrate.engine.values import without_lets
from integrate.engine.writer import Writer
from integrate.errors import Location
from integrate.secrets import REDACTOR

log = logging.getLogger("integrate.writes")

# An unreadable record is kept as {"$raw": its text}, at most this many characters of it.
RAW = "$raw"
MAX_RAW = 64 * 1024


class Outcomes:
    def __init__(self, ctx: RunContext, flow: str, writer: Writer):
        self.ctx = ctx
        self.flow = flow
        self.writer = writer
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

    def skip(self, side: str, sid: str, target: str | None, reason: str, *, release: bool) -> None:
        """Skipped on purpose; a held record that is now skipped is let go."""
        self.emit(Change(self.flow, SKIP, side, sid, target, reason=reason))
        if release:
            self.writer.state(lambda: self.store.release(self.flow, side, sid))

    def hold(
        self,
        side: str,
        sid: str,
        target: str | None,
        record: Record,
        kind: str,
        reason: str,
        location: Location | None = None,
        candidates: list[dict[str, Any]] | None = None,
    ) -> None:
        """Queued for an operator or deferred: looked at again on every run."""
        record = dict(without_lets(record))
        self.emit(Change(self.flow, kind, side, sid, target, reason=reason, location=location))
        run_id = self.ctx.run_id
        self.writer.state(
            lambda: self.store.hold(self.flow, side, sid, kind, reason, record, run_id, candidates)
        )

    def unreadable(self, side: str, target: str | None, bad: BadRecord) -> None:
        """A record the connector could not read: a failure (stage `read`) with where it is
        and its raw text, in the failure ledger and the failed-records file. It has no id, so
        nothing is held: the connector hands it over again until it is fixed."""
        raw = bad.raw if len(bad.raw) <= MAX_RAW else bad.raw[:MAX_RAW] + " ...(cut)"
        self.ctx.unreadable += 1
        self.fail(
            side,
            None,
            target,
            {RAW: raw},
            f"{bad.where}: {bad.message}",
            stage="read",
            code=bad.code or "BAD_RECORD",
            where=bad.where,
        )

    def fail(
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
        in_commit: bool = False,
        retry: bool = True,
        where: str = "",
    ) -> None:
        """A failed record: in the failure ledger, the failed-records file and (to be retried
        next run) the held records. `in_commit` when called from a write's commit."""
        record = dict(without_lets(record))
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
        where = where or (str(location) if location else "")
        entry = {
            "run_id": self.ctx.run_id,
            "flow": self.flow,
            "side": side,
            "source_id": sid,
            "stage": stage,
            "code": code,
            "error": message,
            "location": where,
            "record": record,
        }

        def save() -> None:
            self.ctx.failures.write(entry)
            self.store.add_failure(
                run_id=self.ctx.run_id,
                flow=self.flow,
                side=side,
                source_id=sid,
                stage=stage,
                code=code,
                message=message,
                location=where,
                record=REDACTOR.redact_data(record),
            )
            if retry and sid is not None:
                self.store.hold(self.flow, side, sid, FAIL, message, record, self.ctx.run_id)

        if in_commit:
            save()
        else:
            self.writer.state(save)
