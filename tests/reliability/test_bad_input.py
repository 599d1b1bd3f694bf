"""Bad input gets a clear message that says where, and loses nothing (issue 9, points 15 and
17): a broken line of a source file fails alone, at its file and line, in the failure ledger
and the failed-records file, while every other line is synced; a symbolic link never carries
a read or a write out of the folder; a misspelt source field is refused before any record is
read, where the plugin knows the object's fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate.build import load_spec
from integrate.errors import SpecError
from integrate.plugins import make_plugins
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl, write_jsonl
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_env
from tests.reliability.harness import run_in_process

SPEC = """\
integrate: 1
name: bad-input
connections:
  src: {plugin: files, config: {path: ./src%(src)s}}
  dst: {plugin: files, config: {path: ./dst}}
failures: failed.jsonl
flows:
  accounts:
    from: src.accounts
    to: dst.accounts
    match: [[name, name]]
    fields:
      name: name
      city: city
"""


def spec(src: str = "") -> str:
    return SPEC % {"src": src}


def run_json(cli: Any, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("run", "spec.yaml", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def ledger(cli: Any) -> list[dict[str, Any]]:
    """The failure ledger in the state store, oldest first."""
    found = json.loads(cli("failures", "list", "spec.yaml", "--all", "--json").stdout)
    return sorted(found, key=lambda f: f["id"])


def names(root: Path) -> list[str]:
    return [r["name"] for r in read_jsonl(root / "dst/accounts.jsonl")]


# ---- JSON lines --------------------------------------------------------------------------


def test_a_broken_json_line_and_a_list_line_fail_alone_at_their_line(
    cli: Any, workdir: Path
) -> None:
    # Before: orjson.JSONDecodeError ended the run with a traceback, nothing written.
    (workdir / "src").mkdir()
    source = workdir / "src/accounts.jsonl"
    source.write_text(
        '{"id": "1", "name": "Acme", "city": "Austin"}\n'
        '{"id": "2", "name": "Globex", "ci\n'
        "[1, 2]\n"
        "\n"
        '{"id": "4", "name": "Initech", "city": "Oslo"}\n'
    )
    before = source.read_bytes()
    Path("spec.yaml").write_text(spec())

    code, report = run_json(cli)

    assert code == 3  # completed with errors
    assert report["status"] == "completed_with_errors"
    assert report["flows"][0]["totals"]["created"] == 2
    assert report["flows"][0]["totals"]["failed"] == 2
    assert names(workdir) == ["Acme", "Initech"]
    failed = read_jsonl(workdir / "failed.jsonl")
    assert [(f["stage"], f["code"], f["location"], f["record"]) for f in failed] == [
        ("read", "BAD_RECORD", f"{source}:2", {"$raw": '{"id": "2", "name": "Globex", "ci'}),
        ("read", "BAD_RECORD", f"{source}:3", {"$raw": "[1, 2]"}),
    ]
    assert failed[0]["error"] == (
        f"{source}:2: not valid JSON (unexpected control character in string, at column 34)"
    )
    assert failed[1]["error"] == (
        f"{source}:3: not a record: each line must hold one JSON object {{...}}, "
        "this one holds a list"
    )
    assert [(f["stage"], f["location"], f["message"]) for f in ledger(cli)] == [
        (f["stage"], f["location"], f["error"]) for f in failed
    ]
    assert source.read_bytes() == before  # a source is read, never repaired or rewritten


def test_a_fixed_line_is_synced_by_the_next_run_although_newer_lines_were_read(
    cli: Any, workdir: Path
) -> None:
    # With a cursor, the broken line keeps the cursor back: fixed, it is not skipped as old.
    Path("spec.yaml").write_text(spec(", cursor_field: changed"))
    source = workdir / "src/accounts.jsonl"
    (workdir / "src").mkdir()
    good = '{"id": "1", "name": "Acme", "changed": "1"}\n'
    later = '{"id": "3", "name": "Initech", "changed": "3"}\n'
    source.write_text(good + '{"id": "2", "name": "Globex", "changed": "2"\n' + later)

    first, _ = run_json(cli)
    source.write_text(good + '{"id": "2", "name": "Globex", "changed": "2"}\n' + later)
    second, report = run_json(cli)
    third, again = run_json(cli)

    assert (first, second, third) == (3, 0, 0)
    assert names(workdir) == ["Acme", "Initech", "Globex"]
    assert report["flows"][0]["totals"]["created"] == 1
    assert again["flows"][0]["totals"]["created"] == 0  # nothing written twice
    assert again["flows"][0]["totals"]["read"] == 0  # the cursor has moved on now


def test_a_last_line_without_its_newline_is_read_and_the_file_left_as_it_was(
    cli: Any, workdir: Path
) -> None:
    # Before: the last record was skipped as torn, and cut off the source file on read.
    (workdir / "src").mkdir()
    source = workdir / "src/accounts.jsonl"
    source.write_text('{"id": "1", "name": "Acme"}\n{"id": "2", "name": "Globex"}')
    Path("spec.yaml").write_text(spec())

    code, _report = run_json(cli)

    assert code == 0
    assert names(workdir) == ["Acme", "Globex"]
    assert source.read_text() == '{"id": "1", "name": "Acme"}\n{"id": "2", "name": "Globex"}'


# ---- CSV ---------------------------------------------------------------------------------


def test_csv_rows_with_extra_cells_or_an_open_quote_fail_at_their_line_and_the_rest_is_read(
    cli: Any, workdir: Path
) -> None:
    # Before: the open quote swallowed every row after it into one cell, and the extra cell
    # of row 4 was dropped without a word.
    (workdir / "src").mkdir()
    source = workdir / "src/accounts.csv"
    source.write_text(
        "id,name,city\n"
        "1,Acme,Austin\n"
        '2,"Globex,Berlin\n'
        "3,Initech,Oslo\n"
        "4,Umbrella,Raccoon City,US\n"
        '5,"Hooli\nLabs",Palo Alto\n'
        "6,Soylent,Lima"
    )
    Path("spec.yaml").write_text(spec(", format: csv"))

    code, report = run_json(cli)

    assert code == 3
    assert names(workdir) == ["Acme", "Initech", "Hooli\nLabs", "Soylent"]
    failed = read_jsonl(workdir / "failed.jsonl")
    assert [(f["stage"], f["location"], f["record"]) for f in failed] == [
        ("read", f"{source}:3", {"$raw": '2,"Globex,Berlin'}),
        ("read", f"{source}:5", {"$raw": "4,Umbrella,Raccoon City,US"}),
    ]
    assert "a quoted cell is not closed" in failed[0]["error"]
    assert "the row has 4 cells but the header has 3 columns" in failed[1]["error"]
    assert report["flows"][0]["totals"]["failed"] == 2


# ---- symbolic links ------------------------------------------------------------------------


def test_a_changes_file_linked_outside_the_folder_is_refused_never_read(
    cli: Any, workdir: Path
) -> None:
    # Before: the link was followed: its record replaced the source's, and updates were
    # appended to the file it points at.
    (workdir / "src").mkdir()
    (workdir / "outside").mkdir()
    write_jsonl(workdir / "src/accounts.jsonl", [{"id": "1", "name": "Acme"}])
    secret = workdir / "outside/secret.jsonl"
    secret.write_text('{"id": "1", "name": "SECRET"}\n')
    (workdir / "src/accounts.jsonl.changes.jsonl").symlink_to(secret)
    Path("spec.yaml").write_text(spec())

    result = cli("run", "spec.yaml")

    assert result.exit_code == 2
    assert (
        f"spec.yaml:9:11: files: {workdir}/src/accounts.jsonl.changes.jsonl is a symbolic link;"
        " files never reads or writes through one" in result.stderr
    )
    assert not (workdir / "dst").exists()
    assert secret.read_text() == '{"id": "1", "name": "SECRET"}\n'


@pytest.mark.parametrize("link", ["accounts.jsonl", "accounts.jsonl.tmp"])
def test_a_target_file_linked_outside_the_folder_is_never_written_through(
    cli: Any, workdir: Path, link: str
) -> None:
    (workdir / "src").mkdir()
    (workdir / "dst").mkdir()
    (workdir / "outside").mkdir()
    write_jsonl(workdir / "src/accounts.jsonl", [{"id": "1", "name": "Acme"}])
    victim = workdir / "outside/victim.jsonl"
    victim.write_text("keep me\n")
    (workdir / "dst" / link).symlink_to(victim)
    Path("spec.yaml").write_text(spec())

    result = cli("run", "spec.yaml")

    assert result.exit_code == 2
    assert "spec.yaml:10:9: files: " in result.stderr
    assert "symbolic link" in result.stderr
    assert victim.read_text() == "keep me\n"
    assert sorted(p.name for p in (workdir / "dst").iterdir()) == [link]


# ---- other readers: event flows and lookups ----------------------------------------------------


def test_an_event_flow_and_a_lookup_record_their_bad_lines_too(cli: Any, workdir: Path) -> None:
    (workdir / "src").mkdir()
    source = workdir / "src/accounts.jsonl"
    source.write_text(
        '{"id": "1", "name": "Acme", "region": "r1"}\n{"id": "2", "name": \n{"name": "No id"}\n'
    )
    regions = workdir / "src/regions.jsonl"
    regions.write_text('{"id": "r1", "label": "EMEA"}\n"r2"\n')
    Path("spec.yaml").write_text("""\
