"""Run numbers are per integration: two specs sharing one state file each count their own
runs (#1, #2 ...) in the run summary, `state show`, the JSON report and the failures a run
left; a file an older version wrote, where they shared one sequence, is renumbered on open."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import write_jsonl

SPEC = """\
integrate: 1
name: %(name)s
connections:
  src: {plugin: files, config: {path: ./src-%(name)s}}
  dst: {plugin: files, config: {path: ./dst-%(name)s}}
flows:
  items:
    from: src.items
    to: dst.items
    fields:
      id: code
      born: "date(born, '%%Y-%%m-%%d')"
"""


def _specs(workdir: Path) -> None:
    for name in ("alpha", "beta"):
        (workdir / f"{name}.yaml").write_text(SPEC % {"name": name})
        write_jsonl(
            workdir / f"src-{name}/items.jsonl",
            [{"id": "1", "code": "a", "born": "2020-01-02"}, {"id": "2", "code": "b", "born": "x"}],
        )


def _run(cli: Any, name: str) -> Any:
    result = cli("run", f"{name}.yaml", "--state", "state.db")
    assert result.exit_code == 3, result.output  # one record fails: exit 3, by design
    return result


def _shown(cli: Any, name: str) -> dict[str, Any]:
    shown = cli("state", "show", f"{name}.yaml", "--state", "state.db", "--json")
    assert shown.exit_code == 0, shown.output
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def _failure_runs(cli: Any, name: str) -> list[int]:
    listed = cli("failures", "list", f"{name}.yaml", "--all", "--state", "state.db", "--json")
    assert listed.exit_code == 0, listed.output
    return sorted(row["run_id"] for row in json.loads(listed.stdout))


def test_a_new_spec_in_a_shared_state_file_starts_at_run_1(cli: Any, workdir: Path) -> None:
    _specs(workdir)
    for _ in range(3):
        _run(cli, "alpha")

    first = _run(cli, "beta")

    assert "beta: run #1" in first.stdout
    assert "#4" not in first.stdout
    report = json.loads(cli("run", "beta.yaml", "--state", "state.db", "--json").stdout)
    assert report["run_id"] == 2
    assert [r["run_id"] for r in _shown(cli, "beta")["runs"]] == [2, 1]
    assert [r["run_id"] for r in _shown(cli, "alpha")["runs"]] == [3, 2, 1]
    text = cli("state", "show", "beta.yaml", "--state", "state.db").stdout
    assert "  #1 " in text
    assert "  #2 " in text
    assert _failure_runs(cli, "beta") == [1, 2]  # the failures name the run that left them
    assert "alpha: run #4" in _run(cli, "alpha").stdout


def test_a_file_where_runs_shared_one_sequence_is_renumbered_per_integration(
    cli: Any, workdir: Path
) -> None:
    _specs(workdir)
    for name in ("alpha", "beta", "alpha", "beta", "beta"):
        _run(cli, name)
    # as version 1 kept it: one sequence for both (alpha 1, 3; beta 2, 4, 5), and the
    # failures naming those ids
    db = sqlite3.connect(workdir / "state.db")
    with db:
        db.execute("ALTER TABLE runs DROP COLUMN number")
        db.execute("ALTER TABLE runs DROP COLUMN worker")  # added by version 3
        db.execute(
            "UPDATE failures SET run_id = (SELECT COUNT(*) FROM failures AS f"
            " WHERE f.id <= failures.id)"
        )
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()

    beta = _shown(cli, "beta")

    assert [r["run_id"] for r in beta["runs"]] == [3, 2, 1]
    assert [r["run_id"] for r in _shown(cli, "alpha")["runs"]] == [2, 1]
    assert _failure_runs(cli, "beta") == [1, 2, 3]
    assert _failure_runs(cli, "alpha") == [1, 2]
    assert "beta: run #4" in _run(cli, "beta").stdout
    db = sqlite3.connect(workdir / "state.db")
    # then on to this version (3: runs.worker)
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    db.close()
