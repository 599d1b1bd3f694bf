"""Notes, their sharing and their comments (targets.md §4.3-4.4 and the issue's decisions):
create with a required `subject` (at most 255 characters) and `notehtmltext` (at most 1 MB),
HTML kept as sent, `users.sharewith` checked against the org, update, get with comments in
order, and a note of another workspace or an unknown id answered 404."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.ideolve.emulator_kit import ANNA, BOT, RAJ, Ideolve

MB = 1024 * 1024


@pytest.fixture
def io() -> Ideolve:
    return Ideolve()


def test_a_note_made_as_the_documents_example_is_kept_and_answered(io: Ideolve) -> None:
    workspace = io.workspace()
    body = {
        "subject": "Deal: Acme renewal 2025",
        "notehtmltext": "<p><b>Amount:</b> 12,000 USD</p><p><b>Stage:</b> Negotiation</p>",
        "users": {"sharewith": [{"group": "presales-experts"}]},
    }

    made = io.ok("POST", f"/workspace/{workspace}/note", json=body)

    assert sorted(made) == ["noteid", "status"]
    assert made["noteid"].startswith("nt_")
    note = io.get(workspace, made["noteid"])
    assert note["noteid"] == made["noteid"]
    assert note["subject"] == body["subject"]
    assert note["notehtmltext"] == body["notehtmltext"]
    assert note["users"] == {"sharewith": [{"group": "presales-experts", "role": "reader"}]}
    assert (note["comments"], note["attachments"], note["tags"]) == ([], [], [])
    assert note["createdby"] == BOT
    assert note["createdat"] == "2026-12-06T10:00:00.200Z"
    (stored,) = io.emulator.records("notes")
    assert stored == note


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script><p onclick=\"steal()\">Acme & Co</p>",
        "&lt;already escaped&gt; &amp; &rarr;",
        "<p>Łódź — 東京 — émoji 🎉</p>\r\n\t<br/>",
        "not html at all < > &",
    ],
)
def test_html_is_kept_exactly_as_sent(io: Ideolve, text: str) -> None:
    workspace = io.workspace()
    note = io.note(workspace, subject=text[:255], notehtmltext=text)

    answered = io.get(workspace, note)
    assert (answered["subject"], answered["notehtmltext"]) == (text[:255], text)
    io.ok("POST", f"/workspace/{workspace}/note/{note}/comment", json={"commenthtmltext": text})
    assert io.get(workspace, note)["comments"][0]["commenthtmltext"] == text


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"subject": None}, "subject is required"),
        ({"subject": ""}, "subject is required"),
        ({"subject": " \t"}, "subject is required"),
        ({"subject": 12}, "subject must be text"),
        ({"subject": "s" * 256}, "subject is longer than 255 characters"),
        ({"notehtmltext": None}, "notehtmltext is required"),
        ({"notehtmltext": ""}, "notehtmltext is required"),
        ({"notehtmltext": {"p": "x"}}, "notehtmltext must be text"),
        ({"notehtmltext": "x" * (MB + 1)}, "notehtmltext is longer than 1048576 characters"),
        ({"notehtmltext": "é" * (MB // 2 + 1)}, "notehtmltext is larger than 1 MB (1048576 bytes)"),
        ({"tags": "deal"}, "tags must be a list of at most 100 texts of 1 to 255 characters"),
        ({"tags": [""]}, "tags must be a list of at most 100 texts of 1 to 255 characters"),
        ({"tags": ["t"] * 101}, "tags must be a list of at most 100 texts of 1 to 255 characters"),
    ],
)
def test_a_bad_note_is_a_400_naming_the_field_and_nothing_is_made(
    io: Ideolve, change: dict[str, Any], reason: str
) -> None:
    workspace = io.workspace()
    body = {"subject": "Deal", "notehtmltext": "<p>x</p>", **change}
    body = {k: v for k, v in body.items() if v is not None or k not in change}

    assert io.refused("POST", f"/workspace/{workspace}/note", 400, json=body) == {
        "status": "ERROR",
        "reason": reason,
    }
    assert io.emulator.records("notes") == []


@pytest.mark.parametrize("left_out", ["subject", "notehtmltext"])
def test_both_fields_are_required_on_create(io: Ideolve, left_out: str) -> None:
    workspace = io.workspace()
    body = {"subject": "Deal", "notehtmltext": "<p>x</p>"}
    del body[left_out]

    reason = io.reason("POST", f"/workspace/{workspace}/note", 400, json=body)

    assert reason == f"{left_out} is required"


def test_the_limits_themselves_are_taken(io: Ideolve) -> None:
    workspace = io.workspace()
    html = "<p>" + "x" * (MB - 7) + "</p>"  # exactly 1 MB
    note = io.note(workspace, subject="s" * 255, notehtmltext=html)

    answered = io.get(workspace, note)
    assert (len(answered["subject"]), len(answered["notehtmltext"].encode())) == (255, MB)


def test_tags_are_kept_once_each_in_order(io: Ideolve) -> None:
    workspace = io.workspace()
    note = io.note(workspace, tags=["deal", "zoho", "deal"])

    assert io.get(workspace, note)["tags"] == ["deal", "zoho"]


# ---- sharing --------------------------------------------------------------------------------


def test_sharing_with_users_and_groups_takes_roles_and_the_orgs_spelling(io: Ideolve) -> None:
    workspace = io.workspace()
    share = [
        {"group": "Presales-Experts", "role": "contributor"},
        {"user": "RAJ.Expert@example.com"},
        {"group": "sales", "role": "reader"},
    ]
    note = io.note(workspace, users={"sharewith": share})

    assert io.get(workspace, note)["users"]["sharewith"] == [
        {"group": "presales-experts", "role": "contributor"},
        {"user": RAJ, "role": "reader"},
        {"group": "sales", "role": "reader"},
    ]


def test_a_user_or_group_named_twice_is_kept_once_with_the_later_role(io: Ideolve) -> None:
    workspace = io.workspace()
    share = [{"user": ANNA}, {"group": "sales"}, {"user": ANNA.upper(), "role": "contributor"}]
    note = io.note(workspace, users={"sharewith": share})

    assert io.get(workspace, note)["users"]["sharewith"] == [
        {"group": "sales", "role": "reader"},
        {"user": ANNA, "role": "contributor"},
    ]


@pytest.mark.parametrize(
    ("users", "reason"),
    [
        ({"sharewith": [{"user": "eve@example.com"}]}, "unknown user eve@example.com"),
        ({"sharewith": [{"group": "board"}]}, "unknown group board"),
        ({"sharewith": [{"user": ANNA}, {"group": "nobody"}]}, "unknown group nobody"),
        ({"sharewith": [{"user": ANNA, "role": "owner"}]}, "role must be reader or contributor, not owner"),
        ({"sharewith": [{"user": ANNA, "group": "sales"}]}, 'users.sharewith entries are {"user": email} or {"group": name}'),
        ({"sharewith": [{}]}, 'users.sharewith entries are {"user": email} or {"group": name}'),
        ({"sharewith": [ANNA]}, 'users.sharewith entries are {"user": email} or {"group": name}'),
        ({"sharewith": {"user": ANNA}}, "users.sharewith must be a list"),
        ([{"user": ANNA}], "users must be an object with sharewith"),
        ({"sharewith": [{"user": ["x"]}]}, "unknown user ['x']"),
        ({"sharewith": [{"user": "e" * 500}]}, "unknown user " + "e" * 80 + "..."),
    ],
)  # fmt: skip
def test_sharing_with_someone_the_org_does_not_know_is_a_400_naming_them(
    io: Ideolve, users: Any, reason: str
) -> None:
    workspace = io.workspace()
    body = {"subject": "Deal", "notehtmltext": "<p>x</p>", "users": users}

    assert io.reason("POST", f"/workspace/{workspace}/note", 400, json=body) == reason
    assert io.emulator.records("notes") == []


# ---- update and get -------------------------------------------------------------------------


def test_an_update_changes_the_fields_sent_and_moves_modifiedat(io: Ideolve) -> None:
    workspace = io.workspace()
    note = io.note(workspace, tags=["deal"], users={"sharewith": [{"user": ANNA}]})
    before = io.get(workspace, note)

    made = io.ok("PUT", f"/workspace/{workspace}/note/{note}", json={"subject": "Closed Won"})

    assert made == {"status": "SUCCESS", "noteid": note}
    after = io.get(workspace, note)
    assert after["subject"] == "Closed Won"
    assert after["notehtmltext"] == before["notehtmltext"]
    assert (after["tags"], after["users"]) == (before["tags"], before["users"])
    assert after["createdat"] == before["createdat"]
    assert after["modifiedat"] > before["modifiedat"]

    io.ok("PUT", f"/workspace/{workspace}/note/{note}", json={"notehtmltext": "<p>new</p>"})
    assert io.get(workspace, note)["notehtmltext"] == "<p>new</p>"
    assert io.get(workspace, note)["subject"] == "Closed Won"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "send subject or notehtmltext to update a note"),
        ({"tags": ["x"]}, "send subject or notehtmltext to update a note"),
        ({"subject": ""}, "subject is required"),
        ({"subject": None}, "subject is required"),
        ({"notehtmltext": 5}, "notehtmltext must be text"),
        ({"subject": "s" * 256}, "subject is longer than 255 characters"),
    ],
)
def test_a_bad_update_is_a_400_and_changes_nothing(
    io: Ideolve, body: dict[str, Any], reason: str
) -> None:
    workspace = io.workspace()
    note = io.note(workspace)
    before = io.emulator.records("notes")

    assert io.reason("PUT", f"/workspace/{workspace}/note/{note}", 400, json=body) == reason
    assert io.emulator.records("notes") == before


def test_a_note_of_another_workspace_or_an_unknown_id_is_a_404(io: Ideolve) -> None:
    first, second = io.workspace("One"), io.workspace("Two")
    note = io.note(first)

    for method, path in (
        ("GET", f"/workspace/{second}/note/{note}"),
        ("PUT", f"/workspace/{second}/note/{note}"),
        ("POST", f"/workspace/{second}/note/{note}/comment"),
        ("GET", f"/workspace/{first}/note/nt_0000000000000000"),
        ("GET", f"/workspace/{first}/note/{first}"),  # a workspace's id is no note's
    ):
        body = io.refused(method, path, 404, json={"subject": "x", "commenthtmltext": "x"})
        assert body == {"status": "NOT_FOUND", "reason": "note not found"}, path
    assert io.reason("GET", f"/workspace/ws_0/note/{note}", 404) == "workspace not found"
    assert io.reason("POST", "/workspace/ws_0/note", 404, json={}) == "workspace not found"
    assert io.emulator.records("notes")[0]["comments"] == []


def test_another_users_workspace_and_its_notes_are_not_found_for_a_non_member(
    io: Ideolve,
) -> None:
    annas = io.workspace("Anna's", user=ANNA)
    note = io.note(annas, user=ANNA, users={"sharewith": [{"user": BOT}]})

    assert io.reason("GET", f"/workspace/{annas}/note/{note}", 404) == "workspace not found"
    assert io.reason("POST", f"/workspace/{annas}/note", 404, json={}) == "workspace not found"
    io.refused("PUT", f"/workspace/{annas}/note/{note}", 404, json={"subject": "mine now"})
    assert io.get(annas, note, user=ANNA)["subject"] == "Deal: Acme renewal"
    assert io.get(annas, note, user=ANNA)["createdby"] == ANNA


# ---- comments -------------------------------------------------------------------------------


def test_comments_are_answered_in_order_with_author_and_time(io: Ideolve) -> None:
    workspace = io.workspace()
    note = io.note(workspace)
    path = f"/workspace/{workspace}/note/{note}/comment"
    texts = ["<p>Stage changed: Negotiation &rarr; Closed Won</p>", "<p>second</p>", "<p>3</p>"]
    ids = [io.ok("POST", path, json={"commenthtmltext": t})["commentid"] for t in texts]

    comments = io.get(workspace, note)["comments"]

    assert [c["commentid"] for c in comments] == ids
    assert all(i.startswith("cm_") for i in ids)
    assert [c["commenthtmltext"] for c in comments] == texts
    assert {c["createdby"] for c in comments} == {BOT}
    assert [c["createdat"] for c in comments] == sorted(c["createdat"] for c in comments)
    assert sorted(comments[0]) == ["commenthtmltext", "commentid", "createdat", "createdby"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "commenthtmltext is required"),
        ({"commenthtmltext": ""}, "commenthtmltext is required"),
        ({"commenthtmltext": ["x"]}, "commenthtmltext must be text"),
        ({"commenthtmltext": "x" * (MB + 1)}, "commenthtmltext is longer than 1048576 characters"),
    ],
)
def test_a_bad_comment_is_a_400_and_nothing_is_added(
    io: Ideolve, body: dict[str, Any], reason: str
) -> None:
    workspace = io.workspace()
    note = io.note(workspace)

    assert io.reason("POST", f"/workspace/{workspace}/note/{note}/comment", 400, json=body) == (
        reason
    )
    assert io.get(workspace, note)["comments"] == []


def test_a_comment_of_1_mb_is_taken(io: Ideolve) -> None:
    workspace = io.workspace()
    note = io.note(workspace)

    io.ok("POST", f"/workspace/{workspace}/note/{note}/comment", json={"commenthtmltext": "c" * MB})

    assert len(io.get(workspace, note)["comments"][0]["commenthtmltext"]) == MB
