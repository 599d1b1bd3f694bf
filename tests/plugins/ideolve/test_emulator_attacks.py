"""The emulator from an attacker's point of view: oversized, broken or hostile bodies and
paths are answered 400 or 404 in Ideolve's words (never a 500), change nothing, never reach
another user's workspace, and no answer quotes a secret or an attacker's megabyte back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.plugins.ideolve.emulator_kit import ANNA, API, API_KEY, CLIENT_ID, Ideolve

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def io() -> Ideolve:
    return Ideolve(max_body_bytes=4096)


def writes(io: Ideolve) -> list[tuple[str, str]]:
    workspace = io.workspace()
    note = io.note(workspace)
    return [
        ("POST", "/workspace"),
        ("POST", f"/workspace/{workspace}/note"),
        ("PUT", f"/workspace/{workspace}/note/{note}"),
        ("POST", f"/workspace/{workspace}/note/{note}/comment"),
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{", "malformed JSON body"),
        (b"", "malformed JSON body"),
        (b"\xff\xfe\x00garbage", "malformed JSON body"),
        (b"[" * 3000, "malformed JSON body"),
        (b"[" * 100 + b"]" * 100, "the body must be a JSON object"),
        (b'["subject"]', "the body must be a JSON object"),
        (b'"Acme"', "the body must be a JSON object"),
        (b"null", "the body must be a JSON object"),
        (b'{"subject": "' + b"x" * 5000 + b'"}', "request body too large"),
    ],
    ids=["cut", "empty", "not-unicode", "too-deep", "deep-array", "array", "string", "null",
         "too-large"],
)  # fmt: skip
def test_a_body_that_is_not_a_json_object_is_a_400_and_changes_nothing(
    io: Ideolve, content: bytes, reason: str
) -> None:
    paths = writes(io)
    before = (io.emulator.records("workspaces"), io.emulator.records("notes"))

    for method, path in paths:
        body = io.refused(method, path, 400, content=content, headers={**io.headers, **JSON})
        assert body == {"status": "ERROR", "reason": reason}, path

    assert (io.emulator.records("workspaces"), io.emulator.records("notes")) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "NaN"),  # sent raw below: JSON's NaN, as some encoders write it
        ("subject", True),
        ("subject", {"$ne": ""}),
        ("notehtmltext", 10**30),
        ("notehtmltext", ["<p>", "</p>"]),
    ],
)
def test_values_of_the_wrong_type_are_a_400_not_a_500(io: Ideolve, field: str, value: Any) -> None:
    workspace = io.workspace()
    body = {"subject": "s", "notehtmltext": "<p>x</p>", field: value}
    content = json.dumps(body).replace('"NaN"', "NaN")

    assert io.reason(
        "POST", f"/workspace/{workspace}/note", 400, content=content, headers={**io.headers, **JSON}
    ) == (f"{field} must be text")


def test_another_users_workspace_cannot_be_reached_by_any_call(io: Ideolve) -> None:
    annas = io.workspace("Anna's", user=ANNA)
    note = io.note(annas, user=ANNA)
    before = io.emulator.records("notes")

    for method, path, kwargs in (
        ("GET", f"/workspace/{annas}/note/{note}", {}),
        ("PUT", f"/workspace/{annas}/note/{note}", {"json": {"subject": "owned"}}),
        ("POST", f"/workspace/{annas}/note", {"json": {"subject": "s", "notehtmltext": "x"}}),
        ("POST", f"/workspace/{annas}/note/{note}/comment", {"json": {"commenthtmltext": "x"}}),
        ("POST", f"/workspace/{annas}/note/{note}/attachment", {"files": {"file": ("a", b"x")}}),
    ):
        body = io.refused(method, path, 404, **kwargs)
        assert body == {"status": "NOT_FOUND", "reason": "workspace not found"}, path

    assert io.emulator.records("notes") == before
    assert [w["name"] for w in io.ok("GET", "/workspaces")["workspaces"]] == []


def test_a_note_id_from_anothers_workspace_under_ones_own_is_not_found(io: Ideolve) -> None:
    mine = io.workspace("Mine")
    annas = io.workspace("Anna's", user=ANNA)
    note = io.note(annas, user=ANNA)

    assert io.reason("GET", f"/workspace/{mine}/note/{note}", 404) == "note not found"
    io.refused("PUT", f"/workspace/{mine}/note/{note}", 404, json={"subject": "owned"})
    assert io.get(annas, note, user=ANNA)["subject"] == "Deal: Acme renewal"


@pytest.mark.parametrize(
    "tail",
    [
        "/workspace/%2E%2E/note/NOTE",  # a dot-dot segment, escaped so it is sent as is
        "/workspace/WS%2F..%2F..%2Fnote/NOTE",  # escaped slashes inside an id
        "/workspace/WS/note/NOTE%2F..",
        "/workspace/WS/note/NOTE%00",
        "/workspace/WS/note/" + "n" * 10_000,
        "/workspace/WS/note/nt_%2A",
        "/workspace/WS/note/%20NOTE",
        "/workspace/ws_%25/note/NOTE",
    ],
)
def test_path_tricks_in_ids_are_a_404_in_ideoves_words(io: Ideolve, tail: str) -> None:
    workspace = io.workspace()
    note = io.note(workspace)
    url = API + "/user/sales.bot%40example.com" + tail.replace("WS", workspace)
    url = url.replace("NOTE", note)

    answer = io.http.get(url, headers=io.headers)

    assert answer.status_code == 404, answer.text
    assert answer.json()["status"] == "NOT_FOUND"
    assert io.emulator.log[-1].raw_path.startswith("/v4/user/sales.bot%40example.com/workspace/")


def test_hostile_headers_are_a_500_or_401_never_a_crash(io: Ideolve) -> None:
    for headers in (
        {"Client-Id": CLIENT_ID, "Connector-Api-Key": "\x7f" * 10, "App-Name": "x"},
        {"Client-Id": "c" * 10_000, "Connector-Api-Key": API_KEY, "App-Name": "x"},
        {"Client-Id": CLIENT_ID + " ", "Connector-Api-Key": " " + API_KEY, "App-Name": "x"},
    ):
        answer = io.call("POST", "/auth", headers=headers)
        assert answer.status_code in (200, 500), answer.text
        assert API_KEY not in answer.text
        assert len(answer.content) < 200


def test_a_long_value_quoted_back_is_cut_short(io: Ideolve) -> None:
    workspace = io.workspace()
    hostile = "<script>" + "x" * 3000
    body = {"subject": "s", "notehtmltext": "x", "users": {"sharewith": [{"group": hostile}]}}

    reason = io.reason("POST", f"/workspace/{workspace}/note", 400, json=body)

    assert reason == "unknown group " + hostile[:80] + "..."
