"""The state store's links: one per record pair, a relinked record drops its older link."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from integrate.engine.values import same
from integrate.links import Digest, Link
from integrate.state import StateStore


def _store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state.db", "spec")


def _link(a: str, b: str) -> Link:
    return Link(a, b, "accounts", "companies", {"name": a}, {"name": b})


def test_a_record_linked_again_keeps_only_its_newest_link_on_either_side(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.transaction():
        store.save_link("f", _link("a1", "b1"), 1)
        store.save_link("f", _link("a2", "b2"), 1)
    with store.transaction():
        store.save_link("f", _link("a1", "b2"), 2)  # a1 moves to b2: a2's link to b2 goes

    by_a = store.links("f", 0, [("accounts", "a1"), ("accounts", "a2")])
    assert {key: link.b_id for key, link in by_a.items()} == {("accounts", "a1"): "b2"}
    by_b = store.links("f", 1, [("companies", "b1"), ("companies", "b2")])
    assert {key: link.a_id for key, link in by_b.items()} == {("companies", "b2"): "a1"}


def test_links_are_found_by_object_and_id_together(tmp_path: Path) -> None:
    store = _store(tmp_path)
    other = Link("a1", "b9", "contacts", "users", {}, {})
    with store.transaction():
        store.save_link("f", _link("a1", "b1"), 1)
        store.save_link("f", other, 1)
    found = store.links("f", 0, [("contacts", "a1")])
    assert list(found) == [("contacts", "a1")]
    assert found[("contacts", "a1")].b_id == "b9"
    assert store.links("f", 0, [("leads", "a1")]) == {}


def test_saving_the_same_link_again_updates_its_values(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.transaction():
        store.save_link("f", _link("a1", "b1"), 1)
    changed = Link("a1", "b1", "accounts", "companies", {"name": "new"}, {"name": "new"})
    with store.transaction():
        store.save_link("f", changed, 2)
    link = store.link("f", 0, "accounts", "a1")
    assert link is not None
    assert link.a_values == {"name": "new"}


def test_a_sync_flows_link_keeps_short_values_and_digests_of_long_ones(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db", "demo")
    long = "a value longer than a digest"
    link = Link("s1", "t1", "accounts", "companies", {}, {"n": 12, "name": long, "v": None})
    store.save_link("flow", link, 1, compact=True)

    [back] = store.links("flow", 0, [("accounts", "s1")]).values()

    assert back.b_values["n"] == 12
    assert back.b_values["v"] is None
    assert isinstance(back.b_values["name"], Digest)
    assert same(long, back.b_values["name"])
    assert not same(long + "!", back.b_values["name"])
    (size,) = store.db.execute("SELECT length(b_values) FROM links").fetchone()
    assert size < 30
    store.close()


def test_a_state_file_an_older_version_wrote_is_converted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE links(integration TEXT NOT NULL, flow TEXT NOT NULL, a_id TEXT NOT NULL,
          b_id TEXT NOT NULL, a_object TEXT NOT NULL, b_object TEXT NOT NULL,
          a_values TEXT NOT NULL, b_values TEXT NOT NULL, run_id INTEGER,
          updated_at TEXT NOT NULL, PRIMARY KEY(integration, flow, a_object, a_id));
        CREATE UNIQUE INDEX links_by_b ON links(integration, flow, b_object, b_id);
        INSERT INTO links VALUES ('demo', 'accounts', 's1', 't1', 'Accounts', 'accounts',
          '{}', '{"name":"Acme Ltd","city":"Leeds"}', 3, '2026-01-01');
        INSERT INTO links VALUES ('other', 'accounts', 's1', 't9', 'Accounts', 'accounts',
          '{}', '{}', 3, '2026-01-01');
        """
    )
    db.close()

    store = StateStore(path, "demo")
    [back] = store.links("accounts", 0, [("Accounts", "s1")]).values()

    assert (back.b_id, back.b_values) == ("t1", {"name": "Acme Ltd", "city": "Leeds"})
    assert store.count_links() == {"accounts": 1}
    assert StateStore(path, "other").linked_to("accounts", 0, "s1") == "t9"
    store.close()


def test_links_an_older_version_kept_in_id_order_are_kept_in_write_order_after_open(
    tmp_path: Path,
) -> None:
    """Versions up to 0.10 kept links WITHOUT ROWID; opening such a file converts the table,
    links and snapshots as they were, and a relinked record still drops its older link."""
    path = tmp_path / "state.db"
    first = StateStore(path, "demo")
    with first.transaction():
        first.save_link("accounts", _link("a1", "b1"), 1)
        first.save_link("accounts", _link("a2", "b2"), 1)
    first.close()
    db = sqlite3.connect(path)
    rows = db.execute("SELECT * FROM links ORDER BY a_id").fetchall()
    db.executescript(
        """
        DROP TABLE links;
        CREATE TABLE links(flow INTEGER NOT NULL, a_object INTEGER NOT NULL, a_id TEXT NOT NULL,
          b_object INTEGER NOT NULL, b_id TEXT NOT NULL, a_values BLOB NOT NULL,
          b_values BLOB NOT NULL, run_id INTEGER, PRIMARY KEY(flow, a_object, a_id))
          WITHOUT ROWID;
        CREATE UNIQUE INDEX links_by_b ON links(flow, b_object, b_id);
        """
    )
    db.executemany("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()

    store = StateStore(path, "demo")
    found = store.links("accounts", 0, [("accounts", "a1"), ("accounts", "a2")])
    with store.transaction():
        store.save_link("accounts", _link("a1", "b2"), 2)  # a1 moves to b2: a2's link goes
    after = store.links("accounts", 1, [("companies", "b1"), ("companies", "b2")])
    (sql,) = store.db.execute("SELECT sql FROM sqlite_master WHERE name = 'links'").fetchone()
    indexes = {
        r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    store.close()

    assert {k: (v.b_id, v.a_values, v.b_values) for k, v in found.items()} == {
        ("accounts", "a1"): ("b1", {"name": "a1"}, {"name": "b1"}),
        ("accounts", "a2"): ("b2", {"name": "a2"}, {"name": "b2"}),
    }
    assert {k: v.a_id for k, v in after.items()} == {("companies", "b2"): "a1"}
    assert "WITHOUT ROWID" not in sql.upper()
    assert {"links_by_a", "links_by_b"} <= indexes


def test_records_an_older_version_held_stay_held_and_new_ones_keep_their_code(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE held(integration TEXT NOT NULL, flow TEXT NOT NULL, side TEXT NOT NULL,
          source_id TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
          record TEXT NOT NULL, candidates TEXT, resolution TEXT,
          attempts INTEGER NOT NULL DEFAULT 1, first_seen TEXT NOT NULL,
          last_seen TEXT NOT NULL, run_id INTEGER,
          PRIMARY KEY(integration, flow, side, source_id));
        INSERT INTO held(integration, flow, side, source_id, kind, reason, record, first_seen,
          last_seen) VALUES ('demo', 'accounts', 'crm', 'a1', 'queue', 'no record matches',
          '{"name":"Acme"}', '2026-01-01', '2026-01-01');
        """
    )
    db.close()

    store = StateStore(path, "demo")
    store.hold(
        "accounts", "crm", "a2", "queue", "its create got no clear answer", {}, 1, code="AMBIGUOUS"
    )
    held = {h.source_id: (h.reason, h.record, h.code) for h in store.held("accounts")}
    store.close()

    assert held == {
        "a1": ("no record matches", {"name": "Acme"}, ""),
        "a2": ("its create got no clear answer", {}, "AMBIGUOUS"),
    }