integrate: 1
name: bad-input
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: files, config: {path: ./dst}}
failures: failed.jsonl
flows:
  notes:
    from: src.accounts
    to: dst.notes
    backfill: true
    events:
      - event: created
        do: create
        fields:
          title: record.name
          region: "lookup('src.regions', {id: record.region}).label"
""")

    code, report = run_json(cli)

    assert code == 3
    assert [(n["title"], n["region"]) for n in read_jsonl(workdir / "dst/notes.jsonl")] == [
        ("Acme", "EMEA")
    ]
    failed = read_jsonl(workdir / "failed.jsonl")
    assert sorted((f["side"], f["code"], f["location"]) for f in failed) == [
        ("source", "BAD_RECORD", f"{source}:2"),
        ("source", "NO_ID", ""),  # before: an event flow skipped it without a word
        ("src.regions", "BAD_RECORD", f"{regions}:2"),
    ]
    assert report["flows"][0]["totals"]["failed"] == 3


def test_a_broken_line_of_a_sandbox_seed_file_is_a_spec_error_at_its_line(
    cli: Any, workdir: Path
) -> None:
    # Before: orjson.JSONDecodeError, with a traceback.
    (workdir / "demo").mkdir()
    seed = workdir / "demo/accounts.jsonl"
    seed.write_text('{"id": "1", "name": "Acme"}\n{"id": "2", "name": "Glo\n')
    Path("spec.yaml").write_text(
        spec() + "sandbox:\n  seed:\n    src.accounts: {file: demo/accounts.jsonl}\n"
    )

    result = cli("run", "spec.yaml", "--sandbox")

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "demo/accounts.jsonl:2:25: sandbox seed: not valid JSON (unexpected end of data)"
    )
    assert seed.read_text().startswith('{"id": "1"')


# ---- expressions that outgrow their limit at run time -------------------------------------------


def test_an_expression_that_grows_too_large_fails_that_record_at_its_line(
    cli: Any, workdir: Path
) -> None:
    # 16 doublings pass when built; a 300-character name outgrows the limit while mapping.
    doubling = "name" + " | [@, @] | join('', @)" * 16
    text = spec().replace("      city: city\n", f'      city: "{doubling}"\n')
    Path("spec.yaml").write_text(text)
    write_jsonl(
        workdir / "src/accounts.jsonl",
        [{"id": "1", "name": "ab"}, {"id": "2", "name": "x" * 300}, {"id": "3", "name": "cd"}],
    )

    code, report = run_json(cli)

    assert code == 3
    assert [len(r["city"]) for r in read_jsonl(workdir / "dst/accounts.jsonl")] == [2 * 2**16] * 2
    [failed] = read_jsonl(workdir / "failed.jsonl")
    assert failed["source_id"] == "2"
    assert failed["location"] == "spec.yaml:14:13"
    assert "the result grew past 16,777,216 characters and items" in failed["error"]
    assert report["flows"][0]["totals"]["created"] == 2


# ---- fields the plugin's catalogue lacks -------------------------------------------------------


CATALOGUED = """\
integrate: 1
name: catalogued
connections:
  src: {plugin: files, config: {path: ./src, fields: [Email, Name, Owner]}}
  dst: {plugin: files, config: {path: ./dst}}
