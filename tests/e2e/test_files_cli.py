"""End-to-end: real specs over the files plugin, through the `integrate` command."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tests.conftest import read_jsonl, write_jsonl

ONE_WAY = """\
integrate: 1
name: one-way
connections:
  src: {plugin: files, config: {path: ./src, cursor_field: changed}}
  dst: {plugin: files, config: {path: ./dst, batch_size: 3}}
flows:
  accounts:
    from: src.accounts
    to: dst.accounts
    match:
      - [name, title]
    unmatched: %(unmatched)s
    fields:
      title: name
      city: address.city
      tier: "upper(tier)"
    on_create:
      origin: "'src'"
"""


def now() -> str:
    """A change stamp made now, as a user's edit would carry."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def totals(report: dict[str, Any], flow: str) -> dict[str, int]:
    [stats] = [f for f in report["flows"] if f["flow"] == flow]
    return stats["totals"]


def run_json(cli: Any, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("run", *args, "--json")
    return result.exit_code, json.loads(result.stdout)


def test_one_way_sync_matches_by_key_updates_and_creates(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "create"})
    write_jsonl(
        workdir / "src/accounts.jsonl",
        [
            {
                "id": "s1",
                "name": "Acme",
                "address": {"city": "Austin"},
                "tier": "gold",
                "changed": "1",
            },
            {
                "id": "s2",
                "name": "Globex",
                "address": {"city": "Berlin"},
                "tier": "silver",
                "changed": "2",
            },
            {
                "id": "s3",
                "name": "Initech",
                "address": {"city": "Austin"},
                "tier": None,
                "changed": "3",
            },
        ],
    )
    write_jsonl(
        workdir / "dst/accounts.jsonl",
        [{"id": "10", "title": "  ACME ", "city": "old", "note": "keep me"}],
    )

    code, report = run_json(cli, "spec.yaml")

    assert code == 0
    assert totals(report, "accounts") | {} == {
        "read": 3,
        "created": 2,
        "updated": 1,
        "unchanged": 0,
        "skipped": 0,
        "deferred": 0,
        "queued": 0,
        "failed": 0,
        "actions": 0,
    }
    target = {r["title"]: r for r in read_jsonl(workdir / "dst/accounts.jsonl")}
    # The matched record is overwritten with the source's data; fields it does not carry stay.
    assert target["Acme"] == {
        "id": "10",
        "title": "Acme",
        "city": "Austin",
        "tier": "GOLD",
        "note": "keep me",
    }
    assert target["Globex"]["origin"] == "src"
    assert target["Globex"]["tier"] == "SILVER"
    assert "origin" not in target["Acme"]  # on_create only on create
    assert len(target) == 3


def test_rerun_without_changes_writes_nothing(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "create"})
    write_jsonl(
        workdir / "src/accounts.jsonl",
        [{"id": f"s{i}", "name": f"N{i}", "changed": str(i)} for i in range(7)],
    )
    assert cli("run", "spec.yaml").exit_code == 0
    before = (workdir / "dst/accounts.jsonl").read_bytes()

    code, report = run_json(cli, "spec.yaml", "--full-refresh")

    assert code == 0
    assert totals(report, "accounts")["unchanged"] == 7
    assert totals(report, "accounts")["created"] + totals(report, "accounts")["updated"] == 0
    assert (workdir / "dst/accounts.jsonl").read_bytes() == before
    assert not (workdir / "dst/accounts.jsonl.changes.jsonl").exists()


def test_incremental_run_reads_only_changed_records(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "create"})
    rows = [{"id": f"s{i}", "name": f"N{i}", "changed": f"2024-01-0{i}"} for i in range(1, 6)]
    write_jsonl(workdir / "src/accounts.jsonl", rows)
    assert cli("run", "spec.yaml").exit_code == 0
    rows[2] = {**rows[2], "name": "Renamed", "changed": "2024-02-01"}
    write_jsonl(workdir / "src/accounts.jsonl", rows)

    code, report = run_json(cli, "spec.yaml")

    assert code == 0
    stats = totals(report, "accounts")
    assert (stats["read"], stats["updated"], stats["created"]) == (1, 1, 0)
    titles = sorted(r["title"] for r in read_jsonl(workdir / "dst/accounts.jsonl"))
    assert titles == ["N1", "N2", "N4", "N5", "Renamed"]


