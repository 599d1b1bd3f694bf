"""`integrate schedule` lists when specs run; `integrate serve` runs them (here: once, now,
in the sandbox, so no test waits for a cron time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import read_jsonl
from tests.e2e.test_sandbox import copy_example


def test_schedule_lists_the_next_runs_in_the_spec_s_time_zone(cli: Any, workdir: Path) -> None:
    spec = copy_example(workdir)
    spec.write_text(
        spec.read_text().replace('schedule: "0 2', 'timezone: Asia/Tokyo\nschedule: "0 2')
    )

    out = cli("schedule", str(spec), "--from", "2026-11-23T12:00", "--count", "2")

    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == [
        "2026-11-24T02:00+09:00 files-demo: companies, people",
        "2026-11-25T02:00+09:00 files-demo: companies, people",
    ]


def test_a_spec_without_a_schedule_says_so(cli: Any, workdir: Path) -> None:
    spec = copy_example(workdir)
    spec.write_text(spec.read_text().replace('schedule: "0 2 * * *"', ""))

    listed = cli("schedule", str(spec))
    served = cli("serve", str(spec), "--sandbox")

    assert "files-demo: no schedule (set `schedule:` on the spec or on a flow)" in listed.stdout
    assert served.exit_code == 2
    assert "no schedule to serve" in served.stderr


def test_serve_runs_the_scheduled_flows_and_prints_each_summary(cli: Any, workdir: Path) -> None:
    spec = copy_example(workdir)

    out = cli("serve", str(spec), "--sandbox", "--run-now", "--max-runs", "1")

    assert out.exit_code == 0, out.output
    assert "files-demo: companies, people" in out.stdout
    assert "finished: succeeded" in out.stdout
    # the demo helpdesk starts with 2 users; the run creates the 2 CRM contacts it can place
    people = read_jsonl(workdir / ".integrate/sandbox/files-demo/desk/users.jsonl")
    assert len(people) == 4
