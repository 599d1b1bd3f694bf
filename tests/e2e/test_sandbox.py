"""`integrate run --sandbox`: the spec against its plugins' emulators, seeded with its demo
data, kept between sandbox commands until --fresh; the real state is never touched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import read_jsonl, repo_root


def copy_example(workdir: Path) -> Path:
    shutil.copytree(repo_root() / "examples/data", workdir / "data")
    spec = workdir / "files-demo.yaml"
    spec.write_text((repo_root() / "examples/files-demo.yaml").read_text())
    return spec


def test_sandbox_runs_pending_resolution_and_runs_again(cli: Any, workdir: Path) -> None:
    spec = str(copy_example(workdir))
    sandbox = workdir / ".integrate/sandbox/files-demo"

    first = cli("run", spec, "--sandbox", "--fresh")

    assert first.exit_code == 0, first.output
    assert f"next: integrate pending list {spec} --sandbox" in first.stdout
    assert not (workdir / ".integrate/state.db").exists()  # the real state is untouched
    assert (
        len(read_jsonl(sandbox / "desk/companies.jsonl")) == 3
    )  # nothing created on the first run
    listing = json.loads(cli("pending", "list", spec, "--sandbox", "--json").stdout)
    assert {row["source_id"] for row in listing} == {"A-102", "A-103"}

    assert (
        cli("pending", "resolve", spec, "companies", "A-102", "--create", "--sandbox").exit_code
        == 0
    )
    second = cli("run", spec, "--sandbox", "--json")

    assert second.exit_code == 0, second.output
    names = [c["name"] for c in read_jsonl(sandbox / "desk/companies.jsonl")]
    assert "Initech" in names
    users = {u["email"] for u in read_jsonl(sandbox / "desk/users.jsonl")}
    assert "alan@initech.example" in users  # deferred until its company existed
    # The seed data in the repository is never written to.
    assert len(read_jsonl(workdir / "data/desk/companies.jsonl")) == 3

    fresh = cli("run", spec, "--sandbox", "--fresh", "--json")
    assert json.loads(fresh.stdout)["flows"][0]["totals"]["queued"] == 2


def test_fresh_without_sandbox_is_a_usage_error(cli: Any, workdir: Path) -> None:
    spec = str(copy_example(workdir))

    result = cli("run", spec, "--fresh")

    assert result.exit_code == 2
    assert "--fresh starts a sandbox over" in result.stderr