def test_dry_run_plans_the_same_counts_as_the_real_run_and_writes_nothing(
    cli: Any, workdir: Path
) -> None:
    # ALL-3
    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "{first_run: create, later: create}"})
    write_jsonl(
        workdir / "src/accounts.jsonl",
        [{"id": f"s{i}", "name": f"Name {i}", "tier": "x", "changed": str(i)} for i in range(10)],
    )
    write_jsonl(
        workdir / "dst/accounts.jsonl",
        [{"id": "1", "title": "name 3"}, {"id": "2", "title": "Name 4", "tier": "X"}],
    )
    before = (workdir / "dst/accounts.jsonl").read_bytes()

    code, planned = run_json(cli, "spec.yaml", "--dry-run")

    assert code == 0
    assert (workdir / "dst/accounts.jsonl").read_bytes() == before
    assert not (workdir / ".integrate/state.db").exists()
    code, done = run_json(cli, "spec.yaml")
    assert code == 0
    assert totals(planned, "accounts") == totals(done, "accounts")
    assert totals(done, "accounts")["created"] == 8


def test_dry_run_prints_the_plan_lines(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "create"})
    write_jsonl(
        workdir / "src/accounts.jsonl", [{"id": "s1", "name": "Acme", "tier": "a", "changed": "1"}]
    )
    write_jsonl(workdir / "dst/accounts.jsonl", [{"id": "9", "title": "acme", "tier": "B"}])

    result = cli("run", "spec.yaml", "--dry-run")

    assert result.exit_code == 0
    assert (
        'accounts: update source:s1 → target.accounts:9 {title: "acme" → "Acme", tier: "B" → "A"}'
        in result.stdout
    )
    assert "dry run: nothing was written" in result.stdout


PENDING = """\
integrate: 1
name: pending
connections:
  crm: {plugin: files, config: {path: ./crm, cursor_field: changed}}
  desk: {plugin: files, config: {path: ./desk}}
flows:
  accounts:
    from: crm.accounts
    to: desk.accounts
    match: [[name, name]]
    unmatched: {first_run: queue, later: create}
    fields: {name: name, city: city}
"""


def test_pending_queue_on_first_run_then_resolution_by_command(cli: Any, workdir: Path) -> None:
    # SDP-3, SDP-4 on the files plugin.
    Path("spec.yaml").write_text(PENDING)
    write_jsonl(
        workdir / "crm/accounts.jsonl",
        [
            {"id": "c1", "name": "Acme", "city": "Austin", "changed": "1"},
            {"id": "c2", "name": "Globex Corp", "city": "Berlin", "changed": "2"},
            {"id": "c3", "name": "Initech", "city": "Austin", "changed": "3"},
        ],
    )
    write_jsonl(
        workdir / "desk/accounts.jsonl",
        [
            {"id": "d1", "name": "ACME"},
            {"id": "d2", "name": "Globex Corporation"},
            {"id": "d3", "name": "Hooli"},
        ],
    )

    first = cli("run", "spec.yaml")

    assert first.exit_code == 0
    assert "2 record(s) wait in the pending queue (accounts)" in first.stdout
    assert len(read_jsonl(workdir / "desk/accounts.jsonl")) == 3  # nothing created on the first run
    listing = json.loads(cli("pending", "list", "spec.yaml", "--json").stdout)
    assert {row["source_id"] for row in listing} == {"c2", "c3"}
    globex = next(row for row in listing if row["source_id"] == "c2")
    assert globex["candidates"][0]["id"] == "d2"  # the most similar unlinked record first
    assert all(c["id"] != "d1" for row in listing for c in row["candidates"])  # d1 is linked to c1

    assert cli("pending", "resolve", "spec.yaml", "accounts", "c2", "--map-to", "d2").exit_code == 0
    assert cli("pending", "resolve", "spec.yaml", "accounts", "c3", "--create").exit_code == 0
    second = cli("run", "spec.yaml", "--json")

    assert second.exit_code == 0
    stats = totals(json.loads(second.stdout), "accounts")
    assert (stats["created"], stats["updated"], stats["queued"]) == (1, 1, 0)
    desk = {r["id"]: r for r in read_jsonl(workdir / "desk/accounts.jsonl")}
    assert desk["d2"] == {"id": "d2", "name": "Globex Corp", "city": "Berlin"}
    assert [r["name"] for r in desk.values() if r["id"] not in ("d1", "d2", "d3")] == ["Initech"]
    assert cli("pending", "list", "spec.yaml").stdout.strip() == "the pending queue is empty"

    # Later runs create new accounts directly (SDP-4); a mapped record is no candidate any more.
    rows = read_jsonl(workdir / "crm/accounts.jsonl")
    rows.append({"id": "c4", "name": "Umbrella", "city": "Raccoon City", "changed": "4"})
    write_jsonl(workdir / "crm/accounts.jsonl", rows)
    third = json.loads(cli("run", "spec.yaml", "--json").stdout)
    assert totals(third, "accounts")["created"] == 1


