"""ALL-6: a run killed (SIGKILL) at seeded random points and restarted ends with exactly the
target files of an uninterrupted run: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SEED = 20261122
KILLS = 10

SPEC = """\
integrate: 1
name: kill-restart
connections:
  src: {plugin: files, config: {path: ./src, cursor_field: changed}}
  dst: {plugin: files, config: {path: ./dst}}
flows:
  accounts:
    from: src.accounts
    to: dst.accounts
    batch_size: 10
    match: [[name, title]]
    fields: {title: name, city: city, code: "upper(code)"}
    on_create: {origin: "'src'"}
"""


def make_world(root: Path) -> None:
    rnd = random.Random(SEED)
    (root / "src").mkdir(parents=True)
    (root / "dst").mkdir(parents=True)
    source = [
        {
            "id": f"s{i}",
            "name": f"Company {i:05d}",
            "city": rnd.choice(["Austin", "Berlin", "Zürich"]),
            "code": f"c{i}",
            "changed": f"{i:06d}",
        }
        for i in range(5000)
    ]
    (root / "src/accounts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in source))
    # 400 existing target records match a source record by name (case differs) and get updated.
    target = [
        {"id": str(9000 + i), "title": f"COMPANY {i * 12:05d}", "city": "old", "keep": i}
        for i in range(400)
    ]
    (root / "dst/accounts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in target))
    (root / "spec.yaml").write_text(SPEC)


def start(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "INTEGRATE_HOME": str(root / ".integrate")}
    return subprocess.Popen(
        [sys.executable, "-m", "integrate", "run", "spec.yaml", "--state", "state.db"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def run_to_end(root: Path) -> None:
    process = start(root)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()


def written(root: Path) -> int:
    """Bytes in the target folder (base and changes files)."""
    return sum(p.stat().st_size for p in (root / "dst").iterdir() if p.is_file())


def target_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "dst").iterdir())}


@pytest.mark.slow
def test_killed_runs_end_with_the_same_target_as_an_uninterrupted_run(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    killed = tmp_path / "killed"
    make_world(clean)
    shutil.copytree(clean, killed)

    run_to_end(clean)
    expected = target_files(clean)

    # A random point = after a seeded amount of target growth, plus a seeded extra moment,
    # so kills land between appends, between an append and its state commit, and elsewhere.
    rnd = random.Random(SEED)
    kills = 0
    for _ in range(KILLS):
        before = written(killed)
        growth = rnd.randint(2_000, 30_000)
        extra = rnd.uniform(0, 0.02)
        process = start(killed)
        while process.poll() is None and written(killed) - before < growth:
            time.sleep(0.002)
        time.sleep(extra)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
    run_to_end(killed)

    assert kills == KILLS, f"only {kills} of {KILLS} runs were still running when killed"
    assert target_files(killed) == expected
    records = [json.loads(line) for line in expected["accounts.jsonl"].splitlines()]
    titles = [r["title"] for r in records]
    assert (
        len(titles) == len(set(titles)) == 5000 + 0
    )  # every source record once; the 400 matched, not duplicated
    assert sum(1 for r in records if "keep" in r) == 400
