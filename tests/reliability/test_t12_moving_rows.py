"""T12: rows edited, inserted and deleted between page fetches are never lost; a row read
twice in one run is one record in the target.

Zoho CRM Accounts → a files folder, matched by name. Users work in Zoho while the sync
pages: just before a chosen list call reaches the emulator, they change records. After the
run (and at most one more), the target must equal what Zoho holds, each account once."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from integrate import FakeClock
from integrate.build import load_spec
from integrate.engine import RunOptions, RunReport, run_spec
from integrate.plugins import make_plugins
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_env

SPEC = """\
integrate: 1
name: zoho-to-files
connections:
%(crm)s
  out: {plugin: files, config: {path: ./out}}
flows:
  accounts:
    from: crm.Accounts
    to: out.accounts
    match: [[Account_Name, name]]
    unmatched: create
    fields:
      name: Account_Name
      phone: Phone
""" % {"crm": zoho_connection(data_center="com")}  # noqa: UP031  (the braces are YAML's)

StartResponse = Callable[..., Any]


class UsersAtWork:
    """The emulator behind a WSGI wrapper: just before the n-th list call of Accounts
    reaches it, users do `work` (as if they edited records while the sync paged)."""

    def __init__(self, emulator: ZohoCrmEmulator):
        self.emulator = emulator
        self.lists = 0
        self.plan: dict[int, Callable[[], None]] = {}

    def before_list(self, n: int, work: Callable[[], None]) -> None:
        self.plan[self.lists + n] = work

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        if (
            environ["REQUEST_METHOD"] == "GET"
            and environ["PATH_INFO"] == "/crm/v8/Accounts"
            and "ids" not in query
        ):
            self.lists += 1
            work = self.plan.pop(self.lists, None)
            if work is not None:
                work()
        return self.emulator(environ, start_response)


class World:
    def __init__(self, workdir: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock):
        self.workdir = workdir
        self.clock = clock
        self.emulator = ZohoCrmEmulator(clock=clock)
        self.users = UsersAtWork(self.emulator)
        zoho_env(monkeypatch, self.emulator)
        (workdir / "spec.yaml").write_text(SPEC)
        self.plugins = make_plugins()
        self.spec = load_spec(workdir / "spec.yaml", self.plugins)

    def seed(self, count: int, *, per_second: int = 1) -> list[dict[str, Any]]:
        """Accounts made by users, `per_second` of them in each second."""
        made = []
        first = len(self.emulator.records("Accounts"))
        for start in range(first, first + count, per_second):
            chunk = [
                {"Account_Name": f"Account {i:05d}", "Phone": f"+1 555 {i:05d}"}
                for i in range(start, min(first + count, start + per_second))
            ]
            made += self.emulator.seed("Accounts", chunk)
            self.clock.advance(1)
        return made

    def in_order(self) -> list[dict[str, Any]]:
        """Accounts as an ascending Modified_Time listing pages them (ties by id)."""
        rows = self.emulator.records("Accounts")
        return sorted(rows, key=lambda r: (r["Modified_Time"], int(r["id"])))

    def edit(self, rows: list[dict[str, Any]], tag: str) -> None:
        for row in rows:
            self.emulator.change("Accounts", row["id"], {"Phone": f"{tag} {row['id']}"})

    def run(self, **kw: Any) -> RunReport:
        transport = __import__("httpx").WSGITransport(app=self.users)
        report = run_spec(
            self.spec, self.plugins, RunOptions(transports={"crm": transport}, clock=self.clock)
        )
        self.clock.advance(60)
        return report

    def target(self) -> list[dict[str, Any]]:
        rows = read_jsonl(self.workdir / "out/accounts.jsonl")
        changes = read_jsonl(self.workdir / "out/accounts.changes.jsonl")
        by_id: dict[str, dict[str, Any]] = {}
        for row in [*rows, *changes]:
            by_id.setdefault(str(row["id"]), {}).update(row)
        return list(by_id.values())

    def assert_target_is_source(self) -> None:
        target = self.target()
        names = [r["name"] for r in target]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        assert not duplicates, (
            f"{len(duplicates)} accounts are in the target twice: {duplicates[:5]}"
        )
        want = {r["Account_Name"]: r["Phone"] for r in self.emulator.records("Accounts")}
        have = {r["name"]: r.get("phone") for r in target}
        missing = sorted(set(want) - set(have))
        assert not missing, f"{len(missing)} accounts never reached the target: {missing[:5]}"
        stale = sorted(n for n in want if have[n] != want[n])
        assert not stale, f"{len(stale)} accounts have old values: {stale[:5]}"


@pytest.fixture
def world(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(workdir, monkeypatch, FakeClock())


def test_T12_rows_edited_while_the_first_read_pages_are_not_lost(world: World) -> None:
    world.seed(1000)
    page_one = world.in_order()[:200]
    # While page 2 is fetched, users edit 3 rows of page 1: they move to the end of the
    # listing, and with offset paging the rows at positions 200-202 slide onto page 1.
    world.users.before_list(2, lambda: world.edit([page_one[10], page_one[50], page_one[150]], "x"))

    report = world.run()

    assert report.status == "succeeded"
    world.assert_target_is_source()


def test_T12_rows_edited_while_an_incremental_read_pages_are_not_lost(world: World) -> None:
    world.seed(1000)
    world.run()
    changed = world.in_order()[::2]  # 500 changes: an incremental read of 3 pages
    for row in changed:
        world.edit([row], "y")
        world.clock.advance(1)
    order = world.in_order()
    first_page = [r for r in order if r["Phone"].startswith("y")][:200]
    world.users.before_list(2, lambda: world.edit(first_page[5:10], "z"))

    world.run()

    world.assert_target_is_source()


def test_T12_deletes_and_inserts_between_page_fetches_lose_nothing(world: World) -> None:
    world.seed(1000)
    page_one = world.in_order()[:200]

    def work() -> None:
        for row in page_one[20:23]:
            world.emulator.delete("Accounts", row["id"])
        world.emulator.seed("Accounts", [{"Account_Name": "Account new", "Phone": "new"}])

    world.users.before_list(3, work)

    world.run()
    world.run()  # an insert made after the read began may land on the next run

    target = {r["name"] for r in world.target()}
    gone = {r["Account_Name"] for r in page_one[20:23]}
    want = {r["Account_Name"] for r in world.emulator.records("Accounts")}
    assert want - target == set(), sorted(want - target)[:5]
    assert gone <= target  # read before they were deleted: deletes are not propagated


def test_T12_more_rows_in_one_second_than_a_page_holds_are_all_read(world: World) -> None:
    # A mass update: 700 accounts carry the same Modified_Time second.
    world.seed(700, per_second=700)
    world.seed(300)
    page_one = world.in_order()[:200]
    world.users.before_list(2, lambda: world.edit(page_one[:3], "m"))

    world.run()
    world.run()

    world.assert_target_is_source()


def test_T12_a_row_read_twice_in_one_run_is_one_record_in_the_target(world: World) -> None:
    world.seed(400)
    page_one = world.in_order()[:200]
    # Edited while page 2 is fetched: the row comes again, changed, later in the same read,
    # while its create is still in the files target's batch of 1,000.
    world.users.before_list(2, lambda: world.edit(page_one[:4], "twice"))

    report = world.run()

    world.assert_target_is_source()
    totals = report.flows[0].as_dict()["totals"]
    assert totals["created"] == 400
    again = world.run()
    assert again.flows[0].as_dict()["totals"].get("updated", 0) == 0


def test_T12_two_records_claiming_one_match_key_are_reported_never_both_created(
    world: World,
) -> None:
    world.seed(1200)
    rows = world.in_order()
    # Two pairs share a name: one pair in one write batch, one pair 1,100 records apart.
    world.emulator.change("Accounts", rows[11]["id"], {"Account_Name": rows[10]["Account_Name"]})
    world.emulator.change("Accounts", rows[1150]["id"], {"Account_Name": rows[5]["Account_Name"]})

    report = world.run()

    names = [r["name"] for r in world.target()]
    assert len(names) == len(set(names)) == 1198
    totals = report.flows[0].as_dict()["totals"]
    assert (totals["created"], totals["queued"]) == (1198, 2)
    assert "1 record(s) wait" not in " ".join(report.notices)
    assert "2 record(s) wait in the pending queue" in " ".join(report.notices)


def test_T12_deletes_inside_a_second_paged_by_offset_hide_nothing(world: World) -> None:
    world.seed(700, per_second=700)
    world.seed(50)
    crowded = world.in_order()[:700]
    # The second holding 700 records is paged inside by offset; three records already read
    # are deleted before its third page: the rest slide back by three.
    world.users.before_list(
        4, lambda: [world.emulator.delete("Accounts", r["id"]) for r in crowded[10:13]]
    )

    report = world.run()

    assert report.status == "succeeded"
    target = {r["name"] for r in world.target()}
    want = {r["Account_Name"] for r in world.emulator.records("Accounts")}
    assert want - target == set(), sorted(want - target)[:5]