def test_resolving_to_an_already_linked_record_is_refused(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(PENDING)
    write_jsonl(
        workdir / "crm/accounts.jsonl",
        [
            {"id": "c1", "name": "Acme", "changed": "1"},
            {"id": "c2", "name": "Other", "changed": "2"},
        ],
    )
    write_jsonl(workdir / "desk/accounts.jsonl", [{"id": "d1", "name": "acme"}])
    assert cli("run", "spec.yaml").exit_code == 0

    result = cli("pending", "resolve", "spec.yaml", "accounts", "c2", "--map-to", "d1")

    assert result.exit_code == 1
    assert "d1 is already linked to c1" in result.stderr


TWO_WAY = """\
integrate: 1
name: two-way
connections:
  left: {plugin: files, config: {path: ./left, cursor_field: modified}}
  right: {plugin: files, config: {path: ./right, cursor_field: updated}}
flows:
  people:
    between: [left.people, right.contacts]
    match: [[email, mail]]
    conflict: newest
    fields:
      - {left: email, right: mail}
      - {left: phone, right: tel}
      - left: name
        to_left: "join(' ', [first, last][?@])"
        to_right: {first: "first_word(name)", last: "rest_words(name)"}
      - left: state
        right: stage
        values: {lead: PROSPECT, client: CUSTOMER}
"""


def test_two_way_edits_on_each_side_land_on_the_other_and_nothing_echoes(
    cli: Any, workdir: Path
) -> None:
    # SM-2 on the files plugin.
    Path("spec.yaml").write_text(TWO_WAY)
    write_jsonl(
        workdir / "left/people.jsonl",
        [
            {
                "id": "L1",
                "email": "ann@x.test",
                "phone": "1",
                "name": "Ann Lee",
                "state": "lead",
                "modified": "2024-01-01",
            },
            {
                "id": "L2",
                "email": "bob@x.test",
                "phone": "2",
                "name": "Bob Ray",
                "state": "client",
                "modified": "2024-01-01",
            },
        ],
    )
    write_jsonl(
        workdir / "right/contacts.jsonl",
        [
            {
                "id": "R1",
                "mail": "bob@x.test",
                "tel": "2",
                "first": "Bob",
                "last": "Ray",
                "stage": "CUSTOMER",
                "updated": "2023-01-01",
            }
        ],
    )

    first = json.loads(cli("run", "spec.yaml", "--json").stdout)

    assert first["status"] == "succeeded"
    right = {r["mail"]: r for r in read_jsonl(workdir / "right/contacts.jsonl")}
    assert right["ann@x.test"]["first"] == "Ann"
    assert right["ann@x.test"]["stage"] == "PROSPECT"
    assert len(right) == 2

    # An edit on each side.
    left = read_jsonl(workdir / "left/people.jsonl")
    left[0] = {**left[0], "phone": "111", "modified": now()}
    write_jsonl(workdir / "left/people.jsonl", left)
    rows = read_jsonl(workdir / "right/contacts.jsonl")
    bob = next(r for r in rows if r["mail"] == "bob@x.test")
    bob.update({"first": "Robert", "stage": "PROSPECT", "updated": now()})
    write_jsonl(workdir / "right/contacts.jsonl", rows)

    second = json.loads(cli("run", "spec.yaml", "--json").stdout)

    [stats] = second["flows"]
    assert stats["outcomes"]["right"]["updated"] == 1
    assert stats["outcomes"]["left"]["updated"] == 1
    left = {r["id"]: r for r in read_jsonl(workdir / "left/people.jsonl")}
    assert left["L2"]["name"] == "Robert Ray"
    assert left["L2"]["state"] == "lead"
    right = {r["mail"]: r for r in read_jsonl(workdir / "right/contacts.jsonl")}
    assert right["ann@x.test"]["tel"] == "111"

    # The values the sync wrote come back as changes of both files: none is sent back.
    snapshot = (
        (workdir / "left/people.jsonl").read_bytes(),
        (workdir / "right/contacts.jsonl").read_bytes(),
    )
    third = json.loads(cli("run", "spec.yaml", "--json").stdout)
    [stats] = third["flows"]
    assert stats["totals"]["read"] >= 2  # the echoes are read ...
    assert stats["totals"]["updated"] == 0
    assert stats["totals"]["created"] == 0
    assert (
        (workdir / "left/people.jsonl").read_bytes(),
        (workdir / "right/contacts.jsonl").read_bytes(),
    ) == snapshot
    fourth = json.loads(cli("run", "spec.yaml", "--json").stdout)
    assert fourth["flows"][0]["totals"]["read"] == 0


def test_two_way_conflict_newest_wins(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(TWO_WAY)
    write_jsonl(
        workdir / "left/people.jsonl",
        [
            {
                "id": "L1",
                "email": "a@x.test",
                "phone": "1",
                "name": "A B",
                "state": "lead",
                "modified": "2024-01-01",
            }
        ],
    )
    write_jsonl(workdir / "right/contacts.jsonl", [])
    assert cli("run", "spec.yaml").exit_code == 0
    left = read_jsonl(workdir / "left/people.jsonl")
    left[0].update({"phone": "from-left", "modified": "2031-01-01T00:00:00"})
    write_jsonl(workdir / "left/people.jsonl", left)
    right = read_jsonl(workdir / "right/contacts.jsonl")
    right[0].update({"tel": "from-right", "updated": "2032-01-01T00:00:00"})
    write_jsonl(workdir / "right/contacts.jsonl", right)

    assert cli("run", "spec.yaml").exit_code == 0

    assert read_jsonl(workdir / "left/people.jsonl")[0]["phone"] == "from-right"
    assert read_jsonl(workdir / "right/contacts.jsonl")[0]["tel"] == "from-right"


def test_two_way_nested_fields_settle_a_full_refresh_writes_nothing(
    cli: Any, workdir: Path
) -> None:
    # D3 with dotted fields on both sides: the link keeps `address.city` as one key.
    spec = TWO_WAY.replace(
        "      - {left: phone, right: tel}",
        "      - {left: phone, right: tel}\n      - {left: address.city, right: location.town}",
    )
    Path("spec.yaml").write_text(spec)
    person = {"id": "L1", "email": "a@x.test", "phone": "1", "name": "A B", "state": "lead"}
    write_jsonl(
        workdir / "left/people.jsonl",
        [{**person, "address": {"city": "Leeds"}, "modified": "2024-01-01"}],
    )
    write_jsonl(workdir / "right/contacts.jsonl", [])
    assert cli("run", "spec.yaml").exit_code == 0
    assert read_jsonl(workdir / "right/contacts.jsonl")[0]["location"] == {"town": "Leeds"}
    assert cli("run", "spec.yaml").exit_code == 0  # reads the created record back once
    left = read_jsonl(workdir / "left/people.jsonl")
    left[0].update({"phone": "2", "modified": now()})
    write_jsonl(workdir / "left/people.jsonl", left)

    result = cli("run", "spec.yaml", "--plan")

    assert result.exit_code == 0, result.output
    [line] = [row for row in result.stdout.splitlines() if ": update " in row]
    assert line.endswith('{tel: "1" → "2"}')
    for _ in range(2):
        code, report = run_json(cli, "spec.yaml", "--full-refresh")
        assert code == 0
        assert (totals(report, "people")["updated"], totals(report, "people")["read"]) == (0, 2)


def test_one_way_object_direction_overrides_field_directions(cli: Any, workdir: Path) -> None:
    # CS-5: the object-level one-way direction supersedes a pair's own direction.
    spec = TWO_WAY.replace(
        "    conflict: newest\n", "    conflict: newest\n    direction: to_right\n"
    ).replace(
        "      - {left: phone, right: tel}", "      - {left: phone, right: tel, direction: to_left}"
    )
    Path("spec.yaml").write_text(spec)
    write_jsonl(
        workdir / "left/people.jsonl",
        [
            {
                "id": "L1",
                "email": "a@x.test",
                "phone": "9",
                "name": "A B",
                "state": "lead",
                "modified": "1",
            }
        ],
    )
    write_jsonl(
        workdir / "right/contacts.jsonl",
        [{"id": "R9", "mail": "z@x.test", "tel": "0", "first": "Z", "updated": "1"}],
    )

    assert cli("run", "spec.yaml").exit_code == 0

    right = {r["mail"]: r for r in read_jsonl(workdir / "right/contacts.jsonl")}
    assert right["a@x.test"]["tel"] == "9"  # flows to right despite the pair's own direction
    assert [r["email"] for r in read_jsonl(workdir / "left/people.jsonl")] == [
        "a@x.test"
    ]  # nothing to left


FAILING = """\
integrate: 1
name: failing
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: files, config: {path: ./dst, batch_size: 10}}
failures: out/failed.jsonl
flows:
  items:
    from: src.items
    to: dst.items
    fields:
      id: code
      born: "date(born, '%Y-%m-%d')"
"""


def test_a_bad_record_goes_to_the_failure_file_while_the_rest_of_the_batch_lands(
    cli: Any, workdir: Path
) -> None:
    # SDP-12: a write rejected for one row, a mapping error for another; the batch's others land.
    Path("spec.yaml").write_text(FAILING)
    write_jsonl(
        workdir / "src/items.jsonl",
        [
            {"id": "1", "code": "A", "born": "2001-02-03"},
            {"id": "2", "code": "B", "born": "not a date"},
            {"id": "3", "code": "C", "born": "2003-04-05"},
            {"id": "4", "code": "Z", "born": "2004-05-06"},
            {"id": "5", "code": "E", "born": None},
        ],
    )
    write_jsonl(
        workdir / "dst/items.jsonl", [{"id": "Z", "born": "1999-01-01"}]
    )  # "Z" is taken: a duplicate id

    result = cli("run", "spec.yaml")

    assert result.exit_code == 3  # completed with failed records
    ids = sorted(r["id"] for r in read_jsonl(workdir / "dst/items.jsonl"))
    assert ids == ["A", "C", "E", "Z"]
    failures = {f["source_id"]: f for f in read_jsonl(workdir / "out/failed.jsonl")}
    assert set(failures) == {"2", "4"}
    assert "date(): 'not a date' is not an ISO date" in failures["2"]["error"]
    assert failures["2"]["location"] == "spec.yaml:13:13"
    assert failures["2"]["record"] == {"id": "2", "code": "B", "born": "not a date"}
    assert failures["4"]["code"] == "DUPLICATE_ID"
    assert failures["4"]["stage"] == "write"
    listing = cli("failures", "list", "spec.yaml")
    assert "date(): 'not a date' is not an ISO date" in listing.stdout

    # Fix the source record and retry: it lands, and the failure closes.
    rows = read_jsonl(workdir / "src/items.jsonl")
    rows[1]["born"] = "2002-03-04"
    write_jsonl(workdir / "src/items.jsonl", rows)
    retry = cli("run", "spec.yaml", "--json")
    assert json.loads(retry.stdout)["flows"][0]["totals"]["created"] == 1
    assert "B" in {r["id"] for r in read_jsonl(workdir / "dst/items.jsonl")}


def test_failures_retry_runs_only_the_failed_records(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(FAILING)
    write_jsonl(
        workdir / "src/items.jsonl",
        [
            {"id": "1", "code": "A", "born": "2001-02-03"},
            {"id": "4", "code": "Z", "born": "2004-05-06"},
        ],
    )
    write_jsonl(workdir / "dst/items.jsonl", [{"id": "Z"}])
    assert cli("run", "spec.yaml").exit_code == 3
    # Free the id "Z" in the target, then retry without reading the source again.
    write_jsonl(
        workdir / "dst/items.jsonl",
        [r for r in read_jsonl(workdir / "dst/items.jsonl") if r["id"] != "Z"],
    )

    result = cli("failures", "retry", "spec.yaml", "--json")

    assert result.exit_code == 0, result.output
    assert sorted(r["id"] for r in read_jsonl(workdir / "dst/items.jsonl")) == ["A", "Z"]
    assert cli("failures", "list", "spec.yaml").stdout.strip() == "no failures"


def test_disabled_flow_resumes_differentially(cli: Any, workdir: Path) -> None:
    # SDP-10 / SDP-15 on the files plugin.
    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "create"})
    write_jsonl(
        workdir / "src/accounts.jsonl",
        [{"id": "s1", "name": "A", "changed": "1"}, {"id": "s2", "name": "B", "changed": "2"}],
    )
    assert cli("run", "spec.yaml").exit_code == 0
    Path("spec.yaml").write_text(
        (ONE_WAY % {"unmatched": "create"}).replace(
            "    from: src.accounts", "    enabled: false\n    from: src.accounts"
        )
    )
    write_jsonl(
        workdir / "src/accounts.jsonl",
        [
            {"id": "s1", "name": "A2", "changed": "5"},
            {"id": "s2", "name": "B", "changed": "2"},
            {"id": "s3", "name": "C", "changed": "6"},
        ],
    )
    off = json.loads(cli("run", "spec.yaml", "--json").stdout)
    assert off["flows"][0]["disabled"] is True
    assert sorted(r["title"] for r in read_jsonl(workdir / "dst/accounts.jsonl")) == ["A", "B"]

    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "create"})
    on = json.loads(cli("run", "spec.yaml", "--json").stdout)

    assert totals(on, "accounts")["read"] == 2
    assert sorted(r["title"] for r in read_jsonl(workdir / "dst/accounts.jsonl")) == [
        "A2",
        "B",
        "C",
    ]


