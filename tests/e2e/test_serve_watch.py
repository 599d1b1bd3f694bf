"""Push on change (CS-6): `serve` watches a side at a short interval and runs the flow when
that side changed since the last run. Over the Zoho CRM emulator (a read by modification
time) and the files plugin (no modification date: a full read judged against the link
snapshots), emulator and client on one fake clock, so the waits cost nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate.build import load_spec
from integrate.engine import RunOptions, run_spec
from integrate.engine.watch import look
from integrate.model import Spec
from integrate.plugins import Plugins, make_plugins
from integrate.schedule import Due, Watch, serve
from integrate.state import StateStore
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import people_sync, read_jsonl, write_jsonl
from tests.plugins.zoho_crm.emulator_kit import START, zoho_connection, zoho_env

SPEC = f"""\
integrate: 1
name: people-crm
connections:
  src: {{plugin: files, config: {{path: ./src}}}}
{zoho_connection(data_center="com")}
flows:
  people:
    between: [src.people, crm.Contacts]
    match: [[email, Email]]
    fields:
      - {{src: email, crm: Email}}
      - {{src: name, crm: Last_Name}}
    rules:
      - when: "name == 'Hold me'"
        side: src
        queue: checked by hand
    watch: %(watch)s
"""

PEOPLE = [
    {"id": "p1", "email": "ann@example.com", "name": "Lee"},
    {"id": "p2", "email": "bob@example.com", "name": "Roe"},
    {"id": "p3", "email": "cy@example.com", "name": "Hold me"},
]


@dataclass
class World:
    """The Zoho emulator and the files side, one fake clock, the built spec."""

    workdir: Path
    clock: FakeClock
    emulator: ZohoCrmEmulator
    plugins: Plugins
    spec: Spec
    # (fake seconds since the start, what happened) as serve went
    events: list[tuple[float, str]] = field(default_factory=list)

    def options(self, **settings: Any) -> RunOptions:
        return RunOptions(
            transports={"crm": self.emulator.transport()}, clock=self.clock, **settings
        )

    def run(self, due: Due | None = None) -> dict[str, Any]:
        flows = due.flows if due is not None else None
        report = run_spec(self.spec, self.plugins, self.options(flows=flows))
        self.events.append((self.clock.now() - START, f"run: {due.reason if due else ''}"))
        return report.flows[0].as_dict()

    def look(self, watch: Watch) -> str:
        found = look(self.spec, self.plugins, watch.flow, watch.side, self.options())
        self.events.append((self.clock.now() - START, f"look: {found.changed} changed"))
        return found.reason

    def serve(self, *, max_runs: int, between: Callable[[int], None] = lambda _n: None) -> int:
        """serve() over this world; `between(n)` runs after the n-th look (1, 2, ...): what a
        user does meanwhile."""
        looks = 0

        def looking(watch: Watch) -> str:
            nonlocal looks
            reason = self.look(watch)
            looks += 1
            assert looks <= 20, f"serve went on looking: {self.events[-5:]}"  # bounded
            between(looks)
            return reason

        return serve([self.spec], self.run, self.clock, max_runs=max_runs, look=looking)

    def contact(self, email: str) -> dict[str, Any]:
        [found] = [c for c in self.emulator.records("Contacts") if c["Email"] == email]
        return found

    def people(self) -> dict[str, dict[str, Any]]:
        return {p["email"]: p for p in read_jsonl(self.workdir / "src/people.jsonl")}

    def runs(self) -> int:
        store = StateStore(self.workdir / ".integrate/state.db", "people-crm")
        try:
            return len(store.runs(limit=1000))
        finally:
            store.close()


def world(workdir: Path, monkeypatch: pytest.MonkeyPatch, watch: str) -> World:
    write_jsonl(workdir / "src/people.jsonl", PEOPLE)
    (workdir / "spec.yaml").write_text(SPEC % {"watch": watch})
    clock = FakeClock(START)
    emulator = ZohoCrmEmulator(clock=clock)
    zoho_env(monkeypatch, emulator)
    plugins = make_plugins()
    made = World(workdir, clock, emulator, plugins, load_spec("spec.yaml", plugins))
    first = made.run()  # the first sync: 2 Contacts created, one person queued
    assert first["totals"]["created"] == 2
    assert first["totals"]["queued"] == 1
    clock.advance(60)
    made.events.clear()
    return made


@pytest.fixture
def crm_watched(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return world(workdir, monkeypatch, "{crm: 1s}")


@pytest.fixture
def src_watched(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return world(workdir, monkeypatch, "{src: 1s}")


def calls(emulator: ZohoCrmEmulator) -> dict[str, int]:
    return {k: v for k, v in emulator.calls().items() if v}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_CS_6_a_change_made_between_two_watches_is_pushed_by_the_next_one(
    crm_watched: World,
) -> None:
    w = crm_watched
    ann = w.contact("ann@example.com")

    def user_edits(looks: int) -> None:
        if looks == 2:  # after the second look, a Zoho user renames Ann
            w.clock.advance(0.5)
            w.emulator.change("Contacts", ann["id"], {"Last_Name": "Leigh"})

    made = w.serve(max_runs=1, between=user_edits)

    assert made == 1
    assert w.people()["ann@example.com"]["name"] == "Leigh"  # pushed to the other side
    # the change came at 2.5 s; the next look (3 s) saw it and ran the flow there and then
    assert w.events == [
        (61.0, "look: 0 changed"),
        (62.0, "look: 0 changed"),
        (63.0, "look: 1 changed"),
        (63.0, "run: people: 1 changed on crm since the last run"),
    ]


def test_CS_6_an_idle_watch_writes_nothing_and_costs_one_list_call(crm_watched: World) -> None:
    w = crm_watched
    runs, people, contacts = w.runs(), w.people(), w.emulator.records("Contacts")
    state = (w.workdir / ".integrate/state.db").read_bytes()

    for _ in range(3):
        before = calls(w.emulator)
        found = look(w.spec, w.plugins, "people", "crm", w.options())
        assert delta(before, calls(w.emulator)) == {"list": 1}  # Contacts since the cursor
        assert not found.needs_run
        assert found.calls["reads"] == 1
        w.clock.advance(1)

    assert w.runs() == runs  # no run recorded
    assert w.people() == people  # nothing written on either side
    assert w.emulator.records("Contacts") == contacts
    assert (w.workdir / ".integrate/state.db").read_bytes() == state


def test_CS_6_a_run_going_in_another_process_delays_a_look(crm_watched: World) -> None:
    w = crm_watched
    ann = w.contact("ann@example.com")
    w.emulator.change("Contacts", ann["id"], {"Last_Name": "Leigh"})
    running = StateStore(w.workdir / ".integrate/state.db", "people-crm", lock=True)
    try:
        before = calls(w.emulator)
        during = look(w.spec, w.plugins, "people", "crm", w.options())
        assert delta(before, calls(w.emulator)) == {}  # nothing read while it runs
    finally:
        running.close()

    after = look(w.spec, w.plugins, "people", "crm", w.options())

    assert during.busy
    assert not during.needs_run
    assert after.reason == "people: 1 changed on crm since the last run"


def test_CS_6_a_side_without_modification_dates_is_judged_against_the_link_snapshots(
    src_watched: World,
) -> None:
    w = src_watched
    # every record is read at every look (the files plugin has no cursor here): the two
    # linked ones equal their snapshots, the queued one is as it was queued
    idle = look(w.spec, w.plugins, "people", "src", w.options())
    assert (idle.read, idle.changed, idle.needs_run) == (3, 0, False)

    people = read_jsonl(w.workdir / "src/people.jsonl")
    people[1]["name"] = "Rowe"
    people.append({"id": "p4", "email": "dee@example.com", "name": "Dee"})
    write_jsonl(w.workdir / "src/people.jsonl", people)

    made = w.serve(max_runs=1)

    assert made == 1
    assert w.events == [
        (61.0, "look: 2 changed"),
        (61.0, "run: people: 2 changed on src since the last run"),
    ]
    assert w.contact("bob@example.com")["Last_Name"] == "Rowe"
    assert w.contact("dee@example.com")["Last_Name"] == "Dee"
    # what the run wrote (ids, echoes) is no change for the next look
    after = look(w.spec, w.plugins, "people", "src", w.options())
    assert (after.read, after.changed) == (4, 0)


def test_CS_6_a_run_in_progress_delays_a_watch_and_never_overlaps_it(
    crm_watched: World,
) -> None:
    w = crm_watched
    ann = w.contact("ann@example.com")
    slow_run = w.run
    edited: list[bool] = []

    def run_taking_2_5_seconds(due: Due | None = None) -> dict[str, Any]:
        w.events.append((w.clock.now() - START, "run starts"))
        flow = slow_run(due)  # reads, then writes for 2.5 s; a Zoho user edits meanwhile
        w.clock.advance(1)
        if not edited:
            edited.append(True)
            w.emulator.change("Contacts", ann["id"], {"Last_Name": "Lyle"})
        w.clock.advance(1.5)
        w.events.append((w.clock.now() - START, "run ends"))
        return flow

    w.run = run_taking_2_5_seconds  # type: ignore[method-assign]
    w.emulator.change("Contacts", ann["id"], {"Last_Name": "Leigh"})

    made = w.serve(max_runs=2)

    assert made == 2
    # looks fall due at 62 and 63 during the first run (61 → 63.5): one look, at its end
    assert [(t, e.split(":")[0]) for t, e in w.events] == [
        (61.0, "look"),
        (61.0, "run starts"),
        (61.0, "run"),
        (63.5, "run ends"),
        (63.5, "look"),
        (63.5, "run starts"),
        (63.5, "run"),
        (66.0, "run ends"),
    ]
    assert w.people()["ann@example.com"]["name"] == "Lyle"


# ---- the command ------------------------------------------------------------------------


def test_CS_6_serve_with_a_watch_pushes_a_change_and_stops_at_max_runs(tmp_path: Path) -> None:
    """`integrate serve` in its own process, real time, watching the files source every
    second: the first run is made at start (--run-now); a person added then is pushed by
    the next look, and --max-runs 2 ends serving. Bounded: 30 s at most."""
    spec = people_sync(
        tmp_path,
        [{"id": "1", "email": "ann@example.com"}],
        name="watched-people",
        more="    watch: {src: 1s}\n",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "integrate", "serve", str(spec), "--run-now", "--max-runs", "2"],
        cwd=tmp_path,
        env={**os.environ, "INTEGRATE_HOME": str(tmp_path / ".integrate")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(read_jsonl(tmp_path / "dst/people.jsonl")) < 1:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the first run made nothing in 30 s"
            time.sleep(0.05)
        people = read_jsonl(tmp_path / "src/people.jsonl")
        write_jsonl(tmp_path / "src/people.jsonl", [*people, {"id": "2", "email": "bo@x.org"}])
        out, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, err
    assert [p["email"] for p in read_jsonl(tmp_path / "dst/people.jsonl")] == [
        "ann@example.com",
        "bo@x.org",
    ]
    assert "watched-people: people: 1 changed on src since the last run" in out
    assert out.count("finished: succeeded") == 2


# ---- linked() and lookup() in a watched flow ----------------------------------------------

LINKED = """\
integrate: 1
name: linked
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: files, config: {path: ./dst}}
flows:
  companies:
    from: src.companies
    to: dst.companies
    match: [[name, name]]
    fields: {name: name}
  people:
    from: src.people
    to: dst.people
    after: companies
    match: [[email, email]]
    rules:
      - when: "!(linked('companies', company_id))"
        defer: its company is not synced yet
    fields:
      email: email
      company: "linked('companies', company_id)"
