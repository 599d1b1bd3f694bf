"""Notes written into the configured workspace (found by name without case, created when
missing), shared as `share_with` says, updated, commented on, read back by id; Ideolve's
refusals fail their record alone with its reason; a 5xx is retried where a call is safe to
resend; every path template is honoured when changed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrate import ConnectorError, Faults, PluginError, WriteItem
from tests.plugins.ideolve.kit import WORKSPACE, Ideolve

BOT = "sales.bot@example.com"
ANNA = "anna.expert@example.com"


@pytest.fixture
def ideolve() -> Iterator[Ideolve]:
    world = Ideolve()
    yield world
    world.close()


def test_a_missing_workspace_is_created_once_then_found(ideolve: Ideolve) -> None:  # ID-8
    ideolve.note("Account: One")
    ideolve.connector = ideolve.open()  # the next run: a new connection
    ideolve.note("Account: Two")

    [space] = ideolve.workspaces()
    assert space["name"] == WORKSPACE
    assert ideolve.emulator.calls()["workspace"] == 1
    assert ideolve.emulator.calls()["list"] == 2  # once a connection
    assert {n["workspaceid"] for n in ideolve.notes().values()} == {space["workspaceid"]}


def test_the_workspace_is_found_by_name_without_case() -> None:
    world = Ideolve(emulator={"workspaces": ["zoho crm", "Other"]})
    try:
        world.note()

        assert world.emulator.calls().get("workspace", 0) == 0
        [note] = world.notes().values()
        [space] = [w for w in world.workspaces() if w["name"] == "zoho crm"]
        assert note["workspaceid"] == space["workspaceid"]
    finally:
        world.close()


def test_without_create_workspace_a_missing_one_stops_with_what_to_do(ideolve: Ideolve) -> None:
    ideolve.connector = ideolve.open(create_workspace=False)

    with pytest.raises(PluginError) as stopped:
        ideolve.note()

    assert "no Ideolve workspace named 'Zoho CRM'" in str(stopped.value)
    assert "create_workspace: true" in str(stopped.value)
    assert ideolve.workspaces() == []


def test_notes_are_shared_as_share_with_says(ideolve: Ideolve) -> None:  # ID-8
    ideolve.connector = ideolve.open(
        share_with=[{"group": "presales-experts"}, {"user": ANNA, "role": "contributor"}]
    )

    noteid = ideolve.note()

    shared = ideolve.notes()[noteid]["users"]["sharewith"]
    assert {"group": "presales-experts", "role": "reader"} in shared
    assert {"user": ANNA, "role": "contributor"} in shared


def test_an_unknown_group_fails_its_record_alone_with_ideolves_reason(ideolve: Ideolve) -> None:
    good = {"subject": "Fine", "notehtmltext": "<p>ok</p>"}
    bad = {**good, "users": {"sharewith": [{"group": "no-such-group"}]}}

    results = ideolve.create(good, bad, {"subject": "No body"})

    assert [r.ok for r in results] == [True, False, False]
    assert results[1].code == "INVALID"
    assert "no-such-group" in results[1].error
    assert results[2].code == "MISSING_FIELD"
    assert "notehtmltext" in results[2].error
    assert len(ideolve.notes()) == 1


def test_update_comment_and_get(ideolve: Ideolve) -> None:  # ID-2
    noteid = ideolve.note()

    [updated] = ideolve.connector.write(
        "notes", "update", [WriteItem(1, {"subject": "Account: Acme Ltd"}, id=noteid)]
    )
    commented = ideolve.act("comment", noteid, {"commenthtmltext": "<p>Stage: a &rarr; b</p>"})
    [note] = ideolve.connector.get("notes", [noteid, "nt_0000000000000000"])

    assert updated.ok, updated.error
    assert commented.ok, commented.error
    assert note["subject"] == "Account: Acme Ltd"
    assert [c["commenthtmltext"] for c in note["comments"]] == ["<p>Stage: a &rarr; b</p>"]
    assert note["comments"][0]["createdby"] == BOT


def test_a_comment_on_an_unknown_note_fails_alone(ideolve: Ideolve) -> None:
    ideolve.note()

    result = ideolve.act("comment", "nt_ffffffffffffffff", {"commenthtmltext": "<p>x</p>"})

    assert not result.ok
    assert result.code == "NOT_FOUND"
    assert "Ideolve refused" in result.error


def test_a_server_error_is_retried_where_the_call_is_safe_to_resend(ideolve: Ideolve) -> None:
    noteid = ideolve.note()
    ideolve.emulator.faults = Faults(server_error=0.5)

    found = [ideolve.connector.get("notes", [noteid]) for _ in range(6)]

    assert all(len(f) == 1 for f in found)
    statuses = [c.status for c in ideolve.emulator.log if c.kind == "get"]
    assert 500 in statuses, "no 500 was injected (seeded faults)"
    assert statuses.count(200) == 6


def test_a_create_answered_500_is_not_resent_and_is_ambiguous(ideolve: Ideolve) -> None:
    ideolve.note()  # auth and workspace first
    ideolve.emulator.faults = Faults(server_error=1.0)

    [result] = ideolve.create({"subject": "S", "notehtmltext": "<p>h</p>"})

    assert result.code == "AMBIGUOUS"
    assert ideolve.emulator.calls()["create"] == 2  # the first note, and this one once


def test_changed_path_templates_are_the_paths_called(ideolve: Ideolve) -> None:
    ideolve.connector = ideolve.open(
        paths={
            "workspaces": "/v2/user/{user}/spaces",
            "create_note": "/user/{user}/workspace/{workspaceid}/notes/new",
        }
    )

    with pytest.raises(ConnectorError, match="no such path"):
        ideolve.note()  # the listing at that path is not Ideolve's: 404 no such path

    assert "GET /v4/v2/user/sales.bot%40example.com/spaces" in ideolve.paths()
    ideolve.connector = ideolve.open(
        paths={"create_note": "/user/{user}/workspace/{workspaceid}/notes/new"}
    )
    [refused] = ideolve.create({"subject": "S", "notehtmltext": "<p>h</p>"})
    [space] = ideolve.workspaces()
    assert f"POST /v4/user/sales.bot%40example.com/workspace/{space['workspaceid']}/notes/new" in (
        ideolve.paths()
    )
    assert refused.code == "NOT_FOUND"
    assert "no such path" in refused.error


def test_a_template_with_a_placeholder_it_cannot_fill_is_refused(ideolve: Ideolve) -> None:
    with pytest.raises(PluginError) as refused:
        ideolve.open(paths={"workspaces": "/user/{user}/workspace/{noteid}"})

    assert "paths.workspaces: {noteid} is not one of {user}" in str(refused.value)