def test_state_show_and_reset(cli: Any, workdir: Path) -> None:
    # SDP-19: starting over forgets state, never deletes target data.
    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "create"})
    write_jsonl(workdir / "src/accounts.jsonl", [{"id": "s1", "name": "A", "changed": "1"}])
    assert cli("run", "spec.yaml").exit_code == 0
    shown = cli("state", "show", "spec.yaml")
    assert "flow accounts: 1 links" in shown.stdout
    assert "#1" in shown.stdout
    assert "succeeded" in shown.stdout

    reset = cli("state", "reset", "spec.yaml", "--yes")

    assert reset.exit_code == 0
    assert "1 links" in reset.stdout
    assert len(read_jsonl(workdir / "dst/accounts.jsonl")) == 1
    again = json.loads(cli("run", "spec.yaml", "--json").stdout)
    assert totals(again, "accounts")["unchanged"] == 1  # matched by key again, not duplicated
    assert len(read_jsonl(workdir / "dst/accounts.jsonl")) == 1


MOVING = """\
integrate: 1
name: moving
connections:
  left: {plugin: files, config: {path: ./left, cursor_field: modified}}
  right: {plugin: files, config: {path: ./right, cursor_field: updated}}
flows:
  people:
    between: [left.people, right.leads|contacts]
    match: [[email, email]]
    fields:
      - {left: email, right: email}
      - {left: phone, right: phone}
      - left: state
        right: $object
        values: {lead: leads, client: contacts}
"""


