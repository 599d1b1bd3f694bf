"""`integrate serve` receives Zoho CRM's notifications (ID-7): a callback POSTed to the
receiver runs its event flow once, however often it is delivered; a call with a wrong token,
too big or not JSON is refused and recorded nowhere; channels are subscribed on start and
renewed (token rotated) before they expire; the catch-up run on start finds what changed
while serve was down. In process: the Zoho emulator and the client on one fake clock, the
receiver on a real loopback port (any free one)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from integrate import FakeClock, Faults
from integrate.build import load_spec
from integrate.engine import RunFailed, RunOptions, RunReport, run_spec
from integrate.model import Spec
from integrate.plugins import Plugins, make_plugins
from integrate.schedule import Due, serve
from integrate.serving import Serving
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import START, zoho_connection, zoho_env

SPEC = f"""\
integrate: 1
name: hooks
connections:
{zoho_connection(data_center="com")}
  notes:
    plugin: files
    config: {{path: ./notes, actions: {{comment: comments}}}}
flows:
  accounts:
    from: crm.Accounts
    to: notes.notes
    backfill: false
    triggers: [webhook, poll]
    events:
      - event: created
        do: create
        fields:
          subject: "concat('Account: ', record.Account_Name)"
      - event: updated
        do: comment
        fields:
          text: "join('; ', changes[].format('{{field}}: {{old}} -> {{new}}', @))"
"""


@dataclasses.dataclass
class World:
    """The Zoho emulator, the spec, serve's webhook side on a loopback port, one fake clock."""

    workdir: Path
    clock: FakeClock
    emulator: ZohoCrmEmulator
    plugins: Plugins
    spec: Spec
    serving: Serving
    http: httpx.Client

    def options(self, **settings: Any) -> RunOptions:
        return RunOptions(
            transports={"crm": self.emulator.transport()}, clock=self.clock, **settings
        )

    def execute(self, due: Due) -> RunReport | None:
        options = self.options(flows=due.flows, trigger=due.trigger or "schedule")
        try:
            return run_spec(due.spec, self.plugins, options)
        except RunFailed as exc:
            return exc.report

    def run(self, due: Due) -> None:
        self.serving.run(due, self.execute)

    def serve(self, max_runs: int, *, renewals: int = 0) -> int:
        """serve() until `max_runs` runs or nothing more is due (the fake clock never waits);
        with `renewals`, it keeps the channels too and stops after that many upkeeps."""
        return serve(
            [self.spec],
            self.run,
            self.clock,
            max_runs=max_runs,
            woken=self.serving.inbox,
            chores=_Bounded(self.serving, renewals) if renewals else None,
        )

    def catch_up(self) -> None:
        flows = self.serving.catch_up(self.spec)
        self.run(Due(_moment(self.clock), self.spec, flows, trigger="poll"))

    def post(self, body: dict[str, Any] | bytes, **headers: str) -> httpx.Response:
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        kind = {"Content-Type": "application/json"} | headers
        return self.http.post(
            f"{self.serving.public_url}/webhooks/hooks/accounts", content=content, headers=kind
        )

    def channel(self) -> Any:
        [channel] = self.emulator.org.watch.channels.values()
        return channel

    def notes(self) -> list[dict[str, Any]]:
        path = self.workdir / "notes/notes.jsonl"
        return read_jsonl(path) if path.exists() else []

    def db(self, sql: str) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(self.workdir / ".integrate/state.db")
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def runs(self) -> list[tuple[str, str]]:
        return self.db("SELECT trigger, status FROM runs ORDER BY run_id")

    def events(self) -> list[tuple[str, str, bool]]:
        rows = self.db("SELECT object, operation, applied_at FROM webhook_events ORDER BY seq")
        return [(obj, op, applied is not None) for obj, op, applied in rows]


class _Bounded:
    """Serve's chores (channels, retries), that stop serve after `left` upkeeps (on a fake
    clock it would renew for ever)."""

    def __init__(self, serving: Serving, left: int):
        self.serving = serving
        self.left = left

    def next_at(self) -> float | None:
        return self.serving.next_at()

    def upkeep(self) -> list[str]:
        said = self.serving.upkeep()
        self.left -= 1
        if self.left == 0:
            self.serving.inbox.stop()
        return said


