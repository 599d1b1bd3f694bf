"""Zoho CRM → Ideolve end to end (specs/zoho_crm-ideolve.yaml, requirements ID-1 … ID-8 of
shared/REQUIREMENTS.md), over the Zoho CRM and Ideolve emulators, polled. ID-7's webhook half
(`integrate serve` receiving Zoho's callbacks) is in test_zoho_ideolve_served.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.izo import World

TWO_HOURS = 2 * 3600


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    made = World(tmp_path, monkeypatch)
    made.run()  # the integration starts: what exists now gets no note (backfill: false)
    return made


def test_ID_1_a_new_account_or_deal_creates_a_note_in_the_workspace_shared_as_the_spec_says(
    world: World,
) -> None:
    account = world.add("Accounts", Account_Name="Acme Corp", Description="Rockets")
    world.add("Deals", Deal_Name="Acme renewal", Stage="Qualification", Amount=12000)

    run = world.run()

    notes = world.notes()
    assert sorted(notes) == ["Account: Acme Corp", "Deal: Acme renewal"]
    acme = notes["Account: Acme Corp"]
    assert "<p><b>Acme Corp</b></p>" in acme["notehtmltext"]
    assert "<p>Rockets</p>" in acme["notehtmltext"]
    # ID-8: the spec's workspace (made, as it did not exist), group and acting user
    assert acme["workspaceid"] == world.workspaces()["Zoho CRM"]["workspaceid"]
    assert acme["users"]["sharewith"] == [{"group": "presales-experts", "role": "reader"}]
    assert acme["createdby"] == "sales.bot@example.com"
    assert run.totals["actions"] == 2
    assert account  # the account's note is its own: a second run makes none again
    assert world.run().totals["actions"] == 0
    assert len(world.notes()) == 2


def test_ID_1_records_made_before_the_integration_get_no_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(tmp_path, monkeypatch)
    world.add("Accounts", Account_Name="Old Co")

    world.run()

    assert world.notes() == {}


def test_ID_2_an_update_adds_a_comment_with_each_changed_field_old_and_new(world: World) -> None:
    account = world.add("Accounts", Account_Name="Acme", Phone="+1 555 0100", Rating="Warm")
    world.run()
    world.later()
    world.edit("Accounts", account, Phone="+1 555 0199", Rating="Hot")

    run = world.run()

    [comment] = world.note("Account: Acme")["comments"]
    text = comment["commenthtmltext"]
    # each field a user changed, and nothing Zoho keeps itself (activity and change times)
    assert sorted(text.removeprefix("<p>").removesuffix("</p>").split("</p><p>")) == [
        "Phone: +1 555 0100 &rarr; +1 555 0199",
        "Rating: Warm &rarr; Hot",
    ]
    # the old values come from what the last run kept, not from a second read of Zoho
    assert run.crm_calls["get"] == 0
    assert world.run().totals["actions"] == 0  # nothing new: no second comment


def test_ID_2_every_crm_value_is_escaped_in_the_html(world: World) -> None:
    account = world.add("Accounts", Account_Name="<script>alert(1)</script>", Phone="1")
    world.run()
    world.later()
    world.edit("Accounts", account, Phone="<b>2</b>")

    world.run()

    [note] = world.notes().values()
    assert "<script>" not in note["notehtmltext"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in note["notehtmltext"]
    assert note["subject"] == "Account: <script>alert(1)</script>"  # a subject is plain text
    [comment] = note["comments"]
    assert "&lt;b&gt;2&lt;/b&gt;" in comment["commenthtmltext"]


def test_ID_3_a_deal_associated_with_an_account_adds_a_comment_on_its_note(
    world: World,
) -> None:
    account = world.add("Accounts", Account_Name="Acme")
    world.run()
    world.later()
    world.add(
        "Deals",
        Deal_Name="Acme expansion",
        Stage="Negotiation/Review",
        Amount=5000,
        Account_Name={"id": account},
    )

    world.run()

    comments = [c["commenthtmltext"] for c in world.note("Account: Acme")["comments"]]
    assert "<p>Deal added: Acme expansion (Negotiation/Review, 5000)</p>" in comments
    assert "Deal: Acme expansion" in world.notes()  # and the deal has its own note (ID-1)


def test_ID_4_a_meeting_added_to_an_account_adds_a_comment(world: World) -> None:
    account = world.add("Accounts", Account_Name="Acme")
    world.run()
    world.later()
    world.add(
        "Events",
        Event_Title="Quarterly review",
        Start_DateTime="2026-10-01T10:00:00+00:00",
        End_DateTime="2026-10-01T11:00:00+00:00",
        What_Id={"id": account},
        **{"$se_module": "Accounts"},
    )

    world.run()

    [comment] = world.note("Account: Acme")["comments"]
    assert comment["commenthtmltext"].startswith("<p>Meeting added: Quarterly review, 2026-10-01")


def test_ID_5_attachments_reach_their_notes_every_two_hours_each_exactly_once(
    world: World,
) -> None:
    account = world.add("Accounts", Account_Name="Acme")
    world.run()
    first = world.attach("Accounts", account, "contract.pdf", b"%PDF-1.7 contract")
    world.run()  # ten minutes on: attachments are looked for every two hours, not yet
    assert world.note("Account: Acme")["attachments"] == []

    world.run(advance=TWO_HOURS)
    world.run(advance=TWO_HOURS)  # a rerun uploads nothing

    [uploaded] = world.note("Account: Acme")["attachments"]
    assert (uploaded["filename"], uploaded["size"]) == ("contract.pdf", 17)
    world.crm.delete("Attachments", first)
    world.attach("Accounts", account, "contract.pdf", b"%PDF-1.7 contract v2")

    world.run(advance=TWO_HOURS)

    names = [a["filename"] for a in world.note("Account: Acme")["attachments"]]
    assert names == ["contract.pdf", "contract.pdf"]  # deleted and added again: a new one


def test_ID_6_zoho_tokens_are_renewed_on_expiry_and_ideolve_is_called_with_its_keys(
    world: World,
) -> None:
    world.add("Accounts", Account_Name="Acme")
    first = world.run()
    world.clock.advance(3 * 3600)  # Zoho's access token lives an hour
    world.add("Accounts", Account_Name="Initech")

    later = world.run()

    assert first.crm_calls["token"] <= 1
    assert later.crm_calls["token"] == 1  # renewed once, by the refresh token
    assert sorted(world.notes()) == ["Account: Acme", "Account: Initech"]


def test_T17_an_attachment_named_to_climb_out_is_only_a_name_and_nothing_reaches_disk(
    world: World,
) -> None:
    account = world.add("Accounts", Account_Name="Acme")
    world.run()
    world.attach("Accounts", account, "../../x", b"climb")
    world.attach("Accounts", account, 'evil"\r\nContent-Type: text/html\r\n.pdf', b"inject")
    before = set(world.folder.parent.rglob("*"))

    world.run(advance=TWO_HOURS)

    # each arrives as one attachment of the size sent, its name a name only
    by_size = {a["size"]: a["filename"] for a in world.note("Account: Acme")["attachments"]}
    assert sorted(by_size) == [5, 6]
    assert by_size[5] == "../../x"
    assert "\r" not in by_size[6]
    assert "\n" not in by_size[6]
    made = set(world.folder.parent.rglob("*")) - before
    assert not any(p.name in ("x", "evil") or p.suffix == ".pdf" for p in made), made


def test_ID_8_workspace_sharing_and_owning_user_are_spec_settings(world: World) -> None:
    text = world.spec.read_text()
    for old, new in (
        ("user: sales.bot@example.com", "user: raj.expert@example.com"),
        ("workspace: Zoho CRM", "workspace: Key Accounts"),
        (
            "        - {group: presales-experts}",
            "        - {user: anna.expert@example.com, role: contributor}\n"
            "        - {group: sales}",
        ),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    world.spec = world.folder / "zoho_crm-ideolve.yaml"
    world.spec.write_text(text)
    world.add("Accounts", Account_Name="Acme")

    world.run()

    note = world.note("Account: Acme")
    assert note["createdby"] == "raj.expert@example.com"
    assert note["workspaceid"] == world.workspaces()["Key Accounts"]["workspaceid"]
    assert note["users"]["sharewith"] == [
        {"user": "anna.expert@example.com", "role": "contributor"},
        {"group": "sales", "role": "reader"},
    ]