def test_changing_the_state_moves_the_record_between_objects(cli: Any, workdir: Path) -> None:
    # SM-3 on the files plugin: a value map onto $object moves the record on the other side.
    Path("spec.yaml").write_text(MOVING)
    write_jsonl(
        workdir / "left/people.jsonl",
        [
            {"id": "P1", "email": "a@x.test", "phone": "1", "state": "lead", "modified": now()},
            {"id": "P2", "email": "b@x.test", "phone": "2", "state": "client", "modified": now()},
        ],
    )
    assert cli("run", "spec.yaml").exit_code == 0
    assert [r["email"] for r in read_jsonl(workdir / "right/leads.jsonl")] == ["a@x.test"]
    assert [r["email"] for r in read_jsonl(workdir / "right/contacts.jsonl")] == ["b@x.test"]

    left = read_jsonl(workdir / "left/people.jsonl")
    left[0].update({"state": "client", "modified": now()})
    write_jsonl(workdir / "left/people.jsonl", left)
    contacts = read_jsonl(workdir / "right/contacts.jsonl")
    contacts[0].update({"phone": "22", "updated": now()})
    write_jsonl(workdir / "right/contacts.jsonl", contacts)

    moved = cli("run", "spec.yaml", "--json")

    assert moved.exit_code == 0, moved.output
    assert read_jsonl(workdir / "right/leads.jsonl") == []
    emails = sorted(r["email"] for r in read_jsonl(workdir / "right/contacts.jsonl"))
    assert emails == ["a@x.test", "b@x.test"]
    assert {r["id"]: r["phone"] for r in read_jsonl(workdir / "left/people.jsonl")} == {
        "P1": "1",
        "P2": "22",
    }
    again = json.loads(cli("run", "spec.yaml", "--json").stdout)
    assert again["flows"][0]["totals"]["updated"] == 0
    assert again["flows"][0]["totals"]["created"] == 0


