"""Workspaces as the issue decided them: a user lists the workspaces it belongs to and creates
one it then owns; a name is unique per user without case; ids are `ws_` and hex, the same for
the same seed."""

from __future__ import annotations

import re

import pytest

from tests.plugins.ideolve.emulator_kit import ANNA, BOT, RAJ, Ideolve


def test_no_workspace_until_one_is_created() -> None:
    io = Ideolve()

    assert io.ok("GET", "/workspaces") == {"status": "SUCCESS", "workspaces": []}


def test_a_created_workspace_is_listed_with_its_name_and_description_and_owned_by_the_user() -> (
    None
):
    io = Ideolve()
    made = io.ok("POST", "/workspace", json={"name": "Zoho CRM: Acme", "description": "Deals"})

    assert sorted(made) == ["status", "workspaceid"]
    assert re.fullmatch(r"ws_[0-9a-f]+", made["workspaceid"])
    assert io.ok("GET", "/workspaces")["workspaces"] == [
        {"workspaceid": made["workspaceid"], "name": "Zoho CRM: Acme", "description": "Deals"}
    ]
    (stored,) = io.emulator.records("workspaces")
    assert (stored["owner"], stored["members"]) == (BOT, [BOT])


def test_a_workspace_without_a_description_lists_an_empty_one() -> None:
    io = Ideolve()
    io.workspace("Deals")

    (listed,) = io.ok("GET", "/workspaces")["workspaces"]
    assert listed["description"] == ""


def test_workspaces_are_listed_in_the_order_made() -> None:
    io = Ideolve()
    ids = [io.workspace(name) for name in ("Zeta", "Alpha", "Mid")]

    assert [w["workspaceid"] for w in io.ok("GET", "/workspaces")["workspaces"]] == ids


@pytest.mark.parametrize("again", ["Deals", "deals", "DEALS"])
def test_a_duplicate_name_without_case_is_a_400_that_names_it(again: str) -> None:
    io = Ideolve()
    io.workspace("Deals")

    body = io.refused("POST", "/workspace", 400, json={"name": again})

    assert body == {"status": "ERROR", "reason": f"a workspace named {again} exists"}
    assert len(io.emulator.records("workspaces")) == 1


def test_another_user_may_have_a_workspace_of_the_same_name_and_neither_sees_the_other() -> None:
    io = Ideolve()
    mine = io.workspace("Deals")
    annas = io.workspace("Deals", user=ANNA)

    assert [w["workspaceid"] for w in io.ok("GET", "/workspaces")["workspaces"]] == [mine]
    assert [w["workspaceid"] for w in io.ok("GET", "/workspaces", user=ANNA)["workspaces"]] == [
        annas
    ]
    assert io.ok("GET", "/workspaces", user=RAJ)["workspaces"] == []


def test_a_member_sees_a_seeded_shared_workspace() -> None:
    io = Ideolve()
    [shared] = io.emulator.seed("workspaces", [{"name": "Presales", "members": [ANNA]}])

    listed = io.ok("GET", "/workspaces", user=ANNA)["workspaces"]
    assert [w["workspaceid"] for w in listed] == [shared["workspaceid"]]
    assert shared["owner"] == BOT
    # a member of it may not make another workspace of that name either
    io.refused("POST", "/workspace", 400, user=ANNA, json={"name": "presales"})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "name is required"),
        ({"name": ""}, "name is required"),
        ({"name": "   "}, "name is required"),
        ({"name": None}, "name is required"),
        ({"name": 42}, "name must be text"),
        ({"name": ["Deals"]}, "name must be text"),
        ({"name": "x" * 256}, "name is longer than 255 characters"),
        ({"name": "Deals", "description": 7}, "description must be text"),
        (
            {"name": "Deals", "description": "d" * 4001},
            "description is longer than 4000 characters",
        ),
    ],
)
def test_a_bad_workspace_body_is_a_400_naming_the_field(
    body: dict[str, object], reason: str
) -> None:
    io = Ideolve()

    assert io.refused("POST", "/workspace", 400, json=body) == {"status": "ERROR", "reason": reason}
    assert io.emulator.records("workspaces") == []


def test_a_name_of_255_characters_is_taken() -> None:
    io = Ideolve()
    io.workspace("x" * 255)

    assert io.emulator.records("workspaces")[0]["name"] == "x" * 255


def test_ids_are_the_same_for_the_same_seed_and_differ_for_another() -> None:
    def ids(seed: int) -> list[str]:
        io = Ideolve(seed=seed)
        workspace = io.workspace()
        note = io.note(workspace)
        comment = io.ok(
            "POST", f"/workspace/{workspace}/note/{note}/comment", json={"commenthtmltext": "x"}
        )["commentid"]
        return [workspace, note, comment]

    first = ids(3)
    assert first == ids(3)
    assert first != ids(4)
    assert [i[:3] for i in first] == ["ws_", "nt_", "cm_"]
    assert all(re.fullmatch(r"[a-z]{2}_[0-9a-f]{16}", i) for i in first)


def test_the_workspaces_option_seeds_workspaces_of_the_acting_user() -> None:
    io = Ideolve(workspaces="Zoho CRM: Acme, Renewals")

    names = [w["name"] for w in io.ok("GET", "/workspaces")["workspaces"]]
    assert names == ["Zoho CRM: Acme", "Renewals"]
