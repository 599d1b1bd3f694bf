"""Applying decisions: writes grouped into batches within each object's limit, sent with as
many calls in flight as the connection allows, and committed in the order they were decided,
each batch in one state transaction with everything decided before it (held records,
failures, the cursor of a page once every write before it has landed).

- A connection writes up to its `concurrency` calls at once (its plugin's default, or the
  spec's `limits.concurrency`); a system that takes one record per request
  (`ObjectInfo.one_per_call`) gets a batch as that many calls, fanned out.
- Results are committed in order: the cursor is never ahead of acknowledged writes.
- Two writes to the same record are never in flight together.
- A connection with a concurrency of 1 (a files folder) is written in this thread."""

from __future__ import annotations

import itertools
from collections import Counter, deque
from collections.abc import Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from integrate.connector import AMBIGUOUS, CREATE, Connector, WriteItem, WriteResult
from integrate.engine.decisions import value
from integrate.engine.stop import StopRequest
from integrate.engine.values import nest
from integrate.errors import ConnectorError
from integrate.state import StateStore

_WRITES = frozenset({"create", "update", "upsert", "move"})
# Calls per connection sent ahead of the oldest one not yet committed: this many times its
# concurrency (the pool is never idle while the oldest is committed).
_AHEAD = 2
# Cursors of pages that wrote nothing, saved together once there are this many.
_LONE_CHECKPOINTS = 10
# Pages a batch short of its limit may hold the cursor back before it is sent as it is.
_STALE_BATCH = 50


@value
class Write:
    """One record's write, and the decision it carries out (for the commit)."""

    decision: Any
    side: str
    connector: Connector
    object: str
    op: str
    limit: int
    values: dict[str, Any]
    id: str | None = None
    keys: tuple[str, ...] = ()
    from_object: str | None = None
    # the record it was decided for (see Applier.pending) and the record it writes
    source: Hashable = None
    one_per_call: bool = False


class Committer(Protocol):
    """What a flow does with decisions: show one when it is decided, and record it (with its
    write's result, when it has one) inside a state transaction."""

    def decided(self, decision: Any) -> None: ...

    def commit(self, decision: Any, result: WriteResult | None) -> None: ...


@dataclass
class _Job:
    seq: int
    write: Write
    item: WriteItem


@dataclass
class _Call:
    """One batch sent: its jobs, and their results (now, or as futures)."""

    jobs: list[_Job]
    futures: list[Future[list[WriteResult]]] = field(default_factory=list)
    results: list[WriteResult] | None = None
    targets: tuple[tuple[str, str, str], ...] = ()

    def done(self) -> bool:
        return self.results is not None or all(f.done() for f in self.futures)

    def collect(self) -> list[WriteResult]:
        if self.results is None:
            out: list[WriteResult] = []
            for future in self.futures:
                out.extend(future.result())
            self.results = out
        return self.results