%(more)s    watch: {src: 1s}
"""


def linked_world(root: Path, more: str = "") -> tuple[Spec, Plugins]:
    write_jsonl(root / "src/companies.jsonl", [{"id": "c1", "name": "Acme", "city": "Leeds"}])
    write_jsonl(
        root / "src/people.jsonl",
        [
            {"id": "p1", "email": "ann@example.com", "company_id": "c1"},
            {"id": "p2", "email": "bob@example.com", "company_id": "c9"},  # deferred
        ],
    )
    (root / "spec.yaml").write_text(LINKED % {"more": more})
    plugins = make_plugins()
    spec = load_spec("spec.yaml", plugins)
    report = run_spec(spec, plugins, RunOptions())
    assert report.flows[1].as_dict()["totals"]["created"] == 1
    assert report.flows[1].as_dict()["totals"]["deferred"] == 1
    return spec, plugins


def test_CS_6_a_look_answers_linked_from_the_links_as_a_run_does(workdir: Path) -> None:
    spec, plugins = linked_world(workdir)

    idle = look(spec, plugins, "people", "source", RunOptions())

    # Ann maps to the company linked to c1 as when she was written; Bob waits as he did
    assert (idle.read, idle.changed) == (2, 0)


def test_CS_6_a_record_judged_with_lookup_counts_as_changed(workdir: Path) -> None:
    """A lookup() reads another object: a look does not, and leaves the judgement to a run."""
    city = "    city: \"lookup('src.companies', {id: company_id}).city\"\n"
    spec, plugins = linked_world(workdir, "  " + city)

    found = look(spec, plugins, "people", "source", RunOptions())

    # Ann's city needs companies read: a change; Bob waits as he did (his rule defers him)
    assert (found.read, found.changed) == (2, 1)