flows:
  people:
    from: src.people
    to: dst.people
    match: [[Email, email]]
    fields:
      email: Emial
      name: "lower(Nmae)"
      owner: Owner.email
      kind: "\\"$object\\" || 'person'"
      note: "join(', ', tags[?starts_with(@, 'x')])"
"""


def test_a_misspelt_source_field_is_refused_by_validate_where_the_catalogue_is_known(
    cli: Any, workdir: Path
) -> None:
    # Before: Emial read null on every record, and the run wrote email: null everywhere.
    Path("spec.yaml").write_text(CATALOGUED)

    result = cli("validate", "spec.yaml")

    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "spec.yaml:12:14: files src.people has no field 'Emial' to read (did you mean 'Email'?)",
        "spec.yaml:13:13: files src.people has no field 'Nmae' to read (did you mean 'Name'?)",
        "spec.yaml:16:13: files src.people has no field 'tags' to read",
        "spec.yaml: 3 problems",
    ]  # Owner.email checks Owner only; $object is a pseudo-field


ZOHO_SOURCE = """\
integrate: 1
name: zoho-out
connections:
%(crm)s
  dst: {plugin: files, config: {path: ./dst}}
flows:
  contacts:
    from: crm.Contacts
    to: dst.contacts
    match: [[Emial, email]]
    fields:
      email: Email
      owner: Owner.emial
      last: Last_Nme
