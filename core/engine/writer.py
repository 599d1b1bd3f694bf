"""Applying the plan: writes grouped into batches within each object's limit, one result
per record, and one state transaction per batch (links, held records, failures, cursor).

A cursor checkpoint is committed only once every write queued before it has been
acknowledged and committed, so the cursor never gets ahead of the target."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from integrate.connector import AMBIGUOUS, CREATE, Connector, WriteItem, WriteResult
from integrate.engine.stop import StopRequest
from integrate.engine.values import nest
from integrate.errors import ConnectorError
from integrate.state import StateStore

Commit = Callable[[WriteResult], None]
_WRITES = frozenset({"create", "update", "upsert", "move"})


@dataclass
class Job:
    seq: int
    side: str
    object: str
    op: str
    item: WriteItem
    commit: Commit
    source: Hashable = None


@dataclass
class _Queue:
    connector: Connector
    limit: int
    jobs: list[Job] = field(default_factory=list)


class Writer:
    """Queues writes per (side, object, operation) and flushes them in batches."""

    def __init__(self, store: StateStore, *, dry_run: bool, stop: StopRequest | None = None):
        self.store = store
        self.dry_run = dry_run
        self.stop = stop  # a stop asked for is honoured after each committed batch
        self.queues: dict[tuple[str, str, str], _Queue] = {}
        self._seq = itertools.count(1)
        self._refs = itertools.count(1)
        self._state_ops: list[Callable[[], None]] = []
        self._checkpoints: list[tuple[int, Callable[[], None]]] = []
        self._dry_ids = itertools.count(1)
        self.write_calls = 0
        # the records whose writes are queued and not yet committed
        self._sources: Counter[Hashable] = Counter()

    def submit(
        self,
        *,
        side: str,
        connector: Connector,
        object: str,
        op: str,
        limit: int,
        values: dict[str, Any],
        commit: Commit,
        id: str | None = None,
        keys: tuple[str, ...] = (),
        from_object: str | None = None,
        source: Hashable = None,
    ) -> None:
        """Queue one write. `source` names the record it was decided for (see `pending`)."""
        key = (side, object, op)
        queue = self.queues.get(key)
        if queue is None:
            queue = self.queues[key] = _Queue(connector, max(1, limit))
        item = WriteItem(
            ref=next(self._refs), values=nest(values), id=id, keys=keys, from_object=from_object
        )
        queue.jobs.append(Job(next(self._seq), side, object, op, item, commit, source))
        if source is not None:
            self._sources[source] += 1
        if len(queue.jobs) >= queue.limit:
            self._flush(key)

    def state(self, op: Callable[[], None]) -> None:
        """A state change with no remote write (a new link to an equal record, a held record);
        committed with the next transaction."""
        self._state_ops.append(op)
        if len(self._state_ops) >= 1000 and not self._pending():
            self._commit([])

    def checkpoint(self, save: Callable[[], None]) -> None:
        """Save a cursor once everything queued so far has been written."""
        self._checkpoints.append((next(self._seq), save))
        if not self._pending():
            self._commit([])

    def pending(self, source: Hashable) -> bool:
        """Whether a write decided for this record is queued and not yet committed."""
        return self._sources[source] > 0

    def flush_all(self) -> None:
        # Moves first: later updates may depend on the record's new place.
        for key in sorted(self.queues, key=lambda k: (k[2] != "move", k)):
            while self.queues[key].jobs:
                self._flush(key)
        self._commit([])

    def _pending(self) -> bool:
        return any(q.jobs for q in self.queues.values())

    def _min_pending_seq(self) -> int | None:
        seqs = [q.jobs[0].seq for q in self.queues.values() if q.jobs]
        return min(seqs) if seqs else None

    def _flush(self, key: tuple[str, str, str]) -> None:
        queue = self.queues[key]
        batch, queue.jobs = queue.jobs[: queue.limit], queue.jobs[queue.limit :]
        if not batch:
            return
        _side, obj, op = key
        items = [job.item for job in batch]
        if self.dry_run:
            results = [self._simulate(item, op) for item in items]
        elif op in _WRITES:
            self.write_calls += 1
            try:
                results = queue.connector.write(obj, op, items)
            except ConnectorError as exc:
                if op != CREATE or exc.code != AMBIGUOUS:
                    raise
                # Cut off after it was sent: any of these may have been made. The flow looks
                # for them before it creates them again; the run goes on.
                results = [WriteResult.ambiguous(item.ref, str(exc)) for item in items]
        else:
            self.write_calls += 1
            results = queue.connector.act(obj, op, items)
        by_ref = {r.ref: r for r in results}
        done = []
        for job in batch:
            result = by_ref.get(job.item.ref) or WriteResult.failure(
                job.item.ref,
                f"{queue.connector.plugin} returned no result for this record",
                "NO_RESULT",
            )
            done.append((job, result))
        self._commit(done)

    def _simulate(self, item: WriteItem, op: str) -> WriteResult:
        if item.id is not None and op != "create":
            return WriteResult.success(item.ref, item.id)
        return WriteResult.success(item.ref, f"(new {next(self._dry_ids)})", created=True)

    def _commit(self, done: list[tuple[Job, WriteResult]]) -> None:
        floor = self._min_pending_seq()
        ready = [cp for cp in self._checkpoints if floor is None or cp[0] < floor]
        if not done and not self._state_ops and not ready:
            return
        with self.store.transaction():
            for job, result in done:
                job.commit(result)
            for op in self._state_ops:
                op()
            for _seq, save in ready:
                save()
        for job, _result in done:
            if job.source is not None:
                self._sources[job.source] -= 1
                if not self._sources[job.source]:
                    del self._sources[job.source]
        self._state_ops = []
        self._checkpoints = [cp for cp in self._checkpoints if cp not in ready]
        if done and self.stop is not None:
            self.stop.check()  # a safe point: the batch is written and committed
