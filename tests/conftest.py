"""Shared fixtures: a CLI runner, a fresh working folder per test, a real PostgreSQL server
and a fresh database on it per test; and helpers: JSON-lines files, the files → files sync of
people several tests run."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integrate.cli import main
from tests import pgcluster


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory with INTEGRATE_HOME inside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INTEGRATE_HOME", str(tmp_path / ".integrate"))
    monkeypatch.delenv("INTEGRATE_BLOCK_PLUGINS", raising=False)
    monkeypatch.delenv("INTEGRATE_PLUGINS", raising=False)
    return tmp_path


@pytest.fixture
def cli(workdir: Path) -> Any:
    """Run `integrate ...` in-process; returns exit code, stdout and stderr."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> CliResult:
        runner = CliRunner()
        result = runner.invoke(main, list(args), env=env, input=input, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a real PostgreSQL server (superuser, database `postgres`): INTEGRATE_TEST_PG
    when set (`make test` starts one cluster for the run), else a cluster of this session's
    own, stopped at its end. It fails, never skips, when PostgreSQL cannot start."""
    given = os.environ.get(pgcluster.ENV_URL)
    if given:
        yield given
        return
    try:
        cluster = pgcluster.start()
    except pgcluster.ClusterError as exc:
        pytest.fail(f"PostgreSQL for the tests could not start: {exc}", pytrace=False)
    try:
        yield cluster.url
    finally:
        pgcluster.stop(cluster)


_databases = itertools.count(1)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database for this test (its URL), dropped after it even if a connection
    was left open."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    # the pid too: two pytest runs may share a developer's server (`make postgres`)
    name = f"test_{worker}_{os.getpid()}_{next(_databases)}"
    url = pgcluster.fresh_database(pg_server, name)
    yield url
    pgcluster.drop_database(pg_server, name)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def edited_copy(spec: Path, folder: Path, *changes: tuple[str, str]) -> Path:
    """An operator's copy of `spec` in `folder` with these (old, new) text edits, each made
    once and each asserted to apply (same name, so the same integration)."""
    text = spec.read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / spec.name
    path.write_text(text)
    return path


PEOPLE_SYNC = """\
integrate: 1
name: %(name)s
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: files, config: {path: ./dst}}
flows:
  people:
    from: src.people
    to: dst.people
    match: [[email, email]]
%(more)s    fields: %(fields)s
"""


def people_sync(
    root: Path,
    people: list[dict[str, Any]],
    *,
    name: str,
    fields: str = "{email: email}",
    more: str = "",
) -> Path:
    """A files → files sync of people matched by email, laid out in `root`: spec.yaml (the
    integration `name`; `more` is YAML added to the flow, `fields` its field map),
    src/people.jsonl holding `people`, and an empty dst/. Returns the spec's path."""
    spec = root / "spec.yaml"
    spec.write_text(PEOPLE_SYNC % {"name": name, "more": more, "fields": fields})
    write_jsonl(root / "src/people.jsonl", people)
    (root / "dst").mkdir()
    return spec
