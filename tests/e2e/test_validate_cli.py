"""`integrate validate`: every problem at once, each at its line and column, offline."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIVE_MISTAKES = """\
integrate: 1
name: five-mistakes
connections:
  crm: {plugin: files, config: {path: ./crm}}
  desk: {plugin: files, config: {path: ./desk}}
flows:
  accounts:
    from: crm.accounts
    to: dsk.accounts
    unmatched: {first_run: queu, later: create}
    fiedls:
      name: Account_Name
  contacts:
    after: accounts
    from: crm.contacts
    to: desk.requesters
    fields:
      name: "join(' ', [First_Name, Last_Name]"
      email: lowr(Email)
"""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Any attempt to open a network connection is recorded (and refused)."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network use during validate")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_five_mistakes_five_problems_at_their_line_and_column(
    cli: Any, workdir: Path, no_network: list[Any]
) -> None:
    # ALL-2
    Path("spec.yaml").write_text(FIVE_MISTAKES)
    before = sorted(p.name for p in workdir.rglob("*"))

    result = cli("validate", "spec.yaml")

    assert result.exit_code == 2
    problems = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("spec.yaml:") and ": " in line
    ]
    problems = [line for line in problems if not line.endswith("problems")]
    assert problems == [
        "spec.yaml:9:9: there is no connection 'dsk' (did you mean 'desk'?) (at $.flows.accounts.to)",
        "spec.yaml:10:28: 'queu' is not one of create, skip, queue (did you mean 'queue'?) (at $.flows.accounts.unmatched.first_run)",
        "spec.yaml:11:5: unknown key 'fiedls' (did you mean 'fields'?) (at $.flows.accounts.fiedls)",
        "spec.yaml:18:47: invalid expression \"join(' ', [First_Name, Last_Name]\": Incomplete expression (at $.flows.contacts.fields.name)",
        "spec.yaml:19:14: unknown function lowr() (did you mean lower()?) (at $.flows.contacts.fields.email)",
    ]
    assert "spec.yaml: 5 problems" in result.stdout
    assert sorted(p.name for p in workdir.rglob("*")) == before  # no file written
    assert no_network == []


def test_valid_spec_is_ok(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(
        FIVE_MISTAKES.replace("dsk.", "desk.")
        .replace("queu,", "queue,")
        .replace("fiedls", "fields")
        .replace('Last_Name]"', 'Last_Name])"')
        .replace("lowr(", "lower(")
    )

    result = cli("validate", "spec.yaml")

    assert result.exit_code == 0, result.output
    assert "spec.yaml: ok (2 connections, flows: accounts, contacts)" in result.stdout


def test_unsafe_yaml_is_refused_before_anything_runs(cli: Any, workdir: Path) -> None:
    # RELIABILITY T14: tags, duplicate keys, alias bombs and huge files.
    marker = workdir / "pwned"
    Path("tag.yaml").write_text(
        f'integrate: 1\nname: !!python/object/apply:os.system ["touch {marker}"]\n'
    )
    Path("dup.yaml").write_text("integrate: 1\nname: a\nname: b\n")
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 9)]
    Path("bomb.yaml").write_text("\n".join(levels) + "\n")
    Path("big.yaml").write_text("# " + "x" * (5 * 1024 * 1024) + "\n")

    outputs = {
        name: cli("validate", name) for name in ("tag.yaml", "dup.yaml", "bomb.yaml", "big.yaml")
    }

    assert all(r.exit_code == 2 for r in outputs.values())
    assert (
        "tag.yaml:2:7: YAML tag !!python/object/apply:os.system is not allowed in specs"
        in outputs["tag.yaml"].stdout
    )
    assert (
        "dup.yaml:3:1: duplicate key 'name' (first defined at line 2)" in outputs["dup.yaml"].stdout
    )
    assert "YAML anchors (&a0) are not allowed in specs" in outputs["bomb.yaml"].stdout
    assert "specs are limited to 1,048,576 bytes" in outputs["big.yaml"].stdout
    assert not marker.exists()


def test_unset_environment_variable_is_a_warning_for_validate_and_an_error_for_run(
    cli: Any, workdir: Path
) -> None:
    Path("spec.yaml").write_text(
        "integrate: 1\nname: env\nconnections:\n  a: {plugin: files, config: {path: '${env:DATA_DIR_UNSET}/a'}}\n"
        "flows:\n  f: {from: a.x, to: a.y, fields: {n: n}}\n"
    )

    checked = cli("validate", "spec.yaml")
    ran = cli("run", "spec.yaml")

    assert checked.exit_code == 0
    assert (
        "spec.yaml:4:37: warning: environment variable DATA_DIR_UNSET is not set" in checked.stdout
    )
    assert ran.exit_code == 2
    assert "spec.yaml:4:37: environment variable DATA_DIR_UNSET is not set" in ran.stderr


def test_validate_imports_no_http_client_and_no_emulator() -> None:
    """Start-up: a command that sends nothing imports neither httpx nor an emulator."""
    spec = Path(__file__).resolve().parents[2] / "specs/zoho_crm-servicedesk_msp.yaml"
    code = (
        "import sys\n"
        "from integrate.cli import main\n"
        "try:\n"
        f"    main(['validate', {str(spec)!r}], standalone_mode=False)\n"
        "finally:\n"
        "    print(sorted(m for m in sys.modules if m == 'httpx' or m.endswith(('_crm.emulator', '_msp.emulator'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "ok (2 connections" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


FOUR_MISSES = """\
integrate: 1
name: four-misses
schedule: "0 25 * * *"
connections:
  crm: {plugin: files, config: {path: ./crm, fields: [Email, Name]}}
  desk: {plugin: files, config: {path: ./desk}}
flows:
  people:
    from: crm.people
    to: desk.users
    match: [[Email, email]]
    fields:
      email: Emial
      account: let.acount.id
"""


def test_the_validation_misses_of_issue_9_are_each_found_at_their_place(
    cli: Any, workdir: Path, no_network: list[Any]
) -> None:
    # Before: this spec was "ok": Emial wrote null everywhere, let.acount read nothing,
    # and the schedule was only "not a valid cron expression".
    Path("spec.yaml").write_text(FOUR_MISSES)

    result = cli("validate", "spec.yaml", "--json")

    assert result.exit_code == 2
    found = [(p["line"], p["col"], p["message"]) for p in json.loads(result.stdout)]
    assert found == [
        (
            3,
            14,
            "'0 25 * * *' is not a valid cron expression: hour 25 is out of range 0\u201323"
            " (minute hour day month weekday)",
        ),
        (13, 14, "files crm.people has no field 'Emial' to read (did you mean 'Email'?)"),
        (
            14,
            16,
            "let.acount is not defined: this flow has no `let:` block"
            " (add one: let: {acount: <expression>})",
        ),
    ]
    assert no_network == []


def test_a_tab_in_the_indentation_says_use_spaces(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(FOUR_MISSES.replace("    from: crm.people", "\tfrom: crm.people"))

    result = cli("validate", "spec.yaml")

    assert result.exit_code == 2
    assert result.stdout.splitlines()[0] == (
        "spec.yaml:9:1: YAML syntax: a tab in the indentation: YAML indents with spaces only"
        " (replace the tab with spaces)"
    )