def _moment(clock: FakeClock) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(clock.now(), dt.UTC)


def make_world(workdir: Path, monkeypatch: pytest.MonkeyPatch, **serving: Any) -> World:
    (workdir / "spec.yaml").write_text(SPEC)
    clock = FakeClock(START)
    emulator = ZohoCrmEmulator(clock=clock)
    emulator.seed("Accounts", [{"Account_Name": "Old Co"}])
    emulator.notifications()  # no channel yet: nothing was queued
    zoho_env(monkeypatch, emulator)
    plugins = make_plugins()
    spec = load_spec("spec.yaml", plugins)

    def options_for(_spec: Spec) -> RunOptions:
        return RunOptions(transports={"crm": emulator.transport()}, clock=clock)

    served = Serving([spec], plugins, options_for, clock, port=0, **serving)
    return World(workdir, clock, emulator, plugins, spec, served, httpx.Client(timeout=5))


@pytest.fixture
def w(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    made = make_world(workdir, monkeypatch)
    try:
        lines = made.serving.start()
        assert lines == ["hooks: accounts: channel subscribed until 2026-09-22T14:13:20+00:00"]
        made.catch_up()  # the flow's first run: Old Co existed before it, skipped
        assert made.notes() == []
        made.clock.advance(5)
        yield made
    finally:
        made.http.close()
        made.serving.stop()


def test_ID_7_a_zoho_callback_runs_the_flow_and_the_target_gets_the_record(w: World) -> None:
    channel = w.channel()
    assert channel.notify_url == f"{w.serving.public_url}/webhooks/hooks/accounts"
    assert channel.notify_url.startswith("http://127.0.0.1:")
    assert 32 <= len(channel.token) <= 50

    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])  # a Zoho user creates Acme
    [callback] = w.emulator.notifications()
    assert callback["operation"] == "insert"
    assert callback["token"] == channel.token
    answer = w.post(callback)

    assert answer.status_code == 200
    assert answer.json() == {"status": "received"}
    assert w.events() == [("Accounts", "created", False)]  # pending until a run commits
    assert w.serve(max_runs=5) == 1  # one run, woken by the callback; then nothing is due
    assert [n["subject"] for n in w.notes()] == ["Account: Acme"]
    assert w.runs() == [("poll", "succeeded"), ("webhook", "succeeded")]
    assert w.events() == [("Accounts", "created", True)]


def test_ID_7_the_emulators_own_post_reaches_the_receiver_and_runs_the_flow(w: World) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])

    assert w.emulator.deliver_due() == 1  # Zoho POSTs the callback to the channel's URL

    assert w.emulator.callbacks_waiting() == 0  # answered 2xx: delivered, not retried
    assert w.serve(max_runs=5) == 1
    assert [n["subject"] for n in w.notes()] == ["Account: Acme"]
    assert w.runs()[-1] == ("webhook", "succeeded")
    assert w.events() == [("Accounts", "created", True)]


def test_ID_7_an_update_callback_comments_what_changed(w: World) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    w.emulator.deliver_due()
    w.serve(max_runs=5)
    [acme] = [a for a in w.emulator.records("Accounts") if a["Account_Name"] == "Acme"]
    w.clock.advance(5)
    w.emulator.change("Accounts", acme["id"], {"Account_Name": "Acme Ltd"})

    assert w.emulator.deliver_due() == 1
    assert w.serve(max_runs=5) == 1

    [note] = w.notes()
    [comment] = note["comments"]  # Zoho's own time fields moved too: they are not changes
    assert comment["text"] == "Account_Name: Acme -> Acme Ltd"
    assert w.events() == [("Accounts", "created", True), ("Accounts", "updated", True)]


