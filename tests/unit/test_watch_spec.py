"""`watch:` in a flow (CS-6): which sides `integrate serve` watches and how often; a side the
flow has not or a bad duration is an error at its place; a side a one-way direction only
writes to is a warning (the watch waits for the direction to push it again)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrate.model import SyncFlow
from integrate.plugins import Plugins, make_plugins
from tests.unit.test_build import build, problems

TWO_WAY = """\
integrate: 1
name: watched
connections:
  cs: {plugin: files, config: {path: cs}}
  crm: {plugin: files, config: {path: crm}}
flows:
  people:
    between: [cs.people, crm.people]
    match: [[email, email]]
    fields:
      - {cs: email, crm: email}
%(more)s"""

ONE_WAY = """\
integrate: 1
name: watched
connections:
  src: {plugin: files, config: {path: src}}
  dst: {plugin: files, config: {path: dst}}
flows:
  people:
    from: src.people
    to: dst.people
    match: [[email, email]]
    fields: {email: email}
%(more)s"""


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Plugins:
    monkeypatch.delenv("INTEGRATE_BLOCK_PLUGINS", raising=False)
    return make_plugins()


def watch_of(tmp_path: Path, plugins: Plugins, text: str) -> dict[str, float]:
    flow = build(tmp_path / "spec.yaml", text, plugins).flows["people"]
    assert isinstance(flow, SyncFlow)
    return dict(flow.common.watch)


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("30s", 30.0), ("1.5m", 90.0), ("1h", 3600.0), ("45", 45.0), ('"1s"', 1.0)],
)
def test_CS_6_a_duration_is_read_in_seconds(
    tmp_path: Path, plugins: Plugins, written: str, seconds: float
) -> None:
    text = TWO_WAY % {"more": f"    watch: {{cs: {written}}}\n"}

    assert watch_of(tmp_path, plugins, text) == {"cs": seconds}


def test_CS_6_a_plain_duration_watches_every_side_whose_changes_the_flow_pushes(
    tmp_path: Path, plugins: Plugins
) -> None:
    both = TWO_WAY % {"more": "    watch: 10s\n"}
    to_crm = TWO_WAY % {"more": "    direction: to_crm\n    watch: 10s\n"}
    one_way = ONE_WAY % {"more": "    watch: 10s\n"}
    by_connection = ONE_WAY % {"more": "    watch: {src: 5m}\n"}

    assert watch_of(tmp_path, plugins, both) == {"cs": 10.0, "crm": 10.0}
    assert watch_of(tmp_path, plugins, to_crm) == {"cs": 10.0}
    assert watch_of(tmp_path, plugins, one_way) == {"source": 10.0}
    assert watch_of(tmp_path, plugins, by_connection) == {"source": 300.0}


def test_CS_6_a_side_not_in_between_is_an_error_at_its_key(
    tmp_path: Path, plugins: Plugins
) -> None:
    text = TWO_WAY % {"more": "    watch: {crn: 30s}\n"}

    assert problems(tmp_path / "spec.yaml", text, plugins) == [
        "spec.yaml:12:13: 'crn' is not a side (cs, crm) (did you mean 'crm'?) "
        "(at $.flows.people.watch.crn)"
    ]


def test_CS_6_watching_the_side_a_one_way_direction_writes_to_is_a_warning_and_no_watch(
    tmp_path: Path, plugins: Plugins
) -> None:
    # CS-4: an operator switches an object to one way without editing its watch
    two_way = TWO_WAY % {"more": "    direction: to_crm\n    watch: {crm: 30s}\n"}

    spec = build(tmp_path / "spec.yaml", two_way, plugins)

    assert tuple(w.split("/")[-1] for w in spec.warnings) == (
        "spec.yaml:13:18: warning: 'crm' is not watched while the flow writes only to crm: "
        "what changes on 'crm' goes nowhere (at $.flows.people.watch.crm)",
    )
    assert spec.flows["people"].common.watch == {}


def test_CS_6_watching_a_one_way_flow_s_target_is_an_error(
    tmp_path: Path, plugins: Plugins
) -> None:
    one_way = ONE_WAY % {"more": "    watch: {dst: 30s}\n"}

    assert problems(tmp_path / "spec.yaml", one_way, plugins) == [
        "spec.yaml:12:13: 'dst' is not this one-way flow's source (src) "
        "(at $.flows.people.watch.dst)"
    ]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("0.5s", "'0.5s' is shorter than the least interval, 1s"),
        ("0", "must be at least 1, found 0"),
        (
            "10x",
            "'10x' is not valid here: a duration: a whole number of seconds, or a number "
            "with s, m or h (30s, 1.5m, 1h)",
        ),
    ],
)
def test_CS_6_a_bad_duration_is_an_error_at_its_value(
    tmp_path: Path, plugins: Plugins, written: str, message: str
) -> None:
    text = TWO_WAY % {"more": f"    watch: {{cs: {written}}}\n"}

    assert problems(tmp_path / "spec.yaml", text, plugins) == [
        f"spec.yaml:12:17: {message} (at $.flows.people.watch.cs)"
    ]


def test_CS_6_validate_names_a_bad_watch_at_its_line(cli: Any, workdir: Path) -> None:
    (workdir / "spec.yaml").write_text(ONE_WAY % {"more": "    watch: 0.2s\n"})

    out = cli("validate", "spec.yaml")

    assert out.exit_code == 2, out.output
    assert "spec.yaml:12:12: '0.2s' is shorter than the least interval, 1s" in out.output


def test_CS_6_an_event_flow_cannot_be_watched(tmp_path: Path, plugins: Plugins) -> None:
    text = """\
integrate: 1
name: events
connections:
  crm: {plugin: files, config: {path: crm}}
  desk: {plugin: files, config: {path: desk}}
flows:
  welcome:
    from: crm.people
    to: desk.tasks
    watch: 30s
    events:
      - {event: created, do: create, fields: {title: name}}
"""

    assert problems(tmp_path / "spec.yaml", text, plugins) == [
        "spec.yaml:10:5: watch applies to sync flows (an event flow runs on its schedule) "
        "(at $.flows.welcome.watch)"
    ]
