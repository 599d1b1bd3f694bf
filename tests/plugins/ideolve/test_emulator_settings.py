"""The emulator's settings and data from its users' points of view: `--set` options (a bad
value is a clear error, not a traceback), the org it holds, what a test or a sandbox does to
the store (seed, change, records), save and restore, the connection it hands a spec, injected
faults in Ideolve's envelope, and the API over a real loopback server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from integrate.cli import main
from integrate.plugins import make_plugins
from integrate_ideolve.emulator import IdeolveEmulator
from integrate_ideolve.emulator.refusals import EmulatorOptionError
from tests.plugins.ideolve.emulator_kit import ANNA, BOT, RAJ, Ideolve, user_path


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("rate_limit_per_second=fast", "rate_limit_per_second takes a number of at least 0, not 'fast'"),
        ("rate_limit_per_second=-1", "rate_limit_per_second takes a number of at least 0, not -1"),
        ("max_attachment_bytes=0", "max_attachment_bytes takes a whole number of at least 1, not 0"),
        ("max_attachment_bytes=2.5", "max_attachment_bytes takes a whole number of at least 1, not 2.5"),
        ("max_body_bytes=10", "max_body_bytes takes a whole number of at least 64, not 10"),
        ("user=bot", "user takes an e-mail address, not 'bot'"),
        ("user=anna.expert@example.com", "user must differ from the org's experts"),
        ("workspaces=A,a", "workspaces must be different names (without case)"),
        ("api_key=has space", "api_key takes 1 to 255 printable ASCII characters without spaces"),
        ("client_id=", "client_id takes 1 to 255 printable ASCII characters without spaces"),
    ],
)  # fmt: skip
def test_a_bad_option_value_stops_integrate_emulate_with_a_clear_message(
    option: str, message: str
) -> None:
    result = CliRunner().invoke(main, ["emulate", "ideolve", "--set", option])

    assert result.exit_code == 2, result.output
    assert f"ideolve emulator: {message}" in result.output
    assert "Traceback" not in result.output


def test_an_option_error_never_quotes_the_key() -> None:
    with pytest.raises(EmulatorOptionError) as refused:
        IdeolveEmulator(api_key="secret key with spaces")

    assert "secret" not in str(refused.value)


def test_an_unknown_option_stops_integrate_emulate_with_exit_2() -> None:
    result = CliRunner().invoke(main, ["emulate", "ideolve", "--set", "accounts=5"])

    assert result.exit_code == 2
    assert "accounts" in result.output
    assert "Traceback" not in result.output


def test_the_plugin_registers_the_emulator() -> None:
    assert make_plugins().emulators["ideolve"] is IdeolveEmulator


# ---- the org and the store ------------------------------------------------------------------


def test_the_org_has_the_acting_user_two_experts_and_two_groups() -> None:
    emulator = IdeolveEmulator()

    assert emulator.records("users") == [{"email": BOT}, {"email": ANNA}, {"email": RAJ}]
    assert emulator.records("groups") == [
        {"name": "presales-experts", "members": [ANNA, RAJ]},
        {"name": "sales", "members": [BOT]},
    ]
    assert emulator.records("workspaces") == []
    assert emulator.records("notes") == []


def test_seed_makes_workspaces_notes_comments_and_attachments_as_the_api_would() -> None:
    io = Ideolve()
    [workspace] = io.emulator.seed("workspaces", [{"name": "Deals", "members": [ANNA]}])
    [note] = io.emulator.seed(
        "notes",
        [{"workspaceid": workspace["workspaceid"], "subject": "Deal", "notehtmltext": "<p>x</p>",
          "users": {"sharewith": [{"group": "presales-experts"}]}}],
    )  # fmt: skip
    io.emulator.seed(
        "comments", [{"noteid": note["noteid"], "commenthtmltext": "<p>c</p>", "createdby": ANNA}]
    )
    [seen] = io.emulator.seed(
        "attachments", [{"noteid": note["noteid"], "filename": "a.txt", "content": "hello"}]
    )

    answered = io.get(workspace["workspaceid"], note["noteid"], user=ANNA)
    assert answered["createdby"] == BOT
    assert [(c["commenthtmltext"], c["createdby"]) for c in answered["comments"]] == [
        ("<p>c</p>", ANNA)
    ]
    assert [(a["filename"], a["size"]) for a in answered["attachments"]] == [("a.txt", 5)]
    assert seen["attachments"][0]["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert io.emulator.records("notes") == [seen]


def test_seed_checks_records_as_the_api_does() -> None:
    emulator = IdeolveEmulator(workspaces="Deals")
    [workspace] = emulator.records("workspaces")

    with pytest.raises(ValueError, match="a workspace named deals exists"):
        emulator.seed("workspaces", [{"name": "deals"}])
    with pytest.raises(ValueError, match="unknown group board"):
        emulator.seed("notes", [{"workspaceid": workspace["workspaceid"], "subject": "s",
                                 "notehtmltext": "x", "users": {"sharewith": [{"group": "board"}]}}])  # fmt: skip
    with pytest.raises(ValueError, match="the org has no user"):
        emulator.seed("workspaces", [{"name": "Other", "owner": "eve@example.com"}])
    with pytest.raises(KeyError, match="no note nt_x"):
        emulator.seed("comments", [{"noteid": "nt_x", "commenthtmltext": "x"}])
    with pytest.raises(KeyError, match="cannot be seeded into 'tags'"):
        emulator.seed("tags", [{"noteid": "nt_x"}])
    assert len(emulator.records("workspaces")) == 1


def test_change_is_a_users_edit_of_a_note_or_workspace() -> None:
    io = Ideolve()
    workspace = io.workspace("Deals")
    note = io.note(workspace)
    before = io.get(workspace, note)
    io.clock.advance(60)

    changed = io.emulator.change(
        "notes", note, {"subject": "Edited", "tags": ["t"], "users": {"sharewith": [{"user": RAJ}]}}
    )
    io.emulator.change("workspaces", workspace, {"name": "Renamed"})

    after = io.get(workspace, note)
    assert changed == io.emulator.records("notes")[0]
    assert (after["subject"], after["tags"]) == ("Edited", ["t"])
    assert after["users"]["sharewith"] == [{"user": RAJ, "role": "reader"}]
    assert after["modifiedat"] > before["modifiedat"]
    assert io.ok("GET", "/workspaces")["workspaces"][0]["name"] == "Renamed"
    with pytest.raises(ValueError, match="subject is longer than 255"):
        io.emulator.change("notes", note, {"subject": "s" * 256})
    with pytest.raises(KeyError):
        io.emulator.change("notes", "nt_unknown", {"subject": "x"})


def test_save_and_restore_keep_workspaces_notes_and_ids(tmp_path: Path) -> None:
    io = Ideolve(seed=5, client_id="acme-client", api_key="acme-key")
    io.headers.update({"Client-Id": "acme-client", "Connector-Api-Key": "acme-key"})
    workspace = io.workspace("Deals")
    note = io.note(workspace)
    io.ok("POST", f"/workspace/{workspace}/note/{note}/comment", json={"commenthtmltext": "c"})
    io.emulator.save(tmp_path)

    restored = IdeolveEmulator.restore(tmp_path, {})

    assert restored.records("workspaces") == io.emulator.records("workspaces")
    assert restored.records("notes") == io.emulator.records("notes")
    assert restored.connection_config()["api_key"] == "acme-key"
    again = Ideolve.__new__(Ideolve)
    again.__dict__.update(io.__dict__, emulator=restored)
    again.http = httpx.Client(transport=restored.transport())
    another = again.workspace("Next")  # a restored emulator never hands out an id twice
    assert another not in {workspace, note}
    assert (tmp_path / "ideolve.json").exists()


# ---- the connection -------------------------------------------------------------------------


def test_connection_config_gives_the_sandboxs_url_credentials_and_user() -> None:
    emulator = IdeolveEmulator()

    assert emulator.connection_config() == {
        "base_url": "https://api.ideolve.com/v4",
        "client_id": "ideolve-sandbox-client",
        "api_key": "ideolve-sandbox-key-5f3a9c",
        "user": BOT,
    }


def test_for_connection_makes_the_connections_user_the_acting_one() -> None:
    emulator = IdeolveEmulator.for_connection(
        {"user": "crm.bot@acme.example", "workspace": "Deals"}, workspaces="Deals"
    )

    assert emulator.connection_config()["user"] == "crm.bot@acme.example"
    assert emulator.records("users")[0] == {"email": "crm.bot@acme.example"}
    assert emulator.records("groups")[1] == {"name": "sales", "members": ["crm.bot@acme.example"]}
    assert emulator.records("workspaces")[0]["owner"] == "crm.bot@acme.example"


def test_the_api_over_a_real_loopback_server_with_the_connection_config() -> None:
    emulator = IdeolveEmulator(max_attachment_bytes=1000)
    try:
        emulator.serve("127.0.0.1", 0)
        config = emulator.connection_config()
        assert config["base_url"].startswith("http://127.0.0.1:")
        headers = {"Client-Id": config["client_id"], "Connector-Api-Key": config["api_key"],
                   "App-Name": "loopback"}  # fmt: skip
        base = config["base_url"] + user_path(config["user"])
        with httpx.Client(headers=headers, timeout=5) as http:
            assert http.post(base + "/auth").json() == {"status": "SUCCESS"}
            workspace = http.post(base + "/workspace", json={"name": "W"}).json()["workspaceid"]
            note = http.post(
                base + f"/workspace/{workspace}/note", json={"subject": "s", "notehtmltext": "x"}
            ).json()["noteid"]
            path = base + f"/workspace/{workspace}/note/{note}/attachment"

            def pieces(size: int) -> object:
                yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
                yield b"z" * size
                yield b"\r\n--b--\r\n"

            kind = {"Content-Type": "multipart/form-data; boundary=b"}
            sent = http.post(path, content=pieces(1000), headers=kind)  # chunked on the wire
            over = http.post(path, content=pieces(5000), headers=kind)
        assert sent.json()["size"] == 1000
        assert (over.status_code, over.json()["reason"]) == (413, "attachment too large")
    finally:
        emulator.close()


# ---- faults ---------------------------------------------------------------------------------


def test_injected_faults_answer_in_ideolves_envelope() -> None:
    io = Ideolve(faults={"server_error": 1.0})
    assert io.refused("POST", "/auth", 500) == {"status": "ERROR", "reason": "internal error"}

    io = Ideolve(faults={"server_error": 1.0, "error_status": 503})
    assert io.refused("POST", "/auth", 503)["reason"] == "service unavailable"

    io = Ideolve(faults={"rate_limit": 1.0})
    assert io.refused("POST", "/auth", 429)["reason"] == "rate limit exceeded"