def test_a_webhook_run_that_fails_leaves_its_event_pending_and_is_tried_again(
    w: World,
) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    w.emulator.deliver_due()
    w.emulator.faults = Faults(server_error=1.0)  # Zoho answers 500 to every call

    assert w.serve(max_runs=1) == 1
    assert w.serving.retries  # tried again in a minute

    assert w.runs()[-1] == ("webhook", "failed")
    assert w.events() == [("Accounts", "created", False)]  # pending: nothing applied
    assert w.notes() == []
    w.emulator.faults = Faults()  # Zoho is back
    failed_at = w.clock.now()

    # the retry, a minute later, with no new call (serve's chores: the channel's renewal is
    # a day away, the retry first)
    made = serve([w.spec], w.run, w.clock, max_runs=1, woken=w.serving.inbox, chores=w.serving)

    assert made == 1

    assert w.clock.now() == pytest.approx(failed_at + 60, abs=1)
    assert w.runs()[-1] == ("webhook", "succeeded")
    assert [n["subject"] for n in w.notes()] == ["Account: Acme"]
    assert w.events() == [("Accounts", "created", True)]


def test_T15_the_same_callback_delivered_twice_applies_once(w: World) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    [callback] = w.emulator.notifications()

    first, again = w.post(callback), w.post(callback)
    assert w.serve(max_runs=5) == 1
    late = w.post(callback)  # a third delivery after the run: still nothing new
    assert w.serve(max_runs=5) == 0

    assert [a.status_code for a in (first, again, late)] == [200, 200, 200]
    assert [a.json()["status"] for a in (first, again, late)] == [
        "received",
        "seen before",
        "seen before",
    ]
    assert len(w.notes()) == 1  # one target write
    assert w.runs() == [("poll", "succeeded"), ("webhook", "succeeded")]
    assert w.events() == [("Accounts", "created", True)]


def test_T15_callbacks_that_came_during_a_wait_are_one_run(w: World) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    w.clock.advance(1)
    w.emulator.seed("Accounts", [{"Account_Name": "Bolt"}])
    for callback in w.emulator.notifications():
        assert w.post(callback).status_code == 200

    assert w.serve(max_runs=5) == 1
    assert sorted(n["subject"] for n in w.notes()) == ["Account: Acme", "Account: Bolt"]
    assert w.events() == [("Accounts", "created", True), ("Accounts", "created", True)]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"token": "not-the-channel-token-but-long-enough-000"}, 401),
        ({"token": None}, 401),
        ({"channel_id": "1234567890123"}, 401),
    ],
)
def test_T15_a_wrong_token_is_refused_and_nothing_recorded(
    w: World, change: dict[str, Any], status: int
) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    [callback] = w.emulator.notifications()

    answer = w.post(callback | change)

    assert answer.status_code == status
    assert "token" not in answer.text.replace("wrong token", "")  # no token echoed
    assert w.channel().token not in answer.text
    assert w.events() == []
    assert w.serve(max_runs=5) == 0  # no run woken
    assert w.notes() == []


def test_T15_too_big_or_not_json_bodies_are_refused(w: World) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    [callback] = w.emulator.notifications()
    big = orjson.dumps(callback | {"padding": "x" * (2 * 1024 * 1024)})

    assert w.post(big).status_code == 413
    assert w.post(orjson.dumps(callback), **{"Content-Type": "text/plain"}).status_code == 415
    assert w.post(b"{not json").status_code == 400
    assert w.post({"hello": "world"}).status_code == 400  # JSON, but no notification
    path = f"{w.serving.public_url}/webhooks/hooks/nosuchflow"
    assert w.http.post(path, json=callback).status_code == 404
    assert w.events() == []
    assert w.serve(max_runs=5) == 0


