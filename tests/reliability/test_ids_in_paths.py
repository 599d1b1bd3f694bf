"""Record ids go into URL paths as one escaped segment: an id holding `/`, `?`, `#` or `..`
(from data, or typed by an operator in `pending resolve --map-to`) names no other record and
reaches no other path. The plugin contract checks `get` and updates for every plugin; these
tests check the operator's path end to end and the Zoho calls the contract does not make."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate import ConnectorContext, ConnectorError, FakeClock, WriteItem, path_segment
from integrate.oauth import MemoryTokenCache
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from integrate_zoho_crm import ZohoCrmConnector
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.e2e.sdp import Sdp, edited_copy, fresh_sandbox

# ---- the helper every plugin uses ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("../requesters/7?x=1", "..%2Frequesters%2F7%3Fx%3D1"),
        ("a#b", "a%23b"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("%2F", "%252F"),
        ("Zürich 1", "Z%C3%BCrich%201"),
        ("Az09-._~", "Az09-._~"),
        (100000000000048018, "100000000000048018"),
    ],
)
def test_path_segment_escapes_everything_but_unreserved_characters(
    value: object, segment: str
) -> None:
    assert path_segment(value) == segment


def test_an_empty_path_segment_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        path_segment("")


# ---- the operator's path: pending resolve --map-to on the SDP sandbox ---------------------


@pytest.fixture
def sdp(cli: Any, workdir: Path) -> Sdp:
    return fresh_sandbox(cli)


@pytest.mark.parametrize("aim", ["requesters", "accounts"])
def test_map_to_an_id_holding_a_path_touches_no_other_record(sdp: Sdp, aim: str) -> None:
    sdp.run()
    initech = sdp.queued("Initech")
    accounts, requesters = sdp.records("sdp", "accounts"), sdp.records("sdp", "requesters")
    # the record the id aims at: a requester (as reported), or another account (Wayne
    # Enterprises), which the unescaped id overwrote with Initech's data
    victim = next(
        r["id"]
        for r in (requesters if aim == "requesters" else accounts)
        if aim == "requesters" or r["name"] == "Wayne Enterprises"
    )
    hostile = f"../{aim}/{victim}?x=1"

    resolved = sdp.resolve("accounts", initech["source_id"], "--map-to", hostile)
    assert resolved.exit_code == 0, resolved.output
    result, second = sdp.run()

    assert result.exit_code == 3  # a record failed; the run went on
    assert sdp.records("sdp", "accounts") == accounts
    assert sdp.records("sdp", "requesters") == requesters
    [stats] = [f for f in second["flows"] if f["flow"] == "accounts"]
    assert stats["totals"]["failed"] == 1
    assert stats["totals"]["updated"] == 0
    failures = sdp.cli("failures", "list", str(sdp.spec), "--sandbox", "--json")
    [failed] = [f for f in json.loads(failures.stdout) if f["flow"] == "accounts"]
    assert failed["source_id"] == initech["source_id"]
    assert f"mapped it to {hostile}" in failed["reason"]
    assert "has no such record" in failed["reason"]
    # the other queued accounts still wait for the operator
    waiting = sorted(r["reason"].split("'")[1] for r in sdp.pending())
    assert waiting == ["Stark Industries", "Umbrella Corp", "Umbrella Labs"]


# ---- the same, against served emulators: the request log shows where the calls went ----


@pytest.fixture
def served() -> Iterator[tuple[ZohoCrmEmulator, ServiceDeskMspEmulator, dict[str, str]]]:
    crm, desk = ZohoCrmEmulator(seed=18), ServiceDeskMspEmulator(seed=18, accounts=2)
    crm.seed("Accounts", [{"Account_Name": "Initech", "Billing_City": "Austin"}])
    env = {
        "ZOHO_ACCOUNTS_URL": crm.serve(),
        "ZOHO_CLIENT_ID": crm.client_id,
        "ZOHO_CLIENT_SECRET": crm.client_secret,
        "ZOHO_REFRESH_TOKEN": crm.refresh_token,
        "SDP_URL": desk.serve(),
        "SDP_TECHNICIAN_KEY": desk.technician_key,
    }
    yield crm, desk, env
    crm.close()
    desk.close()


def test_map_to_sends_the_id_as_one_segment_of_the_accounts_path(
    cli: Any, workdir: Path, served: tuple[ZohoCrmEmulator, ServiceDeskMspEmulator, dict[str, str]]
) -> None:
    crm, desk, env = served
    spec = edited_copy(workdir)
    assert cli("run", str(spec), "--state", "s.db", env=env).exit_code == 0
    [initech] = [a for a in crm.records("Accounts") if a["Account_Name"] == "Initech"]
    victim = desk.records("requesters")[0]["id"]
    requesters = desk.records("requesters")
    hostile = f"../requesters/{victim}?x=1"
    resolved = cli(
        "pending", "resolve", str(spec), "accounts", initech["id"], "--map-to", hostile,
        "--state", "s.db",
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    start = len(desk.log)

    result = cli("run", str(spec), "--state", "s.db", env=env)

    assert result.exit_code == 3, result.output
    calls = desk.log[start:]
    aimed = [c for c in calls if "..%2Frequesters" in c.raw_path]
    assert [(c.method, c.raw_path) for c in aimed] == [
        ("GET", f"/api/v3/accounts/..%2Frequesters%2F{victim}%3Fx%3D1")
    ]
    assert [c for c in calls if c.raw_path.startswith("/api/v3/requesters/")] == []
    assert [c for c in calls if c.method in ("PUT", "POST", "DELETE")] == []
    assert desk.records("requesters") == requesters


# ---- Zoho CRM: conversion, related lists and downloads put ids in their paths -------------


def zoho() -> tuple[ZohoCrmEmulator, ZohoCrmConnector]:
    clock = FakeClock()
    emulator = ZohoCrmEmulator(clock=clock, accounts=3, contacts_per_account=2, seed=5)
    context = ConnectorContext(
        connection="crm", transport=emulator.transport(), clock=clock, tokens=MemoryTokenCache()
    )
    return emulator, ZohoCrmConnector(emulator.connection_config(), context)


def test_a_lead_conversion_by_an_id_holding_a_path_fails_alone() -> None:
    emulator, connector = zoho()
    with emulator:
        leads = emulator.seed("Leads", [{"Last_Name": f"L{i}", "Company": "Acme"} for i in (1, 2)])
        contacts = emulator.records("Contacts")
        hostile = f"{leads[1]['id']}/actions/convert?x="

        results = connector.write(
            "Contacts",
            "move",
            [
                WriteItem(ref=1, values={"Title": "X"}, id=hostile, from_object="Leads"),
                WriteItem(ref=2, values={"Title": "CTO"}, id=leads[0]["id"], from_object="Leads"),
            ],
        )

        assert [r.ok for r in results] == [False, True]
        assert results[0].code
        assert results[0].error
        assert len(emulator.records("Contacts")) == len(contacts) + 1  # only lead 1 converted
        converts = [c.raw_path for c in emulator.log if c.method == "POST"]
        assert f"/crm/v8/Leads/{path_segment(hostile)}/actions/convert" in converts


def test_related_lists_and_downloads_keep_ids_in_their_segments() -> None:
    emulator, connector = zoho()
    with emulator:
        accounts = emulator.records("Accounts")
        hostile = f"../Accounts/{accounts[1]['id']}"

        with pytest.raises(ConnectorError, match="INVALID_URL_PATTERN"):
            list(connector.related("Accounts", hostile, "Contacts"))
        with pytest.raises(ConnectorError, match="INVALID_URL_PATTERN"):
            b"".join(connector.download("Accounts", accounts[0]["id"], hostile))

        paths = [c.raw_path for c in emulator.log if c.kind != "token"]
        assert f"/crm/v8/Accounts/{path_segment(hostile)}/Contacts" in paths
        assert f"/crm/v8/Accounts/{accounts[1]['id']}/Contacts" not in paths