""" % {"crm": zoho_connection(data_center="com")}  # noqa: UP031  (the braces are YAML's)


def test_a_misspelt_source_field_is_refused_when_the_run_starts_before_any_record_is_read(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Zoho's field catalogue is known only by asking Zoho: checked when the run starts.
    clock = FakeClock()
    Path("spec.yaml").write_text(ZOHO_SOURCE)
    with ZohoCrmEmulator(clock=clock) as emulator:
        zoho_env(monkeypatch, emulator)
        load_spec("spec.yaml", make_plugins())  # validate's check: nothing known offline

        with pytest.raises(SpecError) as caught:
            run_in_process("spec.yaml", {"crm": emulator.transport()}, clock)

        calls = emulator.calls()
    problems = [str(p).replace(f"{workdir}/", "") for p in caught.value.problems]
    assert problems == [
        "spec.yaml:16:14: zoho_crm crm.Contacts has no field 'Emial' to read"
        " (did you mean 'Email'?)",
        "spec.yaml:20:13: zoho_crm crm.Contacts has no field 'Last_Nme' to read"
        " (did you mean 'Last_Name'?)",
    ]  # Owner.emial: only Owner, a field Zoho has, is checked
    assert set(calls) <= {"token", "modules", "fields"}, calls  # metadata only, no record
    assert not (workdir / "dst").exists()
