"""`integrate run` and the state commands with the state on PostgreSQL (a real server): the
same outcomes as on a file, the URL from $INTEGRATE_STATE or --state, its password never
shown, and never accepted in a spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import read_jsonl, write_jsonl

SPEC = """\
integrate: 1
name: items
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: files, config: {path: ./dst}}
flows:
  items:
    from: src.items
    to: dst.items
    fields:
      id: code
      born: "date(born, '%Y-%m-%d')"
"""

RECORDS = [
    {"id": "1", "code": "a", "born": "2020-01-02"},
    {"id": "2", "code": "b", "born": "not a date"},
    {"id": "3", "code": "c", "born": "2021-03-04"},
]


def _setup(workdir: Path) -> None:
    (workdir / "items.yaml").write_text(SPEC)
    write_jsonl(workdir / "src/items.jsonl", RECORDS)


def _password(url: str) -> str:
    password = urlsplit(url).password
    assert password
    return password


def test_a_run_on_postgres_writes_what_a_run_on_a_file_writes(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    _setup(workdir)
    on_file = cli("run", "items.yaml", "--state", "state.db", "--json")
    assert on_file.exit_code == 3, on_file.output  # one record fails, by design
    from_file = read_jsonl(workdir / "dst/items.jsonl")
    (workdir / "dst/items.jsonl").unlink()

    first = cli("run", "items.yaml", "--json", env={"INTEGRATE_STATE": pg_url})

    assert first.exit_code == 3, first.output
    assert read_jsonl(workdir / "dst/items.jsonl") == from_file
    assert len(from_file) == 2
    report = json.loads(first.stdout)
    assert report["run_id"] == 1
    assert report["state"].startswith("postgresql://integrate:***@127.0.0.1:")
    assert _password(pg_url) not in first.stdout + first.stderr
    again = cli("run", "items.yaml", "--state", pg_url, "--json")
    assert again.exit_code == 3, again.output
    [flow] = json.loads(again.stdout)["flows"]
    assert (flow["totals"]["created"], flow["totals"]["updated"]) == (0, 0)  # nothing twice
    assert len(read_jsonl(workdir / "dst/items.jsonl")) == 2


def test_state_show_and_failures_list_read_the_database(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    _setup(workdir)
    env = {"INTEGRATE_STATE": pg_url}
    assert cli("run", "items.yaml", env=env).exit_code == 3

    shown = cli("state", "show", "items.yaml", "--json", env=env)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert [r["status"] for r in data["runs"]] == ["completed_with_errors"]
    failures = cli("failures", "list", "items.yaml", "--json", env=env)
    assert failures.exit_code == 0, failures.output
    [failure] = json.loads(failures.stdout)
    assert failure["source_id"] == "2"
    assert "not a date" in failure["reason"]
    assert data["state"].startswith("postgresql://integrate:***@127.0.0.1:")
    text = cli("state", "show", "items.yaml", "--state", pg_url)
    assert "integration items (state postgresql://integrate:***@127.0.0.1:" in text.stdout
    assert _password(pg_url) not in text.stdout + text.stderr


def test_a_dry_run_on_postgres_writes_nothing(cli: Any, workdir: Path, pg_url: str) -> None:
    _setup(workdir)
    env = {"INTEGRATE_STATE": pg_url}
    plan = cli("run", "items.yaml", "--dry-run", "--json", env=env)
    assert plan.exit_code in (0, 3), plan.output
    assert not (workdir / "dst/items.jsonl").exists()
    shown = json.loads(cli("state", "show", "items.yaml", "--json", env=env).stdout)
    assert shown["runs"] == []


def test_a_database_url_in_a_spec_is_refused_where_it_is(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    _setup(workdir)
    text = SPEC.replace("name: items\n", f"name: items\nstate: {pg_url}\n")
    (workdir / "items.yaml").write_text(text)

    result = cli("validate", "items.yaml")

    assert result.exit_code != 0
    assert "items.yaml:3:8: `state` is a file's path" in result.output
    assert "never in a spec" in result.output
    assert _password(pg_url) not in result.output


def test_a_server_that_does_not_answer_is_one_line_without_the_password(
    cli: Any, workdir: Path, pg_url: str
) -> None:
    _setup(workdir)
    parts = urlsplit(pg_url)
    dead = pg_url.replace(f":{parts.port}/", ":1/")  # nothing listens on port 1

    result = cli("run", "items.yaml", "--state", dead)

    assert result.exit_code != 0
    assert "cannot connect to the state database postgresql://integrate:***@127.0.0.1:1/" in (
        result.stderr
    )
    assert _password(pg_url) not in result.output
    assert "Traceback" not in result.output


def test_a_password_in_the_urls_query_is_hidden_too(cli: Any, workdir: Path, pg_url: str) -> None:
    _setup(workdir)
    parts = urlsplit(pg_url)
    secret = _password(pg_url)
    # libpq takes the password as a query parameter as well as in the user part
    dead = f"postgresql://{parts.username}@127.0.0.1:1/postgres?password={secret}"

    result = cli("run", "items.yaml", "--state", dead)

    assert result.exit_code != 0
    assert "cannot connect to the state database postgresql://integrate@127.0.0.1:1/" in (
        result.stderr
    )
    assert "password=***" in result.stderr
    assert secret not in result.output
    assert "Traceback" not in result.output


def test_a_state_file_that_is_a_folder_is_still_a_usage_error(cli: Any, workdir: Path) -> None:
    _setup(workdir)
    (workdir / "folder").mkdir()

    for args in (("run", "items.yaml"), ("state", "show", "items.yaml")):
        result = cli(*args, "--state", "folder")

        assert result.exit_code == 2, result.output  # as before a URL was taken here too
        assert "Invalid value for '--state'" in result.stderr
        assert "is a directory" in result.stderr


def test_a_url_of_another_scheme_is_refused_and_not_made_a_file(cli: Any, workdir: Path) -> None:
    _setup(workdir)

    # a SQLAlchemy-style URL, say: not taken as a file's path (folders named after it)
    result = cli("run", "items.yaml", "--state", "postgresql+psycopg://app:s3cr3t-pw@db/integrate")

    assert result.exit_code == 2, result.output
    assert "postgresql+psycopg:// URL" in result.stderr
    assert "s3cr3t-pw" not in result.output
    assert not (workdir / "postgresql+psycopg:").exists()
