"""Schedules: cron read in the spec's time zone, a flow's own schedule over the spec's, and
the serve loop that runs them when due (on a fake clock: no test waits for real time)."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from integrate.http import FakeClock
from integrate.model import Spec
from integrate.plugins import Plugins, make_plugins
from integrate.schedule import Due, schedules, serve, upcoming
from tests.unit.test_build import build, problems

SPEC = """\
integrate: 1
name: nightly
timezone: Europe/Warsaw
schedule: "0 2 * * *"
connections:
  a: {plugin: files, config: {path: a}}
  b: {plugin: files, config: {path: b}}
flows:
  people:
    from: a.people
    to: b.people
    match: [[email, email]]
  hourly:
    from: a.orders
    to: b.orders
    match: [[id, id]]
    schedule: "30 * * * *"
  off:
    from: a.notes
    to: b.notes
    match: [[id, id]]
    enabled: false
"""


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Plugins:
    monkeypatch.delenv("INTEGRATE_BLOCK_PLUGINS", raising=False)
    return make_plugins()


def nightly(tmp_path: Path, plugins: Plugins) -> Spec:
    return build(tmp_path / "spec.yaml", SPEC, plugins)


def test_a_flow_s_own_schedule_wins_and_disabled_flows_never_run(
    tmp_path: Path, plugins: Plugins
) -> None:
    assert schedules(nightly(tmp_path, plugins)) == {
        "0 2 * * *": ("people",),
        "30 * * * *": ("hourly",),
    }


def test_cron_is_read_in_the_spec_s_time_zone(tmp_path: Path, plugins: Plugins) -> None:
    spec = nightly(tmp_path, plugins)
    start = dt.datetime(2026, 11, 23, 0, 45, tzinfo=dt.UTC)  # 01:45 in Warsaw (UTC+1)

    runs = list(itertools.islice(upcoming([spec], start), 3))

    # 01:45 in Warsaw: the nightly 02:00 (Warsaw) is 01:00 UTC in winter; :30 hourly
    assert [(r.at.astimezone(dt.UTC).strftime("%H:%M"), r.flows) for r in runs] == [
        ("01:00", ("people",)),
        ("01:30", ("hourly",)),
        ("02:30", ("hourly",)),
    ]
    assert runs[0].at.strftime("%H:%M %Z") == "02:00 CET"


def test_an_unknown_time_zone_is_a_spec_error_at_its_line(tmp_path: Path, plugins: Plugins) -> None:
    text = SPEC.replace("Europe/Warsaw", "Europe/Atlantis")

    assert problems(tmp_path / "spec.yaml", text, plugins) == [
        "spec.yaml:3:11: 'Europe/Atlantis' is not a time zone this machine knows (an IANA "
        "name such as 'Europe/Warsaw' or 'UTC') (at $.timezone)"
    ]


def test_serve_sleeps_until_each_run_falls_due_and_runs_its_flows(
    tmp_path: Path, plugins: Plugins
) -> None:
    spec = nightly(tmp_path, plugins)
    clock = FakeClock(dt.datetime(2026, 11, 23, 0, 45, tzinfo=dt.UTC).timestamp())
    made: list[tuple[str, tuple[str, ...]]] = []

    def run(due: Due) -> None:
        now = dt.datetime.fromtimestamp(clock.now(), dt.UTC)
        made.append((now.strftime("%H:%M"), due.flows))

    assert serve([spec], run, clock, max_runs=2) == 2
    assert made == [("01:00", ("people",)), ("01:30", ("hourly",))]


def test_a_run_that_falls_due_during_a_long_run_is_skipped_not_piled_up(
    tmp_path: Path, plugins: Plugins
) -> None:
    spec = nightly(tmp_path, plugins)
    clock = FakeClock(dt.datetime(2026, 11, 23, 0, 45, tzinfo=dt.UTC).timestamp())
    made: list[str] = []

    def slow_run(due: Due) -> None:
        made.append(dt.datetime.fromtimestamp(clock.now(), dt.UTC).strftime("%H:%M"))
        clock.advance(2 * 3600)  # each run takes two hours

    serve([spec], slow_run, clock, max_runs=2)

    # 01:00 runs until 03:00: the 01:30 and 02:30 runs are skipped; the next is 03:30
    assert made == ["01:00", "03:30"]
