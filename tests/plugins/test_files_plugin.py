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


# ---- lines that hold no record, links, catalogues ----------------------------------------------


def test_a_bad_line_is_handed_over_as_a_bad_record_and_the_read_goes_on(tmp_path: Path) -> None:
    base = tmp_path / "acc.jsonl"
    base.write_text('{"id": "1"}\n{"id": "2",\n"text"\n{"id": "3"}\n')

    pages = list(connector(tmp_path, page_size=1).read("acc"))

    assert [r["id"] for p in pages for r in p.records] == ["1", "3"]
    bad = [b for p in pages for b in p.failures]
    assert [(b.where, b.raw, b.code) for b in bad] == [
        (f"{base}:2", '{"id": "2",', "BAD_RECORD"),
        (f"{base}:3", '"text"', "BAD_RECORD"),
    ]
    assert bad[1].message == (
        "not a record: each line must hold one JSON object {...}, this one holds a text"
    )


def test_a_bad_line_of_the_changes_file_is_handed_over_too(tmp_path: Path) -> None:
    (tmp_path / "acc.jsonl").write_text('{"id": "1", "n": 1}\n')
    changes = tmp_path / "acc.jsonl.changes.jsonl"
    changes.write_text('{"n": 5}\n{"id": "1", "n": 2}\n')

    [page] = connector(tmp_path).read("acc")

    assert page.records == [{"id": "1", "n": 2}]
    assert [(b.where, b.message) for b in page.failures] == [
        (f"{changes}:1", "a newer version without its 'id'")
    ]


def test_a_file_with_a_bad_line_is_not_compacted_so_the_line_is_kept(tmp_path: Path) -> None:
    (tmp_path / "acc.jsonl").write_text('{"id": "1", "n": 1}\nnot json\n')
    c = connector(tmp_path)
    c.write("acc", "update", items({"n": 2}, id="1"))

    c.close()

    assert (tmp_path / "acc.jsonl").read_text() == '{"id": "1", "n": 1}\nnot json\n'
    assert [r["n"] for r in read_all(connector(tmp_path), "acc")] == [2]


def test_a_last_line_without_its_newline_is_a_record_and_a_write_ends_it(tmp_path: Path) -> None:
    base = tmp_path / "acc.jsonl"
    base.write_text('{"id": "1", "n": 1}\n{"id": "2", "n": 2}')
    c = connector(tmp_path)

    assert [r["id"] for r in read_all(c, "acc")] == ["1", "2"]
    assert base.read_text().endswith('"n": 2}')  # reading changes nothing
    [made] = c.write("acc", "create", items({"n": 3}))

    assert made.id == "3"
    assert base.read_text().splitlines() == [
        '{"id": "1", "n": 1}',
        '{"id": "2", "n": 2}',
        '{"n":3,"id":"3"}',
    ]


def test_csv_a_last_row_without_its_newline_is_read_and_kept(tmp_path: Path) -> None:
    (tmp_path / "acc.csv").write_text("id,name\n1,a\n2,b")
    c = connector(tmp_path, format="csv")

    assert [r["name"] for r in read_all(c, "acc")] == ["a", "b"]
    c.write("acc", "create", items({"name": "c"}))

    assert (tmp_path / "acc.csv").read_text() == "id,name\n1,a\n2,b\n3,c\n"


def test_csv_broken_rows_are_handed_over_with_their_line(tmp_path: Path) -> None:
    base = tmp_path / "acc.csv"
    base.write_bytes(b'id,name\n1,a\n2,"b\n3,c,extra\n4,\xff\n5,"e"x\n6,f\n')

    [page] = connector(tmp_path, format="csv").read("acc")

    assert [r["id"] for r in page.records] == ["1", "6"]
    assert [(b.where.rsplit(":", 1)[1], b.message.split(" (")[0]) for b in page.failures] == [
        ("3", "a quoted cell is not closed"),
        ("4", "the row has 3 cells but the header has 2 columns"),
        ("5", "not UTF-8 text"),
        ("6", "not a valid CSV row"),
    ]


def test_csv_a_header_naming_a_column_twice_stops_the_read(tmp_path: Path) -> None:
    (tmp_path / "acc.csv").write_text("id,name,name\n1,a,b\n")

    with pytest.raises(PluginError, match=r"acc.csv:1: the header names the column 'name' twice"):
        read_all(connector(tmp_path, format="csv"), "acc")


@pytest.mark.parametrize("own", ["acc.jsonl.changes.jsonl", "acc.jsonl.tmp"])
def test_a_link_where_files_keeps_its_own_files_is_refused(tmp_path: Path, own: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "acc.jsonl").write_text('{"id": "1"}\n')
    outside = tmp_path / "outside.jsonl"
    outside.write_text('{"id": "1", "stolen": true}\n')
    (folder / own).symlink_to(outside)

    with pytest.raises(PluginError, match="is a symbolic link; files never reads or writes"):
        connector(folder).describe("acc")
    assert outside.read_text() == '{"id": "1", "stolen": true}\n'


def test_a_link_inside_the_folder_is_followed_one_outside_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "real.jsonl").write_text('{"id": "1"}\n')
    (folder / "acc.jsonl").symlink_to(folder / "real.jsonl")
    (tmp_path / "outside.jsonl").write_text('{"id": "9"}\n')
    (folder / "out.jsonl").symlink_to(tmp_path / "outside.jsonl")

    assert read_all(connector(folder), "acc") == [{"id": "1"}]
    with pytest.raises(PluginError, match="it is a symbolic link to a file outside it"):
        connector(folder).describe("out")


def test_the_fields_setting_is_a_catalogue_known_offline() -> None:
    config = {
        "path": "x",
        "cursor_field": "changed",
        "objects": {"acc": {"fields": ["name"], "id_field": "key"}},
    }

    fields = FilesConnector.offline_fields(config, "acc")
    assert fields is not None
    assert {n: f.read_only for n, f in fields.items()} == {
        "name": False,
        "key": True,
        "changed": True,
    }
    assert FilesConnector.offline_fields(config, "other") is None
