"""The files plugin through its public connector API: formats, writes, crash safety."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrate import ConnectorContext, PluginError, WriteItem
from integrate_files import FilesConnector, FilesEmulator


def connector(path: Path, **config: Any) -> FilesConnector:
    return FilesConnector({"path": str(path), **config}, ConnectorContext(connection="t"))


def items(*values: dict[str, Any], **kw: Any) -> list[WriteItem]:
    return [WriteItem(ref=i, values=v, **kw) for i, v in enumerate(values)]


def read_all(c: FilesConnector, obj: str, since: Any = None) -> list[dict[str, Any]]:
    return [r for page in c.read(obj, since=since) for r in page.records]


def test_create_assigns_ids_and_refuses_duplicates(tmp_path: Path) -> None:
    c = connector(tmp_path)
    first = c.write(
        "people", "create", items({"name": "a"}, {"name": "b"}, {"id": "7", "name": "c"})
    )
    again = c.write("people", "create", items({"id": "7", "name": "dup"}, {"name": "d"}))
    c.close()

    assert [r.id for r in first] == ["1", "2", "7"]
    assert (again[0].ok, again[0].code) == (False, "DUPLICATE_ID")
    assert again[1].id == "8"
    assert [r["name"] for r in read_all(connector(tmp_path), "people")] == ["a", "b", "c", "d"]


def test_update_merges_nested_fields_and_keeps_the_rest(tmp_path: Path) -> None:
    c = connector(tmp_path)
    c.write(
        "acc", "create", items({"name": "a", "address": {"city": "X", "zip": "1"}, "extra": True})
    )
    [result] = c.write("acc", "update", items({"address": {"city": "Y"}}, id="1"))
    missing = c.write("acc", "update", items({"name": "z"}, id="404"))

    assert result.ok
    assert read_all(c, "acc") == [
        {"name": "a", "address": {"city": "Y", "zip": "1"}, "extra": True, "id": "1"}
    ]
    assert (missing[0].ok, missing[0].code) == (False, "NOT_FOUND")
    c.close()
    assert not (tmp_path / "acc.jsonl.changes.jsonl").exists()  # compacted at close
    assert read_all(connector(tmp_path), "acc")[0]["address"] == {"city": "Y", "zip": "1"}


def test_upsert_by_key_updates_or_creates(tmp_path: Path) -> None:
    c = connector(tmp_path)
    c.write("acc", "create", items({"email": "a@x", "n": 1}))
    results = c.write(
        "acc", "upsert", items({"email": "a@x", "n": 2}, {"email": "b@x", "n": 3}, keys=("email",))
    )
    c.close()

    assert [(r.id, r.created) for r in results] == [("1", False), ("2", True)]
    assert [(r["email"], r["n"]) for r in read_all(connector(tmp_path), "acc")] == [
        ("a@x", 2),
        ("b@x", 3),
    ]


def test_move_takes_a_record_to_another_object(tmp_path: Path) -> None:
    c = connector(tmp_path)
    c.write("leads", "create", items({"email": "a@x", "stage": "new"}))
    [moved] = c.write(
        "contacts", "move", [WriteItem(0, {"stage": "won"}, id="1", from_object="leads")]
    )
    c.close()

    reader = connector(tmp_path)
    assert moved.ok
    assert read_all(reader, "leads") == []
    assert read_all(reader, "contacts") == [{"email": "a@x", "stage": "won", "id": "1"}]


def test_incremental_reads_follow_the_cursor_field_and_writes_stamp_it(tmp_path: Path) -> None:
    c = connector(tmp_path, cursor_field="changed")
    c.write("acc", "create", items({"name": "a"}, {"name": "b"}))
    pages = list(c.read("acc"))
    cursor = pages[-1].cursor
    c.write("acc", "update", items({"name": "b2"}, id="2"))

    changed = read_all(c, "acc", since=cursor)

    assert [r["name"] for r in changed] == ["b2"]
    assert changed[0]["changed"] > cursor


def test_pages_respect_the_page_size(tmp_path: Path) -> None:
    c = connector(tmp_path, page_size=2)
    c.write("acc", "create", items(*({"n": i} for i in range(5))))

    assert [len(p.records) for p in c.read("acc")] == [2, 2, 1]
    assert c.describe("acc").page_size == 2


def test_csv_objects_round_trip_nested_fields(tmp_path: Path) -> None:
    c = connector(tmp_path, format="csv")
    c.write(
        "acc",
        "create",
        items({"name": 'Zürich, "AG"', "address": {"city": "Zürich"}}, {"name": "b"}),
    )
    c.write("acc", "update", items({"address": {"city": "Bern"}, "note": "line1\nline2"}, id="2"))
    c.close()

    text = (tmp_path / "acc.csv").read_text()
    assert text.splitlines()[0] == "name,address.city,id,note"
    rows = read_all(connector(tmp_path, format="csv"), "acc")
    assert rows == [
        {"name": 'Zürich, "AG"', "address": {"city": "Zürich"}, "id": "1", "note": None},
        {"name": "b", "address": {"city": "Bern"}, "id": "2", "note": "line1\nline2"},
    ]


def test_a_torn_last_line_left_by_a_killed_writer_is_cut_off(tmp_path: Path) -> None:
    (tmp_path / "acc.jsonl").write_text('{"id": "1", "n": 1}\n{"id": "2", "n"')
    c = connector(tmp_path)

    assert read_all(c, "acc") == [{"id": "1", "n": 1}]
    [made] = c.write("acc", "create", items({"n": 3}))

    assert made.id == "2"
    assert (tmp_path / "acc.jsonl").read_text() == '{"id": "1", "n": 1}\n{"n":3,"id":"2"}\n'


def test_changes_left_by_a_killed_run_are_applied_on_the_next_read(tmp_path: Path) -> None:
    (tmp_path / "acc.jsonl").write_text('{"id": "1", "n": 1}\n{"id": "2", "n": 2}\n')
    (tmp_path / "acc.jsonl.changes.jsonl").write_text(
        '{"id": "2", "n": 20}\n{"id": "1", "$deleted": true}\n'
    )

    assert read_all(connector(tmp_path), "acc") == [{"id": "2", "n": 20}]


def test_actions_append_to_a_list_field_and_related_lists_follow_a_field(tmp_path: Path) -> None:
    c = connector(
        tmp_path,
        actions={"comment": "comments"},
        related={"accounts": {"Deals": {"object": "deals", "field": "account.id"}}},
    )
    c.write("accounts", "create", items({"name": "a"}))
    c.write(
        "deals",
        "create",
        items({"title": "d1", "account": {"id": "1"}}, {"title": "d2", "account": {"id": "9"}}),
    )
    [done] = c.act("accounts", "comment", items({"text": "hello"}, id="1"))

    assert done.ok
    assert read_all(c, "accounts")[0]["comments"] == [{"text": "hello"}]
    assert [r["title"] for p in c.related("accounts", "1", "Deals") for r in p.records] == ["d1"]
    assert c.describe("accounts").supports("comment")
    with pytest.raises(PluginError, match="no action 'attach'"):
        c.act("accounts", "attach", items({}, id="1"))


def test_object_names_cannot_leave_the_folder(tmp_path: Path) -> None:
    c = connector(tmp_path / "data")

    with pytest.raises(KeyError):
        c.describe("../outside")
    with pytest.raises(PluginError, match="must be inside"):
        connector(tmp_path / "data", objects={"x": {"file": "../../etc/passwd"}}).describe("x")


def test_emulator_seeds_and_reads_a_throwaway_folder() -> None:
    with FilesEmulator(cursor_field="changed") as emulator:
        stored = emulator.seed("acc", [{"name": "a"}])
        folder = emulator.path
        assert emulator.records("acc") == stored
        assert emulator.connection_config() == {"path": str(folder), "cursor_field": "changed"}
        assert "changed" in stored[0]
    assert not folder.exists()