def test_fields_outside_the_plugins_catalogue_are_refused_before_any_read(
    cli: Any, workdir: Path
) -> None:
    spec = (ONE_WAY % {"unmatched": "create"}).replace(
        "  dst: {plugin: files, config: {path: ./dst, batch_size: 3}}",
        "  dst: {plugin: files, config: {path: ./dst, batch_size: 3, fields: [title, city, tier]}}",
    )
    Path("spec.yaml").write_text(
        spec.replace("      city: address.city\n", "      cty: address.city\n      id: name\n")
    )
    write_jsonl(workdir / "src/accounts.jsonl", [{"id": "s1", "name": "A", "changed": "1"}])

    result = cli("run", "spec.yaml")

    assert result.exit_code == 2
    assert (
        "spec.yaml:15:7: files dst.accounts has no field 'cty' (did you mean 'city'?)"
        in result.stderr
    )
    assert "spec.yaml:16:7: 'id' of dst.accounts is read-only in files" in result.stderr
    assert "spec.yaml:19:7: files dst.accounts has no field 'origin'" in result.stderr
    assert not (workdir / "dst").exists()


def test_a_dry_run_leaves_a_crashed_runs_leftovers_untouched(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(ONE_WAY % {"unmatched": "create"})
    write_jsonl(workdir / "src/accounts.jsonl", [{"id": "s1", "name": "A", "changed": "1"}])
    (workdir / "dst").mkdir()
    (workdir / "dst/accounts.jsonl").write_text('{"id": "1", "title": "B"}\n{"id": "2", "tit')
    (workdir / "dst/accounts.jsonl.changes.jsonl").write_text('{"id": "1", "title": "B2"}\n')
    before = {p.name: p.read_bytes() for p in (workdir / "dst").iterdir()}

    result = cli("run", "spec.yaml", "--dry-run")

    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in (workdir / "dst").iterdir()} == before


def test_object_direction_off_moves_nothing_either_way(cli: Any, workdir: Path) -> None:
    # CS-4: an object's sync can be switched off (ClientSuccess's fourth direction, "off").
    Path("spec.yaml").write_text(
        TWO_WAY.replace("    conflict: newest\n", "    conflict: newest\n    direction: off\n")
    )
    left = [{"id": "L1", "email": "a@x.test", "phone": "9", "name": "A B", "state": "lead"}]
    right = [{"id": "R9", "mail": "z@x.test", "tel": "0", "first": "Z", "updated": "1"}]
    write_jsonl(workdir / "left/people.jsonl", [{**left[0], "modified": "1"}])
    write_jsonl(workdir / "right/contacts.jsonl", right)

    result = cli("run", "spec.yaml")

    assert result.exit_code == 0, result.output
    assert "(disabled)" in result.output
    assert [r["mail"] for r in read_jsonl(workdir / "right/contacts.jsonl")] == ["z@x.test"]
    assert [r["email"] for r in read_jsonl(workdir / "left/people.jsonl")] == ["a@x.test"]
