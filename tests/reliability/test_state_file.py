"""The state file is the user's alone and damage to it is reported, never run past.

It holds access tokens and copies of records: the state folder integrate creates is 0700, and
every file it writes there 0600 (the db and its -wal/-shm, lock files, failed-records files,
sandbox data), whatever the umask; files it owns that are open to others are tightened, a
folder it did not create is left alone with a warning."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate.state import StateStore
from tests.conftest import write_jsonl
from tests.e2e.sdp import Sdp

SPEC = """\
integrate: 1
name: private
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: files, config: {path: ./dst}}
flows:
  people:
    from: src.people
    to: dst.people
    match: [[email, email]]
    rules:
      - when: "email == 'bad@example.com'"
        fail: refused on purpose
    fields: {email: email, name: name}
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default umask, under which a plain create is 0644 and a folder 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def people(workdir: Path) -> Path:
    (workdir / "spec.yaml").write_text(SPEC)
    write_jsonl(
        workdir / "src/people.jsonl",
        [
            {"id": "1", "email": "a@example.com", "name": "A"},
            {"id": "2", "email": "bad@example.com", "name": "B"},
        ],
    )
    (workdir / "dst").mkdir()
    return workdir


def run(cli: Any, *args: str) -> Any:
    result = cli("run", "spec.yaml", *args)
    assert result.exit_code == 3, result.output  # one record failed on purpose
    return result


# ---- permissions ----------------------------------------------------------------------------


def test_the_state_folder_is_0700_and_every_file_in_it_0600(
    cli: Any, people: Path, umask_022: None
) -> None:
    home = people / ".integrate"

    result = run(cli)

    assert mode(home) == 0o700
    files = sorted(p.name for p in home.iterdir())
    assert files == ["private.failed.jsonl", "state.db", "state.db.private.lock"]
    assert {p.name: mode(p) for p in home.iterdir()} == dict.fromkeys(files, 0o600)
    assert "open to other users" not in result.stderr


def test_the_wal_and_shm_files_take_the_state_files_mode(people: Path, umask_022: None) -> None:
    path = people / ".integrate/state.db"
    store = StateStore(path, "private", lock=True)
    try:
        with store.transaction():
            store.save_token("crm", {"access_token": "t", "expires_at": 1.0})
        modes = {p.name: mode(p) for p in path.parent.iterdir()}
    finally:
        store.close()

    assert modes == {
        "state.db": 0o600,
        "state.db-wal": 0o600,
        "state.db-shm": 0o600,
        "state.db.private.lock": 0o600,
    }


def test_files_integrate_owns_that_are_open_to_others_are_tightened(
    cli: Any, people: Path, umask_022: None
) -> None:
    run(cli)
    home = people / ".integrate"
    for path in home.iterdir():
        path.chmod(0o644)

    run(cli)

    assert {p.name: mode(p) for p in home.iterdir()} == {
        "private.failed.jsonl": 0o600,
        "state.db": 0o600,
        "state.db.private.lock": 0o600,
    }


def test_a_folder_integrate_did_not_create_is_left_as_it_is_with_a_warning(
    cli: Any, people: Path, umask_022: None
) -> None:
    shared = people / "shared"
    shared.mkdir(mode=0o755)

    result = run(cli, "--state", "shared/state.db", "--failures", "shared/failed.jsonl")

    assert mode(shared) == 0o755
    assert mode(shared / "state.db") == 0o600
    assert mode(shared / "failed.jsonl") == 0o600
    assert f"folder {Path('shared')} is open to other users (mode 0o755)" in result.stderr
    assert result.stderr.count("open to other users") == 1


def test_sandbox_data_is_private_too(cli: Any, workdir: Path, umask_022: None) -> None:
    sdp = Sdp(cli)
    sdp.run("--fresh")

    folder = workdir / ".integrate/sandbox"
    found = {p.relative_to(workdir): mode(p) for p in folder.rglob("*")}
    assert {p.name for p in found} >= {"state.db", "sandbox.json", "zoho_crm.json"}
    assert {m for p, m in found.items() if (workdir / p).is_file()} == {0o600}
    assert {m for p, m in found.items() if (workdir / p).is_dir()} == {0o700}
    assert mode(workdir / ".integrate") == 0o700
    assert json.loads((folder / "zoho-crm-to-servicedesk-msp/sandbox.json").read_text())
