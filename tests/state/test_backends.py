"""The state store's behaviour, the same on both backends: a SQLite file and a PostgreSQL
database (a real server: the `pg_url` fixture, a fresh database per test). Each test runs
once per backend; what a run, an operator and serve rely on must not depend on which."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from integrate import Notice
from integrate.errors import RunLocked, StateError
from integrate.ledger import EventLedger
from integrate.links import Digest, Link
from integrate.metacache import StateEntries
from integrate.secrets import REDACTOR
from integrate.state import StateStore
from integrate.statedb import PgConnection, PostgresError, connect
from integrate.stateschema import SCHEMA_VERSION
from integrate.tokencache import StateTokenCache


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the state lives: a file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "state.db")
    else:
        yield request.getfixturevalue("pg_url")


def _link(a: str, b: str, obj: str = "accounts") -> Link:
    return Link(a, b, obj, "companies", {"name": a}, {"name": b})


def test_runs_are_numbered_per_integration_and_keep_their_worker(location: str) -> None:
    alpha, beta = StateStore(location, "alpha"), StateStore(location, "beta")
    try:
        first = alpha.start_run(trigger="manual", dry_run=False, plugins={})
        other = beta.start_run(trigger="schedule", dry_run=False, plugins={}, worker="w2")
        second = alpha.start_run(trigger="enqueue", dry_run=False, plugins={"files": {}})
        alpha.finish_run(second, "succeeded", {"read": 3}, "done")
        assert (first, other, second) == (1, 1, 2)
        runs = alpha.runs()
        assert [(r["run_id"], r["status"], r["trigger"]) for r in runs] == [
            (2, "succeeded", "enqueue"),
            (1, "running", "manual"),
        ]
        assert runs[0]["stats"] == {"read": 3}
        assert beta.runs()[0]["worker"] == "w2"
    finally:
        alpha.close()
        beta.close()


def _failing_batch(store: StateStore) -> None:
    with store.transaction():
        store.set_cursor("f", "a", {"since": "2026-06-01"})
        store.save_link("f", _link("a2", "b2"), 2)
        store.hold("f", "a", "a3", "queue", "why", {"id": "a3"}, 2)
        raise RuntimeError("the batch failed")


def test_a_batch_commits_whole_or_not_at_all(location: str) -> None:
    store = StateStore(location, "demo")
    try:
        with store.transaction():
            store.set_cursor("f", "a", {"since": "2026-01-01"})
            store.save_link("f", _link("a1", "b1"), 1)
        with pytest.raises(RuntimeError):
            _failing_batch(store)
        assert store.cursor("f", "a") == {"since": "2026-01-01"}
        assert store.count_links() == {"f": 1}
        assert store.held() == []
    finally:
        store.close()


def test_a_record_linked_again_keeps_only_its_newest_link_on_either_side(location: str) -> None:
    store = StateStore(location, "demo")
    try:
        with store.transaction():
            store.save_link("f", _link("a1", "b1"), 1)
            store.save_link("f", _link("a2", "b2"), 1)
        with store.transaction():
            store.save_link("f", _link("a1", "b2"), 2)  # a1 moves to b2: a2's link goes
            store.save_link("f", _link("a9", "b9"), 2)
            store.save_link("f", _link("a9", "b8"), 2)  # twice in one batch: the last stands
        by_a = store.links("f", 0, [("accounts", "a1"), ("accounts", "a2"), ("accounts", "a9")])
        assert {k[1]: v.b_id for k, v in by_a.items()} == {"a1": "b2", "a9": "b8"}
        assert store.linked_to("f", 1, "b2") == "a1"
        assert store.linked_to("f", 1, "b9") is None
        assert sorted(store.pairs("f", not_b_object="users")) == [
            ("a1", "b2", "accounts"),
            ("a9", "b8", "accounts"),
        ]
        assert store.links("f", 0, [("leads", "a1")]) == {}
    finally:
        store.close()


def test_links_keep_short_values_and_digests_of_long_ones(location: str) -> None:
    store = StateStore(location, "demo")
    try:
        long = "x" * 40
        with store.transaction():
            store.save_link(
                "f",
                Link("a1", "b1", "A", "B", {"n": 1, "s": long}, {"n": 1.0}),
                1,
                compact=True,
            )
        link = store.link("f", 0, "A", "a1")
        assert link is not None
        assert link.a_values["n"] == 1
        assert isinstance(link.a_values["s"], Digest)
        assert long not in repr(link.a_values)
    finally:
        store.close()


def test_held_records_are_queued_resolved_and_released(location: str) -> None:
    store = StateStore(location, "demo")
    try:
        store.hold("f", "a", "s1", "queue", "no match", {"id": "s1"}, 1, [{"id": "t1"}])
        store.hold("f", "a", "s1", "queue", "no match", {"id": "s1"}, 2)  # seen again
        store.hold("f", "a", "s2", "defer", "waits for its parent", {"id": "s2"}, 2)
        held = store.resolve("f", "s1", {"action": "create"})
        assert held.resolution == {"action": "create"}
        [queued] = store.held("f", kinds=("queue",))
        assert (queued.attempts, queued.candidates, queued.resolution) == (
            2,
            [{"id": "t1"}],
            {"action": "create"},
        )
        assert store.counts()["held"] == {"f": {"queue": 1, "defer": 1}}
        store.release("f", "a", "s1")
        assert [h.source_id for h in store.held()] == ["s2"]
        with pytest.raises(StateError, match="no pending record 'nope'"):
            store.resolve("f", "nope", {})
    finally:
        store.close()


def test_failures_are_kept_with_secrets_redacted(location: str) -> None:
    REDACTOR.register("hunter2-canary")
    store = StateStore(location, "demo")
    try:
        store.add_failure(
            run_id=1,
            flow="f",
            side="a",
            source_id="7",
            stage="write",
            code="INVALID",
            message="refused: token hunter2-canary",
            location="f.fields.name",
            record={"id": "7", "key": "hunter2-canary"},
        )
        [failure] = store.failures()
        assert failure["code"] == "INVALID"
        assert "hunter2-canary" not in failure["message"]
        db = connect(location)
        try:
            rows = db.execute("SELECT message, record FROM failures").fetchall()
        finally:
            db.close()
        assert "hunter2-canary" not in repr(rows)
    finally:
        store.close()


def test_a_reset_forgets_one_flow_and_keeps_history(location: str) -> None:
    store = StateStore(location, "demo")
    try:
        run = store.start_run(trigger="manual", dry_run=False, plugins={})
        with store.transaction():
            for flow in ("f", "g"):
                store.set_cursor(flow, "a", 1)
                store.save_link(flow, _link("a1", "b1"), run)
                store.mark_seen(flow, "a1", "notes", "n1")
        counts = store.reset("f")
        assert (counts["links"], counts["flow_state"], counts["seen"]) == (1, 1, 1)
        assert store.count_links() == {"g": 1}
        assert store.seen_related("g", "a1", "notes") == {"n1"}
        assert store.cursor("f", "a") is None
        assert len(store.runs()) == 1
    finally:
        store.close()


def test_one_run_of_an_integration_at_a_time_and_a_dead_runs_row_is_marked(
    location: str,
) -> None:
    first = StateStore(location, "demo", lock=True)
    first.start_run(trigger="manual", dry_run=False, plugins={})
    other = StateStore(location, "other", lock=True)  # another integration: its own lock
    other.close()
    assert StateStore.run_going(location, "demo")
    with pytest.raises(RunLocked, match="another run of 'demo' is in progress"):
        StateStore(location, "demo", lock=True)
    first.close()  # as a process's death would: the lock goes with it, the row stays
    assert not StateStore.run_going(location, "demo")

    second = StateStore(location, "demo", lock=True)
    try:
        [orphan] = second.runs()
        assert orphan["status"] == "interrupted"
        assert "killed?" in orphan["message"]
    finally:
        second.close()


def test_a_dry_runs_copy_writes_nothing(location: str) -> None:
    store = StateStore(location, "demo")
    with store.transaction():
        store.set_cursor("f", "a", 1)
    store.close()
    dry = StateStore.snapshot(location if "://" in location else Path(location), "demo")
    try:
        with dry.transaction():
            dry.set_cursor("f", "a", 2)
            dry.save_link("f", _link("a1", "b1"), 1)
        assert dry.cursor("f", "a") == 2  # the plan sees its own writes
        StateTokenCache(dry).save("zoho", {"access_token": "t", "expires_at": 1.0})
    finally:
        dry.close()
    again = StateStore(location, "demo")
    try:
        assert again.cursor("f", "a") == 1
        assert again.count_links() == {}
        assert StateTokenCache(again).load("zoho") is None
    finally:
        again.close()


def test_tokens_and_metadata_are_kept_for_the_next_run(location: str) -> None:
    store = StateStore(location, "demo")
    try:
        StateTokenCache(store).save("zoho", {"access_token": "t1", "expires_at": 1_800_000_000.5})
        StateEntries(store).save("fields:Accounts", "[]", 10.0, 3610.0)
    finally:
        store.close()
    later = StateStore(location, "demo")
    try:
        assert StateTokenCache(later).load("zoho") == {
            "access_token": "t1",
            "expires_at": 1_800_000_000.5,
        }
        assert StateEntries(later).load("fields:Accounts") == ("[]", 10.0, 3610.0)
    finally:
        later.close()


def test_one_token_refresh_at_a_time_across_stores(location: str) -> None:
    """Two processes' caches (two stores here): the second waits for the first's refresh."""
    one, two = StateStore(location, "a"), StateStore(location, "b")
    order: list[str] = []
    inside = threading.Event()
    try:
        first, second = StateTokenCache(one), StateTokenCache(two)

        def refresh() -> None:
            with second.lock("zoho"):
                order.append("second")

        with first.lock("zoho"):
            waiter = threading.Thread(target=refresh)
            waiter.start()
            inside.wait(0.5)  # time for the second to block on the lock, were it free
            order.append("first")
        waiter.join(10)
        assert order == ["first", "second"]
    finally:
        one.close()
        two.close()


def test_a_notification_delivered_twice_is_kept_once(location: str) -> None:
    ledger = EventLedger(location if "://" in location else Path(location), "demo")
    try:
        notice = Notice("ch1", "tok", "Accounts", "updated", ("1",), "k1")
        assert ledger.record("accounts", "zoho", notice) is True
        assert ledger.record("accounts", "zoho", notice) is False  # another serve, same call
        assert ledger.pending("accounts")[0] == 1
        # the run that answers it (whoever runs it) marks it applied when it commits
        store = StateStore(location, "demo")
        try:
            waiting = store.events_waiting(["accounts", "other"])
            assert waiting == {"accounts": ledger.pending("accounts")[1]}
            assert store.events_applied(waiting, 7) == 1
        finally:
            store.close()
        assert ledger.pending("accounts")[0] == 0
        assert ledger.counts() == {"accounts": {"pending": 0, "applied": 1}}
    finally:
        ledger.close()


def test_the_schema_is_this_versions_and_a_newer_one_is_refused(location: str) -> None:
    StateStore(location, "demo").close()
    db = connect(location)
    try:
        [(version,)] = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        assert int(version) == SCHEMA_VERSION
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    finally:
        db.close()
    with pytest.raises(StateError, match="written by a newer integrate"):
        StateStore(location, "demo")


def test_a_state_of_the_version_before_is_migrated_on_open(location: str) -> None:
    """A state version 2 wrote (no `runs.worker`) gains the column, keeping its runs."""
    store = StateStore(location, "demo")
    store.finish_run(store.start_run(trigger="manual", dry_run=False, plugins={}), "succeeded", {})
    store.close()
    db = connect(location)
    try:
        db.execute("ALTER TABLE runs DROP COLUMN worker")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    finally:
        db.close()

    again = StateStore(location, "demo")
    try:
        run = again.start_run(trigger="enqueue", dry_run=False, plugins={}, worker="w1")
        assert [(r["run_id"], r["worker"]) for r in again.runs()] == [(run, "w1"), (1, None)]
    finally:
        again.close()
    db = connect(location)
    try:
        [(version,)] = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    finally:
        db.close()
    assert version == str(SCHEMA_VERSION)


def test_a_link_replaced_in_its_own_batch_still_replaced_the_older_ones(location: str) -> None:
    store = StateStore(location, "demo")
    try:
        with store.transaction():
            store.save_link("f", _link("a1", "b1"), 1)
        with store.transaction():
            store.save_link("f", _link("a2", "b1"), 2)  # b1 moves to a2: a1's link goes
            store.save_link("f", _link("a2", "b2"), 2)  # then a2 moves on to b2
        assert sorted(store.pairs("f", not_b_object="users")) == [("a2", "b2", "accounts")]
        assert store.linked_to("f", 1, "b1") is None
    finally:
        store.close()


def test_a_lost_database_connection_is_one_line_without_the_password(pg_url: str) -> None:
    import psycopg

    store = StateStore(pg_url, "demo", lock=True)
    try:
        run = store.start_run(trigger="manual", dry_run=False, plugins={})
        with psycopg.connect(pg_url, autocommit=True) as admin:  # the server drops the store
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        for batch in range(2):  # the statement that finds it gone, then one after
            with pytest.raises(StateError) as lost, store.transaction():
                store.set_cursor("f", "a", {"batch": batch})
            message = str(lost.value)
            assert "\n" not in message
            assert "the connection to the state database postgresql://" in message
            assert "was lost" in message
            assert "the run stopped there" in message
            assert str(urlsplit(pg_url).password) not in message
        with pytest.raises(StateError, match="was lost"):
            store.finish_run(run, "failed", {}, "lost")
    finally:
        store.close()


def test_asking_whether_a_run_is_going_fails_as_a_state_error(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(*_: object) -> None:
        raise PostgresError("server closed the connection unexpectedly", lost=True)

    monkeypatch.setattr(PgConnection, "execute", gone)  # lost between connecting and asking

    with pytest.raises(StateError, match="was lost") as lost:
        StateStore.run_going(pg_url, "demo")
    assert str(urlsplit(pg_url).password) not in str(lost.value)
