"""The applier: writes in flight up to the connection's concurrency, results committed in
the order they were decided, no cursor ahead of a write that has not landed, never two
writes to one record at once. A connector defined here plays the system: it answers each
call when the test lets it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from integrate import Connector, ConnectorContext, ConnectorError, ObjectInfo, Page
from integrate.connector import WriteItem, WriteResult
from integrate.engine.apply import Applier, Write
from integrate.state import StateStore


class Slow(Connector):
    """Each write call waits until the test releases its batch (by its first value)."""

    plugin = "slow"

    def __init__(self, concurrency: int):
        super().__init__({}, ConnectorContext(connection="slow"))
        self.concurrency = concurrency
        self.gates: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.calls = 0  # calls in flight now, and the most at once
        self.most = 0
        self.records: list[str] = []  # ids being written now
        self.together: list[list[str]] = []  # the ids in flight when each call began
        self.fail_on: str | None = None

    def gate(self, name: str) -> threading.Event:
        with self.lock:
            return self.gates.setdefault(name, threading.Event())

    def write_concurrency(self) -> int:
        return self.concurrency

    def describe(self, object: str) -> ObjectInfo:
        return ObjectInfo(object)

    def read(self, object: str, **_kw: Any) -> Iterator[Page]:
        yield Page([])

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        name = str(items[0].values["n"])
        ids = [str(i.id) for i in items if i.id]
        with self.lock:
            self.together.append([*ids, *self.records])
            self.records += ids
            self.calls += 1
            self.most = max(self.most, self.calls)
        assert self.gate(name).wait(timeout=10)
        with self.lock:
            self.calls -= 1
            for id_ in ids:
                self.records.remove(id_)
        if name == self.fail_on:
            raise ConnectorError("slow: the call failed", code="500")
        return [WriteResult.success(i.ref, i.id or f"new-{i.values['n']}") for i in items]


class Log:
    """A committer that writes down what it was given, in order."""

    def __init__(self) -> None:
        self.committed: list[Any] = []

    def decided(self, decision: Any) -> None:
        pass

    def commit(self, decision: Any, result: WriteResult | None) -> None:
        self.committed.append(decision)


@pytest.fixture
def store() -> Iterator[StateStore]:
    s = StateStore(":memory:", "test")
    yield s
    s.close()


def write(connector: Slow, n: str, *, id: str | None = None, limit: int = 1) -> Write:
    return Write(
        f"write {n}",
        "target",
        connector,
        "things",
        "update" if id else "create",
        limit,
        {"n": n},
        id=id,
    )


def test_calls_go_in_flight_together_and_commit_in_the_order_decided(store: StateStore) -> None:
    slow = Slow(concurrency=3)
    log = Log()
    applier = Applier(store, log, dry_run=False)
    for n in "abc":
        applier.write(write(slow, n))
    applier.checkpoint("cursor after c")
    # c answers first, then b, then a: nothing is committed before a
    slow.gate("c").set()
    slow.gate("b").set()
    threading.Timer(0.2, slow.gate("a").set).start()

    applier.flush()

    assert slow.most == 3
    assert log.committed == ["write a", "write b", "write c", "cursor after c"]


def test_a_cursor_waits_for_the_writes_decided_before_it(store: StateStore) -> None:
    slow = Slow(concurrency=2)
    log = Log()
    applier = Applier(store, log, dry_run=False)
    applier.write(write(slow, "a"))
    applier.checkpoint("cursor after a")
    applier.write(write(slow, "b"))
    slow.gate("b").set()
    applier._drain(wait=False)  # b is in, a is not: neither may be committed

    assert "cursor after a" not in log.committed
    slow.gate("a").set()
    applier.flush()
    # with a's transaction, never before it
    assert log.committed.index("cursor after a") > log.committed.index("write a")


def test_two_writes_to_one_record_are_never_in_flight_together(store: StateStore) -> None:
    slow = Slow(concurrency=4)
    slow.gate("second").set()
    slow.gate("other").set()
    threading.Timer(0.3, slow.gate("first").set).start()  # the first write of r1 is slow
    applier = Applier(store, Log(), dry_run=False)
    applier.write(write(slow, "first", id="r1"))
    applier.write(write(slow, "other", id="r2"))
    applier.write(write(slow, "second", id="r1"))

    applier.flush()

    assert len(slow.together) == 3
    assert all(ids.count("r1") <= 1 for ids in slow.together)  # second began after first


def test_a_short_batch_that_holds_the_cursor_back_for_many_pages_is_sent(
    store: StateStore,
) -> None:
    slow = Slow(concurrency=2)
    slow.gate("lonely").set()
    log = Log()
    applier = Applier(store, log, dry_run=False)
    applier.write(write(slow, "lonely", limit=100))  # a batch of 100 with one record in it
    for page in range(60):
        applier.checkpoint(f"page {page}")
    applier._drain(wait=True)

    assert "write lonely" in log.committed
    assert "page 40" in log.committed  # the cursor moved on without the run's end


def test_a_call_that_fails_commits_the_others_and_no_cursor_past_it(store: StateStore) -> None:
    slow = Slow(concurrency=3)
    slow.fail_on = "b"
    log = Log()
    applier = Applier(store, log, dry_run=False)
    applier.write(write(slow, "a"))
    applier.checkpoint("cursor after a")
    applier.write(write(slow, "b"))
    applier.checkpoint("cursor after b")
    applier.write(write(slow, "c"))
    for n in "abc":
        slow.gate(n).set()

    with pytest.raises(ConnectorError, match="the call failed"):
        applier.flush()

    assert log.committed[:2] == ["write a", "cursor after a"]
    assert "write c" in log.committed  # it landed: its link is kept
    assert "cursor after b" not in log.committed
