"""Zoho CRM → Ideolve with `integrate serve` (ID-7, and ID-1 … ID-4 arriving by webhook): the
shipped spec, the Zoho CRM emulator POSTing its callbacks over real HTTP to serve's receiver
on a loopback port, the Ideolve emulator as the target; both emulators and serve's runs on one
fake clock, in this process. A callback delivered twice applies once; with serve stopped,
the catch-up poll on start finds what changed. (A serve process killed with SIGKILL and
restarted: test_serve_webhooks_process.py.)"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from integrate.build import load_spec
from integrate.engine import RunFailed, RunReport, run_spec
from integrate.model import Spec
from integrate.schedule import Due, serve
from integrate.serving import Serving
from tests.e2e.izo import World


class Served:
    """serve's webhook side for the spec, over the World's two emulators."""

    def __init__(self, world: World):
        self.world = world
        self.spec = load_spec(world.spec, world.plugins)
        self.serving = Serving([self.spec], world.plugins, self._options, world.clock, port=0)

    def _options(self, _spec: Spec) -> Any:
        return self.world.options()

    def execute(self, due: Due) -> RunReport | None:
        options = self.world.options(flows=due.flows, trigger=due.trigger or "schedule")
        try:
            return run_spec(due.spec, self.world.plugins, options)
        except RunFailed as exc:
            return exc.report

    def serve(self, max_runs: int = 1) -> int:
        """serve() for `max_runs` runs (the fake clock never waits: the spec's ten-minute poll
        comes next after what a callback woke): runs made."""
        return serve(
            [self.spec],
            lambda due: self.serving.run(due, self.execute),
            self.world.clock,
            max_runs=max_runs,
            woken=self.serving.inbox,
        )

    def catch_up(self) -> None:
        flows = self.serving.catch_up(self.spec)
        now = dt.datetime.fromtimestamp(self.world.clock.now(), dt.UTC)
        self.serving.run(Due(now, self.spec, flows, trigger="poll"), self.execute)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    world = World(tmp_path, monkeypatch)
    world.add("Accounts", Account_Name="Old Co")  # before the integration: no note
    made = Served(world)
    try:
        [said] = made.serving.start()
        assert said.startswith("zoho-crm-to-ideolve: notes: channel subscribed until ")
        made.catch_up()
        world.later(5)
        yield made
    finally:
        made.serving.stop()


def triggers(world: World) -> list[str]:
    """What started each run, in order (the run history)."""
    db = sqlite3.connect(world.folder / "state.db")
    try:
        return [t for (t,) in db.execute("SELECT trigger FROM runs ORDER BY run_id")]
    finally:
        db.close()


def deliver(served: Served) -> int:
    """Zoho POSTs what is due to serve's receiver: the callbacks answered 2xx."""
    crm = served.world.crm
    sent = crm.deliver_due()
    assert crm.callbacks_waiting() == 0  # every one answered 2xx, none to retry
    return sent


def test_ID_7_ID_1_a_new_account_reaches_ideolve_by_webhook(served: Served) -> None:
    world = served.world
    channel = next(iter(world.crm.org.watch.channels.values()))
    assert channel.notify_url.startswith("http://127.0.0.1:")

    world.add("Accounts", Account_Name="Acme Corp")
    assert deliver(served) == 1
    assert served.serve() == 1  # one run, woken by the callback

    assert sorted(world.notes()) == ["Account: Acme Corp"]
    assert triggers(world) == ["poll", "webhook"]  # the catch-up on start, then the callback


def test_ID_7_ID_2_ID_3_ID_4_updates_deals_and_meetings_arrive_by_webhook(
    served: Served,
) -> None:
    world = served.world
    account = world.add("Accounts", Account_Name="Acme", Phone="1")
    deliver(served)
    served.serve()
    world.later(5)

    world.edit("Accounts", account, Phone="2")  # ID-2
    world.add(  # ID-3: Zoho calls for the Deal, and for its Account (a related action)
        "Deals", Deal_Name="Acme expansion", Stage="Qualification", Amount=10,
        Account_Name={"id": account},
    )  # fmt: skip
    world.add(  # ID-4: Zoho calls for the Account (a related action); Events are not watched
        "Events", Event_Title="Kick-off", Start_DateTime="2026-10-01T10:00:00+00:00",
        End_DateTime="2026-10-01T11:00:00+00:00", What_Id={"id": account},
        **{"$se_module": "Accounts"},
    )  # fmt: skip
    assert deliver(served) >= 3
    served.serve()

    comments = [c["commenthtmltext"] for c in world.note("Account: Acme")["comments"]]
    assert "<p>Phone: 1 &rarr; 2</p>" in comments
    assert "<p>Deal added: Acme expansion (Qualification, 10)</p>" in comments
    assert any(c.startswith("<p>Meeting added: Kick-off, ") for c in comments)
    assert len(comments) == 3
    assert "Deal: Acme expansion" in world.notes()


def test_ID_7_a_callback_delivered_twice_applies_once(served: Served) -> None:
    world = served.world
    world.add("Accounts", Account_Name="Acme")
    [callback] = world.crm.notifications()  # what Zoho sends, taken before it is sent
    url = next(iter(world.crm.org.watch.channels.values())).notify_url
    with httpx.Client(timeout=5) as http:
        answers = [
            http.post(
                url, content=orjson.dumps(callback), headers={"Content-Type": "application/json"}
            )
            for _ in range(2)
        ]

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].json() == {"status": "seen before"}
    served.serve(max_runs=2)  # the callback's run, then the next poll

    assert triggers(world) == ["poll", "webhook", "schedule"]  # one webhook run, not two
    assert len(world.notes()) == 1


def test_ID_7_with_serve_stopped_the_poll_on_start_finds_what_changed(served: Served) -> None:
    world = served.world
    served.serving.stop()  # serve is down: Zoho's callbacks find no one
    world.add("Accounts", Account_Name="Made while down")
    world.crm.deliver_due()
    assert world.notes() == {}

    again = Served(world)  # serve starts again
    try:
        again.serving.start()
        again.catch_up()
    finally:
        again.serving.stop()

    assert sorted(world.notes()) == ["Account: Made while down"]
