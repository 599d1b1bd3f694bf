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
from integrate.schedule import Due, Watch, schedules, serve, upcoming, watches
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


# ---- watches (CS-6) ---------------------------------------------------------------------


def watched(tmp_path: Path, plugins: Plugins) -> Spec:
    """The nightly spec with people watched every 20 minutes and hourly's source every 45."""
    text = SPEC.replace(
        "    match: [[email, email]]\n", "    match: [[email, email]]\n    watch: 20m\n", 1
    )
    text = text.replace('schedule: "30 * * * *"\n', 'schedule: "30 * * * *"\n    watch: {a: 45m}\n')
    return build(tmp_path / "spec.yaml", text, plugins)


def test_CS_6_cron_runs_and_watches_go_in_time_order_and_a_watch_runs_only_its_flow(
    tmp_path: Path, plugins: Plugins
) -> None:
    spec = watched(tmp_path, plugins)
    clock = FakeClock(dt.datetime(2026, 11, 23, 0, 45, tzinfo=dt.UTC).timestamp())
    made: list[str] = []

    def at() -> str:
        return dt.datetime.fromtimestamp(clock.now(), dt.UTC).strftime("%H:%M")

    def look(watch: Watch) -> str:
        made.append(f"{at()} look {watch.flow}")
        return "hourly: 1 changed on a since the last run" if at() == "01:30" else ""

    def run(due: Due) -> None:
        made.append(f"{at()} run {','.join(due.flows)} {due.reason}".rstrip())

    assert serve([spec], run, clock, max_runs=3, look=look) == 3
    assert made == [
        "01:00 run people",
        "01:05 look people",
        "01:25 look people",
        "01:30 run hourly",
        "01:30 look hourly",
        "01:30 run hourly hourly: 1 changed on a since the last run",
    ]


def test_CS_6_max_runs_bounds_the_runs_watches_make(tmp_path: Path, plugins: Plugins) -> None:
    spec = watched(tmp_path, plugins)
    clock = FakeClock(dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC).timestamp())
    looks: list[str] = []
    runs: list[Due] = []

    def always_changed(watch: Watch) -> str:
        looks.append(watch.flow)
        return f"{watch.flow}: 1 changed"

    assert serve([spec], runs.append, clock, max_runs=4, look=always_changed) == 4
    # 00:20 people's watch, 00:30 hourly's cron, 00:40 people's watch, 00:45 hourly's watch
    assert [(d.flows, d.reason) for d in runs] == [
        (("people",), "people: 1 changed"),
        (("hourly",), ""),
        (("people",), "people: 1 changed"),
        (("hourly",), "hourly: 1 changed"),
    ]
    assert looks == ["people", "people", "hourly"]


def test_CS_6_a_disabled_flow_is_not_watched(tmp_path: Path, plugins: Plugins) -> None:
    text = SPEC.replace("    enabled: false\n", "    enabled: false\n    watch: 1s\n")
    spec = build(tmp_path / "spec.yaml", text, plugins)

    assert watches(spec) == ()


# ---- cron expressions that are wrong ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "column", "what"),
    [
        ("0 25 * * *", 14, "hour 25 is out of range 0\u201323"),
        ("0 2 32 * *", 16, "day of month 32 is out of range 1\u201331"),
        ("0 2 * 13 *", 18, "month 13 is out of range 1\u201312"),
        ("0 1,2,30 * * *", 18, "hour 30 is out of range 0\u201323"),
        ("5-70 * * * *", 14, "minute 70 is out of range 0\u201359"),
        ("*/0 * * * *", 12, "minute step /0 must be a whole number of at least 1"),
        ("0 2 * * fri-funday", 24, "day of week 'funday' is not a number 0\u20137 or a name"),
    ],
)
def test_a_wrong_cron_field_is_named_with_its_range_at_its_column(
    tmp_path: Path, plugins: Plugins, cron: str, column: int, what: str
) -> None:
    # Before: only "'0 25 * * *' is not a valid cron expression", at the value.
    text = SPEC.replace('schedule: "0 2 * * *"', f'schedule: "{cron}"')

    [found] = problems(tmp_path / "spec.yaml", text, plugins)

    assert found.startswith(f"spec.yaml:4:{column}: '{cron}' is not a valid cron expression: ")
    assert what in found
    assert found.endswith("(at $.schedule)")


def test_a_cron_expression_written_as_plain_text_is_placed_the_same_way(
    tmp_path: Path, plugins: Plugins
) -> None:
    text = SPEC.replace("hourly:\n", "hourly:\n    schedule: 0 24 * * *\n", 1).replace(
        '    schedule: "30 * * * *"\n', ""
    )

    assert problems(tmp_path / "spec.yaml", text, plugins) == [
        "spec.yaml:14:17: '0 24 * * *' is not a valid cron expression: hour 24 is out of"
        " range 0\u201323 (minute hour day month weekday) (at $.flows.hourly.schedule)"
    ]


def test_an_expression_with_no_single_wrong_field_gets_the_general_message(
    tmp_path: Path, plugins: Plugins
) -> None:
    # `L` (last) is a word croniter knows, but not for minutes.
    text = SPEC.replace('schedule: "0 2 * * *"', "schedule: 'L 2 * * *'")

    assert problems(tmp_path / "spec.yaml", text, plugins) == [
        "spec.yaml:4:11: 'L 2 * * *' is not a valid cron expression"
        " (minute hour day month weekday) (at $.schedule)"
    ]
