"""The state store's links: one per record pair, a relinked record drops its older link."""

from __future__ import annotations

from pathlib import Path

from integrate.state import Link, StateStore


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