class Applier:
    """Queues writes per (side, object, operation) and applies them in batches."""

    def __init__(
        self,
        store: StateStore,
        committer: Committer,
        *,
        dry_run: bool,
        stop: StopRequest | None = None,
        executors: dict[int, ThreadPoolExecutor] | None = None,
    ):
        self.store = store
        self.committer = committer
        self.dry_run = dry_run
        self.stop = stop
        self.queues: dict[tuple[str, str, str], list[_Job]] = {}
        self._seq = itertools.count(1)
        self._refs = itertools.count(1)
        self._dry_ids = itertools.count(1)
        self._state: list[Any] = []  # decisions with no write, for the next transaction
        self._checkpoints: list[tuple[int, Any]] = []
        self._inflight: deque[_Call] = deque()
        self._sources: Counter[Hashable] = Counter()  # records with writes not yet committed
        self._busy: Counter[tuple[str, str, str]] = Counter()  # records being written
        # one pool per connector (shared by the flows of a run: the connection's limit)
        self._executors = executors if executors is not None else {}

    # ---- what a flow hands over ---------------------------------------------------------

    def write(self, write: Write) -> None:
        """Queue one write; a full batch is sent."""
        key = (write.side, write.object, write.op)
        jobs = self.queues.setdefault(key, [])
        item = WriteItem(
            ref=next(self._refs),
            values=nest(write.values),
            id=write.id,
            keys=write.keys,
            from_object=write.from_object,
        )
        jobs.append(_Job(next(self._seq), write, item))
        if write.source is not None:
            self._sources[write.source] += 1
        if len(jobs) >= max(1, write.limit):
            self._send(key)

    def state(self, decision: Any) -> None:
        """A decision with no write: shown now, recorded with the next transaction."""
        self.committer.decided(decision)
        self._state.append(decision)
        if len(self._state) >= 1000 and not self._pending():
            self._commit([])

    def checkpoint(self, save: Any) -> None:
        """Save a cursor (a committer's value) once every write decided before it has landed:
        with the transaction of the batch that makes it safe. Pages that write nothing keep
        their cursors for a while, then save them in a transaction of their own."""
        self._checkpoints.append((next(self._seq), save))
        if len(self._checkpoints) < _LONE_CHECKPOINTS:
            return
        if not self._pending():
            self._commit([])
        elif len(self._checkpoints) >= _STALE_BATCH:
            # A batch short of its limit has waited many pages: send it, so that the cursor
            # (and a run killed now) can move past it.
            for key in list(self.queues):
                while self.queues[key]:
                    self._send(key)

    def pending(self, source: Hashable) -> bool:
        """Whether a write decided for this record is queued or in flight, not committed."""
        return self._sources[source] > 0

    def flush(self) -> None:
        """Send everything queued, wait for every call and commit it all."""
        # Moves first: later updates may depend on the record's new place.
        for key in sorted(self.queues, key=lambda k: (k[2] != "move", k)):
            while self.queues[key]:
                self._send(key)
        self._drain(wait=True)
        self._commit([])

    # ---- sending ------------------------------------------------------------------------

    def _pending(self) -> bool:
        return bool(self._inflight) or any(self.queues.values())

    def _send(self, key: tuple[str, str, str]) -> None:
        jobs = self.queues[key]
        first = jobs[0].write
        batch, self.queues[key] = jobs[: first.limit], jobs[first.limit :]
        if not batch:
            return
        _side, obj, op = key
        connector = first.connector
        targets = tuple(
            (j.write.side, j.write.object, j.item.id) for j in batch if j.item.id is not None
        )
        # Two writes to one record are never in flight together.
        while self._inflight and any(self._busy[t] for t in targets):
            self._drain(wait=True, one=True)
        call = _Call(batch, targets=targets)
        items = [j.item for j in batch]
        if self.dry_run:
            call.results = [self._simulate(i, op) for i in items]
        else:
            pool = self._pool(connector)
            if pool is None:
                call.results = _write(connector, obj, op, items)
            else:
                groups = [[i] for i in items] if first.one_per_call else [items]
                call.futures = [pool.submit(_write, connector, obj, op, g) for g in groups]
        for target in targets:
            self._busy[target] += 1
        self._inflight.append(call)
        limit = self._limit_of(connector)
        while self._ahead(connector) > limit * _AHEAD:
            self._drain(wait=True, one=True)
        self._drain(wait=False)

    def _pool(self, connector: Connector) -> ThreadPoolExecutor | None:
        limit = self._limit_of(connector)
        if limit <= 1:
            return None
        pool = self._executors.get(id(connector))
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="integrate-write")
            self._executors[id(connector)] = pool
        return pool

    @staticmethod
    def _limit_of(connector: Connector) -> int:
        return max(1, int(connector.write_concurrency()))

    def _ahead(self, connector: Connector) -> int:
        return sum(len(c.futures) for c in self._inflight if c.jobs[0].write.connector is connector)

    def _simulate(self, item: WriteItem, op: str) -> WriteResult:
        if item.id is not None and op != "create":
            return WriteResult.success(item.ref, item.id)
        return WriteResult.success(item.ref, f"(new {next(self._dry_ids)})", created=True)

    # ---- committing in order ------------------------------------------------------------

    def _drain(self, *, wait: bool, one: bool = False) -> None:
        """Commit the calls whose answers are in, oldest first, in one transaction per run
        of finished calls. Without `wait`, stop at the first still in flight; with it, wait
        for everything (with `one`, for the oldest only)."""
        while self._inflight:
            if not wait and not self._inflight[0].done():
                return
            done: list[tuple[_Job, WriteResult]] = []
            while self._inflight and (not done or self._inflight[0].done()):
                call = self._inflight[0]
                try:
                    results = call.collect()  # waits for the oldest when it must
                except BaseException:
                    if done:
                        self._commit(done)  # what landed before it stands
                    self._abandon()
                    raise
                self._inflight.popleft()
                done.extend(_matched(call, results))
                for target in call.targets:
                    self._busy[target] -= 1
            self._commit(done)
            if one:
                return

    def _abandon(self) -> None:
        """A call failed as a whole: wait for the others (their writes happened) and commit
        them, without moving any cursor past the failed one; then the error goes up."""
        failed = self._inflight.popleft()
        floor = failed.jobs[0].seq
        done: list[tuple[_Job, WriteResult]] = []
        while self._inflight:
            call = self._inflight.popleft()
            try:
                done.extend(_matched(call, call.collect()))
            except BaseException:  # noqa: BLE001  (its own error is less useful than the first)
                continue
        self._checkpoints = [cp for cp in self._checkpoints if cp[0] < floor]
        if done:
            self._commit(done, floor=floor)

    def _min_pending_seq(self) -> int | None:
        seqs = [jobs[0].seq for jobs in self.queues.values() if jobs]
        seqs += [c.jobs[0].seq for c in self._inflight]
        return min(seqs) if seqs else None

    def _commit(self, done: list[tuple[_Job, WriteResult]], floor: int | None = None) -> None:
        if floor is None:
            floor = self._min_pending_seq()
        ready = [cp for cp in self._checkpoints if floor is None or cp[0] < floor]
        if not done and not self._state and not ready:
            return
        with self.store.transaction():
            for job, result in done:
                self.committer.commit(job.write.decision, result)
            for decision in self._state:
                self.committer.commit(decision, None)
            for _seq, save in ready:
                self.committer.commit(save, None)
        for job, _result in done:
            source = job.write.source
            if source is not None:
                self._sources[source] -= 1
                if not self._sources[source]:
                    del self._sources[source]
        self._state = []
        if ready:
            self._checkpoints = [cp for cp in self._checkpoints if cp not in ready]
        if done and self.stop is not None and self.stop.signum is not None:
            # A safe point: the batch is written and committed; finish what is in flight.
            self._drain(wait=True)
            self.stop.check()


def _write(connector: Connector, obj: str, op: str, items: list[WriteItem]) -> list[WriteResult]:
    """One call (in a worker thread when the connection writes several at once)."""
    if op not in _WRITES:
        return connector.act(obj, op, items)
    try:
        return connector.write(obj, op, items)
    except ConnectorError as exc:
        if op != CREATE or exc.code != AMBIGUOUS:
            raise
        # Cut off after it was sent: any of these may have been made. The flow looks for
        # them before it creates them again; the run goes on.
        return [WriteResult.ambiguous(item.ref, str(exc)) for item in items]


def _matched(call: _Call, results: Iterable[WriteResult]) -> list[tuple[_Job, WriteResult]]:
    by_ref = {r.ref: r for r in results}
    out = []
    for job in call.jobs:
        result = by_ref.get(job.item.ref) or WriteResult.failure(
            job.item.ref,
            f"{job.write.connector.plugin} returned no result for this record",
            "NO_RESULT",
        )
        out.append((job, result))
    return out
