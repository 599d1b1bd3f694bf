"""The spec's event flow from the Zoho CRM emulator to the Ideolve emulator: a new Account
becomes a note whose HTML holds every CRM value escaped (an Account named `<script>...`
arrives as text), shared with the spec's group; its attachments are streamed into the note."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.plugins.ideolve.flow import EVERY_TWO_HOURS, Flow, copy_of_spec


@pytest.fixture
def flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flow:
    return Flow(tmp_path, monkeypatch, copy_of_spec(tmp_path, (EVERY_TWO_HOURS, "")))


def test_a_script_in_an_account_name_arrives_escaped(flow: Flow) -> None:  # ID-1
    first = flow.run()  # backfill: false: the first run only remembers what is there
    assert first["status"] == "succeeded", first
    account = flow.account(
        Account_Name="<script>alert('x')</script> & Sons",
        Description='He said "<b>hi</b>"',
    )
    pdf = b"%PDF-1.7 quarterly plan\n" * 500
    flow.crm.seed("Attachments", [{"Parent_Id": account, "File_Name": "plan.pdf", "content": pdf}])

    report = flow.run()

    assert report["status"] == "succeeded", report
    [note] = flow.notes()
    html = note["notehtmltext"]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Sons" in html
    assert "He said &quot;&lt;b&gt;hi&lt;/b&gt;&quot;" in html
    assert note["subject"] == "Account: <script>alert('x')</script> & Sons"  # text, not HTML
    assert note["users"]["sharewith"] == [{"group": "presales-experts", "role": "reader"}]
    [attached] = note["attachments"]  # ID-5
    assert attached["filename"] == "plan.pdf"
    assert attached["sha256"] == hashlib.sha256(pdf).hexdigest()
    [space] = flow.ideolve.records("workspaces")
    assert space["name"] == "Zoho CRM"  # ID-8

    again = flow.run()  # nothing new: no note, no comment, no attachment again

    assert again["status"] == "succeeded", again
    [same] = flow.notes()
    assert same["attachments"] == note["attachments"]
    assert same["comments"] == []


def test_a_change_becomes_one_comment_with_every_value_escaped(flow: Flow) -> None:  # ID-2
    flow.run()
    account = flow.account(Account_Name="Acme", Description="plain")
    flow.run()
    flow.crm.change("Accounts", account, {"Description": "<i>big</i> deal"})

    report = flow.run()
    again = flow.run()

    assert report["status"] == "succeeded", report
    [note] = flow.notes()
    [comment] = note["comments"]
    assert (
        "<p>Description: plain &rarr; &lt;i&gt;big&lt;/i&gt; deal</p>" in comment["commenthtmltext"]
    )
    assert again["status"] == "succeeded", again
    assert len(flow.notes()[0]["comments"]) == 1, "the same change was commented twice"


def test_a_declared_size_over_the_limit_fails_without_a_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = copy_of_spec(
        tmp_path,
        (EVERY_TWO_HOURS, ""),
        (
            "file_name: related.File_Name",
            "file_name: related.File_Name\n          file_size: related.Size",
        ),
        (
            "      user: sales.bot@example.com",
            "      max_attachment_bytes: 1000\n      user: sales.bot@example.com",
        ),
    )
    flow = Flow(tmp_path, monkeypatch, spec)
    flow.run()
    account = flow.account(Account_Name="Acme")
    flow.crm.seed(
        "Attachments",
        [
            {"Parent_Id": account, "File_Name": "big.bin", "content": b"b" * 5000},
            {"Parent_Id": account, "File_Name": "ok.txt", "content": b"fine"},
        ],
    )

    report = flow.run()

    assert report["status"] == "completed_with_errors", report
    [note] = flow.notes()
    assert [a["filename"] for a in note["attachments"]] == ["ok.txt"]
    assert flow.crm.calls()["download"] == 1, "the one over the limit was downloaded"