def test_a_channel_is_renewed_before_it_expires_with_a_new_token(w: World) -> None:
    before = w.channel()
    old_token, expiry = before.token, before.expiry
    # a day's channel is renewed when 2.4 h are left: serve sleeps until then (fake clock)
    w.clock.advance(expiry - w.clock.now() - 3 * 3600)
    assert w.serving.channels.upkeep() == []  # not yet due

    assert w.serve(max_runs=1, renewals=1) == 0  # nothing runs; the renewal is its only chore

    after = w.channel()
    assert after.channel_id == before.channel_id
    assert after.token != old_token
    assert len(after.token) >= 32
    assert after.expiry > expiry
    assert w.clock.now() == pytest.approx(expiry - 0.1 * 24 * 3600, abs=1)
    # a call already on its way with the old token is still taken, within the grace
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    [callback] = w.emulator.notifications()
    assert callback["token"] == after.token
    assert w.post(callback | {"token": old_token}).status_code == 200
    w.clock.advance(600)  # after the grace, the old token is refused
    assert w.post(callback | {"token": old_token, "server_time": 1}).status_code == 401


def test_ID_7_catch_up_on_start_finds_what_changed_while_serve_was_down(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_world(workdir, monkeypatch)
    first.serving.start()
    first.catch_up()
    first.serving.stop()  # serve is down: Zoho's calls find no one and are lost
    first.clock.advance(60)
    first.emulator.seed("Accounts", [{"Account_Name": "Made while down"}])
    first.emulator.notifications()  # undelivered

    # serve starts again: same state, same emulator; its catch-up run polls
    second = Serving(
        [first.spec],
        first.plugins,
        lambda _spec: first.options(),
        first.clock,
        port=0,
    )
    try:
        lines = second.start()
        # another free port, so another URL: the kept channel is renewed to point there
        assert lines == ["hooks: accounts: channel renewed until 2026-09-22T14:14:20+00:00"]
        world = dataclasses.replace(first, serving=second)
        world.catch_up()
        assert [n["subject"] for n in world.notes()] == ["Account: Made while down"]
        assert world.runs() == [("poll", "succeeded"), ("poll", "succeeded")]
        assert world.channel().notify_url == f"{second.public_url}/webhooks/hooks/accounts"
    finally:
        second.stop()
        first.http.close()


def test_healthz_says_the_state_of_each_flow_without_secrets(w: World) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    [callback] = w.emulator.notifications()
    w.post(callback)

    health = w.http.get(f"{w.serving.public_url}/healthz")

    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    [spec] = body["specs"]
    assert spec["integration"] == "hooks"
    assert spec["last_run"]["trigger"] == "poll"
    assert spec["last_run"]["status"] == "succeeded"
    flow = spec["flows"]["accounts"]
    assert flow["pending_events"] == 1
    assert flow["channel_expires"] == "2026-09-22T14:13:20+00:00"
    assert w.channel().token not in health.text
    assert w.channel().channel_id not in health.text
    assert w.http.get(f"{w.serving.public_url}/").status_code == 404
    assert w.http.get(f"{w.serving.public_url}/anything").status_code == 404


def test_a_remote_bind_asks_for_the_secret_on_the_health_page(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s" * 40
    world = make_world(workdir, monkeypatch, secret=secret)
    world.serving.start()
    try:
        url = f"{world.serving.public_url}/healthz"
        assert world.http.get(url).status_code == 401
        wrong = world.http.get(url, headers={"Authorization": "Bearer " + "t" * 40})
        assert wrong.status_code == 401
        assert world.http.get(url, headers={"Authorization": f"Bearer {secret}"}).is_success
    finally:
        world.http.close()
        world.serving.stop()


# ---- integrate state show ----------------------------------------------------------------


def test_state_show_lists_pending_and_applied_events(w: World, cli: Any) -> None:
    w.emulator.seed("Accounts", [{"Account_Name": "Acme"}])
    w.emulator.deliver_due()
    w.serve(max_runs=5)
    w.clock.advance(5)
    w.emulator.seed("Accounts", [{"Account_Name": "Bolt"}])
    w.emulator.deliver_due()  # received, not yet run

    shown = cli("state", "show", "spec.yaml")
    as_json = cli("state", "show", "spec.yaml", "--json")

    assert shown.exit_code == 0, shown.output
    assert "webhook events: 1 pending, 1 applied" in shown.stdout
    recent = json.loads(as_json.stdout)["recent_events"]
    assert [(e["operation"], e["status"]) for e in recent] == [
        ("created", "pending"),
        ("created", "applied"),
    ]
    assert w.channel().token not in as_json.stdout
