"""T7: a create the system carried out, whose answer never came (a read timeout after the
request was sent), leaves exactly one target record for its source record: it is looked for
by its match key and linked, never sent again. Without a match key it is never created again
blindly: it waits in the pending queue, telling the operator what to check.

The emulators are served on loopback HTTP and hold the answer back (`hang_after_commit`)
longer than the connection's `limits.timeout` of 1 s."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import FakeClock, Faults
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import write_jsonl
from tests.e2e.sdp import edited_copy
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_env
from tests.reliability.harness import reasons, run_in_process

# Zoho served on loopback (its address in ZOHO_ACCOUNTS_URL); a call is cut off after 1 s.
CRM = zoho_connection(
    data_center="com",
    accounts_url="${env:ZOHO_ACCOUNTS_URL}",
    limits="timeout: 1, max_attempts: 2",
)
SPEC = """\
integrate: 1
name: companies-to-zoho
connections:
  src: {plugin: files, config: {path: ./src}}
%(crm)s
flows:
  accounts:
    from: src.companies
    to: crm.Accounts
%(match)s    unmatched: create
    fields: {Account_Name: name, Phone: phone}
"""


def companies(n: int) -> list[dict[str, Any]]:
    return [{"id": f"c{i}", "name": f"Company {i:03d}", "phone": f"+44 {i:04d}"} for i in range(n)]


@pytest.fixture
def served_crm(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZohoCrmEmulator]:
    """Zoho on a loopback port; every insert is carried out, then answered 2 s late."""
    hang = Faults(lose_answer=1.0, hang_after_commit=2.0, lose_kinds=frozenset({"insert"}))
    crm = ZohoCrmEmulator(seed=7, faults=hang)
    crm.serve()
    zoho_env(monkeypatch, crm)  # ZOHO_ACCOUNTS_URL too: it is served
    yield crm
    crm.close()


def test_T7_a_read_timeout_after_zoho_made_the_records_leaves_exactly_one_each(
    workdir: Path, served_crm: ZohoCrmEmulator
) -> None:
    source = companies(20)
    write_jsonl(workdir / "src/companies.jsonl", source)
    Path("spec.yaml").write_text(
        SPEC % {"crm": CRM, "match": "    match: [[name, Account_Name]]\n"}
    )

    report = run_in_process("spec.yaml")

    calls = served_crm.calls()
    assert (calls["insert"], calls["fault:hang"]) == (1, 1)  # timed out, never sent again
    names = Counter(a["Account_Name"] for a in served_crm.records("Accounts"))
    assert names == Counter(c["name"] for c in source)  # exactly 1 target record each
    assert report.status == "succeeded", report.error
    assert report.flows[0].total("created") == 20
    assert reasons(report, "found in crm.Accounts by its match key") == 20
    assert report.calls["crm"]["writes"] == 1

    again = run_in_process("spec.yaml")  # everything is linked: nothing to write
    assert (again.status, again.calls["crm"]["writes"]) == ("succeeded", 0)


def test_T7_without_a_match_key_it_waits_for_the_operator_and_is_never_made_twice(
    cli: Any, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = companies(3)
    write_jsonl(workdir / "src/companies.jsonl", source)
    Path("spec.yaml").write_text(SPEC % {"crm": CRM, "match": ""})
    clock = FakeClock()
    lost = Faults(lose_answer=1.0, lose_kinds=frozenset({"insert"}))  # made, then a 500
    with ZohoCrmEmulator(clock=clock, seed=7, faults=lost) as crm:
        monkeypatch.setenv("ZOHO_ACCOUNTS_URL", "http://127.0.0.1:9")  # not called: in process
        zoho_env(monkeypatch, crm)
        transports = {"crm": crm.transport()}

        first = run_in_process("spec.yaml", transports, clock)
        # nothing to look for it by: it still waits
        second = run_in_process("spec.yaml", transports, clock)

        made = {a["Account_Name"]: a["id"] for a in crm.records("Accounts")}
        assert crm.calls()["insert"] == 1
        pending = json.loads(cli("pending", "list", "spec.yaml", "--json").stdout)
        for row in pending:
            target = made[row["record"]["name"]]
            how = ("accounts", row["source_id"], "--map-to", target)
            assert cli("pending", "resolve", "spec.yaml", *how).exit_code == 0
        crm.faults = Faults()
        third = run_in_process("spec.yaml", transports, clock)
        accounts = crm.records("Accounts")

    assert first.status == "succeeded"
    assert (first.flows[0].total("queued"), second.flows[0].total("queued")) == (3, 3)
    assert len(pending) == 3
    for row in pending:
        assert (
            "got no clear answer (Zoho answered 500 INTERNAL_ERROR to the insert)"
            in (row["reason"])
        )
        assert "look for it in crm.Accounts" in row["reason"]
        assert (
            f"integrate pending resolve SPEC accounts {row['source_id']} --map-to ID"
            in (row["reason"])
        )
        assert "`--create` if it is not" in row["reason"]
    assert third.status == "succeeded"
    assert third.calls["crm"]["kinds"].get("write:insert", 0) == 0
    assert Counter(a["Account_Name"] for a in accounts) == Counter(c["name"] for c in source)
    assert json.loads(cli("pending", "list", "spec.yaml", "--json").stdout) == []


def test_T7_sdp_requester_creates_cut_off_by_timeouts_on_the_sdp_spec(
    cli: Any, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SDP has no upsert: a requester whose create timed out is found by (account, email).
    crm = ZohoCrmEmulator(seed=7, accounts=3, contacts_per_account=2)
    hang = Faults(
        lose_answer=0.3, hang_after_commit=2.0, lose_kinds=frozenset({"create:requesters"})
    )
    sdp = ServiceDeskMspEmulator(seed=7, faults=hang)
    sdp.seed("accounts", [{"name": a["Account_Name"]} for a in crm.records("Accounts")])
    try:
        crm.serve()
        zoho_env(monkeypatch, crm)
        monkeypatch.setenv("SDP_URL", sdp.serve())
        monkeypatch.setenv("SDP_TECHNICIAN_KEY", sdp.technician_key)
        spec = edited_copy(
            workdir,
            (
                "    plugin: servicedesk_msp\n",
                "    plugin: servicedesk_msp\n    limits: {timeout: 1}\n",
            ),
        )

        result = cli("run", str(spec), "--json")

        report = json.loads(result.stdout)
        requesters = sdp.records("requesters")
        hangs = sdp.calls()["fault:hang"]
        contacts = [c for c in crm.records("Contacts") if c.get("Account_Name")]
    finally:
        crm.close()
        sdp.close()
    assert result.exit_code == 0, result.output
    assert report["status"] == "succeeded"
    # exactly 1 SDP requester for each contact, whatever happened to its create
    assert Counter((r.get("email_id"), r["last_name"]) for r in requesters) == Counter(
        (c.get("Email"), c["Last_Name"]) for c in contacts
    )
    [flow] = [f for f in report["flows"] if f["flow"] == "requesters"]
    reasons = {r["reason"]: r["count"] for r in flow["reasons"]}
    found = sum(n for r, n in reasons.items() if "found in sdp.requesters by its match key" in r)
    # a contact without an email has no key to be looked for by: it waits for the operator
    asked = sum(n for r, n in reasons.items() if "got no clear answer" in r and "--map-to" in r)
    assert found >= 1
    assert found + asked == hangs
    assert flow["totals"]["created"] == len(contacts) - asked


# Two Zoho orgs, their credentials in the ZOHO_... and OTHER_... variables.
CRM_ORG = zoho_connection(data_center="com")
OTHER_ORG = zoho_connection("other", data_center="com", env="OTHER")
ZOHO_TO_ZOHO = """\
integrate: 1
name: zoho-to-zoho
connections:
%(crm)s
%(other)s
flows:
  accounts:
    from: crm.Accounts
    to: other.Accounts
    match: [[Account_Name, Account_Name]]
    unmatched: create
    fields: {Account_Name: Account_Name, Phone: Phone}
