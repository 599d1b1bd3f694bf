"""The state file is the user's alone and damage to it is reported, never run past.

It holds access tokens and copies of records: the state folder integrate creates is 0700, and
every file it writes there 0600 (the db and its -wal/-shm, lock files, failed-records files,
sandbox data), whatever the umask; files it owns that are open to others are tightened, a
folder it did not create is left alone with a warning."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate.state import StateStore
from tests.conftest import people_sync, write_jsonl
from tests.e2e.sdp import Sdp

# A rule of the flow: the second person fails on purpose, in every run.
REFUSE_BAD = """\
    rules:
      - when: "email == 'bad@example.com'"
        fail: refused on purpose
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
    people = [
        {"id": "1", "email": "a@example.com", "name": "A"},
        {"id": "2", "email": "bad@example.com", "name": "B"},
    ]
    people_sync(
        workdir, people, name="private", fields="{email: email, name: name}", more=REFUSE_BAD
    )
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
            store.set_cursor("flow", "side", {"time": "t"})
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
    shared.mkdir()
    shared.chmod(0o775)  # the group may write in it

    result = run(cli, "--state", "shared/state.db", "--failures", "shared/failed.jsonl")

    assert mode(shared) == 0o775
    assert mode(shared / "state.db") == 0o600
    assert mode(shared / "failed.jsonl") == 0o600
    assert f"folder {Path('shared')} is open to other users (mode 0o775)" in result.stderr
    assert result.stderr.count("open to other users") == 1


def test_a_usual_project_folder_others_may_only_read_gets_no_warning(
    cli: Any, people: Path, umask_022: None
) -> None:
    project = people / "project"
    project.mkdir(mode=0o755)

    result = run(cli, "--state", "project/state.db", "--failures", "project/failed.jsonl")

    assert mode(project / "state.db") == 0o600
    assert "open to other users" not in result.stderr


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


# ---- a damaged file, a full disk -----------------------------------------------------------


def synced(cli: Any, workdir: Path, count: int) -> None:
    """A state file that links `count` people (a run of the spec), checkpointed and closed."""
    write_jsonl(
        workdir / "src/people.jsonl",
        [{"id": str(i), "email": f"p{i}@example.com", "name": "N" * 40} for i in range(count)],
    )
    result = cli("run", "spec.yaml", "--state", "state.db")
    assert result.exit_code == 0, result.output


def damage_a_page(path: Path) -> None:
    """Overwrite the root page of the links' second index with garbage: a run that does
    not look links up by their target never reads it."""
    db = sqlite3.connect(path)
    try:
        [(root,)] = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'links_by_b'"
        ).fetchall()
        [(size,)] = db.execute("PRAGMA page_size").fetchall()
    finally:
        db.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(b"\xde\xad\xbe\xef" * (size // 4))


@pytest.mark.parametrize(
    "command",
    [("run",), ("run", "--dry-run"), ("failures", "retry"), ("state", "show")],
    ids=" ".join,
)
def test_a_damaged_page_is_reported_with_what_to_do_never_run_past(
    cli: Any, people: Path, command: tuple[str, ...]
) -> None:
    synced(cli, people, 400)
    damage_a_page(people / "state.db")

    result = cli(*command, "spec.yaml", "--state", "state.db")

    assert result.exit_code == 1, result.output
    assert "the state file state.db is damaged" in result.stderr
    assert "Restore it from a backup, or move it aside" in result.stderr
    assert "the next run then starts over with empty state, matching records by their keys" in (
        result.stderr
    )
    assert "nothing in any system is deleted" in result.stderr
    assert "Traceback" not in result.output
    assert "people: read" not in result.stderr  # nothing was read before the check


def test_a_state_file_moved_aside_lets_the_next_run_start_over_by_keys(
    cli: Any, people: Path
) -> None:
    synced(cli, people, 50)
    damage_a_page(people / "state.db")
    (people / "state.db").rename(people / "state.db.damaged")

    result = cli("run", "spec.yaml", "--state", "state.db", "--json")

    assert result.exit_code == 0, result.output
    [flow] = json.loads(result.stdout)["flows"]
    assert flow["totals"]["unchanged"] == 50  # matched by key: nothing created twice
    assert flow["totals"]["created"] == 0


def test_an_unwritable_failed_records_file_is_a_clean_error(cli: Any, people: Path) -> None:
    (people / "taken").write_text("")  # a file where its folder should be

    result = cli("run", "spec.yaml", "--failures", "taken/failed.jsonl")

    assert result.exit_code == 1
    assert (
        "cannot write the failed-records file taken/failed.jsonl: Not a directory" in result.stderr
    )
    assert "Traceback" not in result.output


def _can_mount_a_tiny_filesystem(where: Path) -> bool:
    """A user and mount namespace of our own (no root needed where the kernel allows it)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {where}"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    return probe.returncode == 0


def test_a_full_disk_is_a_clean_error_and_the_state_still_holds(cli: Any, people: Path) -> None:
    tiny = people / "tiny"
    tiny.mkdir(mode=0o700)
    if not _can_mount_a_tiny_filesystem(tiny):
        pytest.skip("no unprivileged mount namespaces here (unshare -rm)")
    synced(cli, people, 300)
    good = people / "state.db"
    more = [{"id": str(i), "email": f"p{i}@example.com", "name": "N" * 40} for i in range(5300)]
    write_jsonl(people / "src/people.jsonl", more)
    size_k = good.stat().st_size // 1024 + 96  # the file, and room for less than one batch
    script = f"""
mount -t tmpfs -o size={size_k}k,mode=700 tmpfs tiny || exit 99
cp state.db tiny/state.db
"{sys.executable}" -m integrate run spec.yaml --state tiny/state.db 2> tiny-stderr
echo "exit=$?"
"{sys.executable}" -c "
import sqlite3
db = sqlite3.connect('tiny/state.db')
print('check=' + db.execute('PRAGMA quick_check').fetchone()[0])
print('links=%d' % db.execute('SELECT COUNT(*) FROM links').fetchone()[0])
print('runs=' + ','.join(r[0] for r in db.execute('SELECT status FROM runs ORDER BY run_id')))
"
"""
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=people,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = dict(line.split("=", 1) for line in done.stdout.split() if "=" in line)
    stderr = (people / "tiny-stderr").read_text()

    assert out["exit"] == "1", stderr
    assert "the disk holding the state file tiny/state.db is full" in stderr
    assert "free some space and run again" in stderr
    assert "Traceback" not in stderr
    assert out["check"] == "ok"
    assert out["links"] == "300"  # what the last committed batch left
    assert out["runs"] == "succeeded,failed"
