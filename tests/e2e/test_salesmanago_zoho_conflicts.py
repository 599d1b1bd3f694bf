"""SALESmanago ⇄ Zoho CRM when both sides edit one contact between two runs, under each
conflict policy (spec variants made from the real spec by replacing its `conflict:` line):
the same field → `newest` (each vendor's own modification time), `sm`, `crm` or `queue`
(held, both values shown by `integrate pending`, then resolved); different fields → both
land, whatever the policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.smz import World, operator_copy

ANN = {
    "email": "ann@example.com",
    "name": "Ann Lee",
    "phone": "+48 600 000 000",
    "state": "PROSPECT",
}


def world_with(policy: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    spec = operator_copy(workdir, ("conflict: newest", f"conflict: {policy}"))
    world = World(workdir, monkeypatch, spec=spec)
    world.sm.seed("contacts", [ANN])
    world.run()
    world.settled()
    return world


def edit_phone(world: World, *, sm: str, crm: str, crm_first: bool = False) -> None:
    """Both sides' users edit Ann's phone, a minute apart (the second edit is newer)."""
    lead_id = world.crm_record("ann@example.com")[1]["id"]
    edits = [
        lambda: world.sm.change("contacts", world.sm_id("ann@example.com"), {"phone": sm}),
        lambda: world.crm.change("Leads", lead_id, {"Phone": crm}),
    ]
    for edit in reversed(edits) if crm_first else edits:
        world.later()
        edit()


def phones(world: World) -> tuple[str, str]:
    return world.contact("ann@example.com")["phone"], world.crm_record("ann@example.com")[1][
        "Phone"
    ]


@pytest.mark.parametrize("crm_first", [False, True], ids=["zoho edited last", "sm edited last"])
def test_conflict_newest_the_later_edit_wins_by_each_vendors_modification_time(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, crm_first: bool
) -> None:
    world = world_with("newest", workdir, monkeypatch)
    edit_phone(world, sm="+48 1", crm="+48 2", crm_first=crm_first)

    world.run()

    later = "+48 1" if crm_first else "+48 2"
    assert phones(world) == (later, later)
    world.settled()


@pytest.mark.parametrize("policy", ["sm", "crm"])
def test_conflict_side_wins_whichever_edit_is_newer(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    world = world_with(policy, workdir, monkeypatch)
    # The losing side edits last, so `newest` would have chosen it.
    edit_phone(world, sm="+48 1", crm="+48 2", crm_first=policy == "crm")

    world.run()

    kept = "+48 1" if policy == "sm" else "+48 2"
    assert phones(world) == (kept, kept)
    world.settled()


def test_conflict_queue_holds_the_record_with_both_values_until_an_operator_decides(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    world = world_with("queue", workdir, monkeypatch)
    edit_phone(world, sm="+48 1", crm="+48 2")

    held = world.run()

    assert held.totals["queued"] == 1
    assert phones(world) == ("+48 1", "+48 2")  # neither side is overwritten
    state = ("--state", str(workdir / "state.db"))
    listed = cli("pending", "list", str(world.spec), *state, "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert (
        'both sides changed phone ⇄ Phone (sm: "+48 1", crm: "+48 2") since the last sync'
    ) in row["reason"]
    shown = cli("pending", "list", str(world.spec), *state)
    assert '"+48 1"' in shown.stdout
    assert '"+48 2"' in shown.stdout

    waiting = world.run()  # until the operator decides, it waits: neither edit is lost

    assert waiting.totals["queued"] == 1
    assert waiting.writes() == (0, 0)
    assert phones(world) == ("+48 1", "+48 2")

    decided = cli(
        "pending", "resolve", str(world.spec), "contacts", row["source_id"], "--keep", "crm", *state
    )
    assert decided.exit_code == 0, decided.output
    world.run()

    assert phones(world) == ("+48 2", "+48 2")
    assert json.loads(cli("pending", "list", str(world.spec), *state, "--json").stdout) == []
    world.settled()


@pytest.mark.parametrize("policy", ["newest", "sm", "crm", "queue"])
def test_edits_of_different_fields_both_land_whatever_the_policy(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    world = world_with(policy, workdir, monkeypatch)
    lead_id = world.crm_record("ann@example.com")[1]["id"]
    world.later()
    world.sm.change("contacts", world.sm_id("ann@example.com"), {"phone": "+48 1"})
    world.later()
    world.crm.change("Leads", lead_id, {"City": "Kraków"})

    both = world.run()

    assert both.totals["queued"] == 0
    assert phones(world) == ("+48 1", "+48 1")
    assert world.contact("ann@example.com")["address"]["city"] == "Kraków"
    assert world.crm_record("ann@example.com")[1]["City"] == "Kraków"
    world.settled()