""" % {"crm": CRM_ORG, "other": OTHER_ORG}  # noqa: UP031  (the braces are YAML's)


class EditWhilePaging:
    """Zoho behind a WSGI wrapper: just before its n-th list call of Accounts, `work` runs
    (users edit records while the sync pages)."""

    def __init__(self, crm: ZohoCrmEmulator, n: int, work: Any):
        self.crm, self.n, self.work, self.lists = crm, n, work, 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "GET" and environ["PATH_INFO"] == "/crm/v8/Accounts":
            self.lists += 1
            if self.lists == self.n:
                self.work()
        return self.crm(environ, start_response)


def test_T7_a_record_read_again_while_its_create_is_unclear_is_not_created_twice(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    crm = ZohoCrmEmulator(clock=clock)
    for i in range(300):
        crm.seed("Accounts", [{"Account_Name": f"Account {i:03d}", "Phone": f"+1 {i:03d}"}])
        clock.advance(1)
    in_order = sorted(crm.records("Accounts"), key=lambda r: (r["Modified_Time"], int(r["id"])))
    edited = in_order[:4]

    def edit() -> None:  # read on page 1, their insert answered 500; read again on page 2
        for row in edited:
            crm.change("Accounts", row["id"], {"Phone": f"new {row['id']}"})

    lost = Faults(lose_answer=1.0, lose_kinds=frozenset({"insert"}), spare=frozenset({"token"}))
    other = ZohoCrmEmulator(clock=clock, seed=1, faults=lost)
    zoho_env(monkeypatch, crm)
    zoho_env(monkeypatch, other, env="OTHER")
    Path("spec.yaml").write_text(ZOHO_TO_ZOHO)
    transports = {
        "crm": httpx.WSGITransport(app=EditWhilePaging(crm, 2, edit)),
        "other": other.transport(),
    }

    report = run_in_process("spec.yaml", transports, clock)

    accounts = other.records("Accounts")
    assert other.calls()["fault:lost"] >= 3  # every insert was made, then answered 500
    assert report.status == "succeeded", report.error
    names = Counter(a["Account_Name"] for a in accounts)
    assert [n for n, count in names.items() if count > 1] == []
    assert {a["Account_Name"]: a["Phone"] for a in accounts} == {
        r["Account_Name"]: r["Phone"] for r in crm.records("Accounts")
    }
    assert report.flows[0].total("created") == 300
