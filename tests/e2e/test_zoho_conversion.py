"""A Lead converted by a Zoho user: the Lead leaves Leads (Zoho hides converted Leads from
default reads) and a Contact carries it on. The record linked to the Lead follows the Contact:
its state becomes the Contact's, nothing is created twice on either side, and the next run
has nothing to do (SM-3's "a Lead converted by a Zoho user is recognised")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrate.build import load_spec
from integrate.engine import RunOptions, run_spec
from integrate.plugins import make_plugins
from tests.conftest import read_jsonl, write_jsonl
from tests.plugins.zoho_crm.emulator_kit import Crm, zoho_connection, zoho_env

SPEC = f"""\
integrate: 1
name: people-crm
connections:
  src: {{plugin: files, config: {{path: ./src}}}}
{zoho_connection(data_center="com")}
flows:
  people:
    between: [src.people, crm.Leads|Contacts]
    direction: both
    match: [[email, Email]]
    unmatched: create
    fields:
      - {{src: email, crm: Email}}
      - {{src: name, crm: Last_Name}}
      - src: state
        crm: $object
        values: {{PROSPECT: Leads, CUSTOMER: Contacts}}
        default: {{crm: Leads, src: PROSPECT}}
"""

PEOPLE = [
    {"id": "p1", "email": "ann@example.com", "name": "Lee", "state": "PROSPECT"},
    {"id": "p2", "email": "bob@example.com", "name": "Roe", "state": "CUSTOMER"},
]


def run(crm: Crm) -> dict[str, Any]:
    plugins = make_plugins()
    spec = load_spec("spec.yaml", plugins)
    options = RunOptions(transports={"crm": crm.emulator.transport()}, clock=crm.clock)
    report = run_spec(spec, plugins, options)
    crm.clock.advance(60)
    return report.flows[0].as_dict()


def by_email(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        out.setdefault(str(r.get("Email") or r.get("email")), []).append(r)
    return out


def convert(crm: Crm, email: str) -> str:
    """What a Zoho user does in the CRM: convert the Lead (a Contact and an Account made)."""
    [lead] = by_email(crm.emulator.records("Leads"))[email]
    answer = crm.post(f"/Leads/{lead['id']}/actions/convert", json={"data": [{}]})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"][0]["details"]["Contacts"]["id"])


@pytest.fixture(params=[0, 1], ids=["Leads empty at the first run", "Leads read by cursor"])
def crm(request: pytest.FixtureRequest, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Crm:
    """With no Lead at the first run, Leads has no cursor yet and the next run reads them in
    full (where Zoho hides converted Leads); with one, the next run reads from its cursor
    (where converted Leads come back, marked)."""
    write_jsonl(workdir / "src/people.jsonl", PEOPLE)
    Path("spec.yaml").write_text(SPEC)
    crm = Crm(leads=request.param)
    zoho_env(monkeypatch, crm.emulator)
    return crm


def open_leads(crm: Crm, email: str) -> list[dict[str, Any]]:
    return [
        r for r in by_email(crm.emulator.records("Leads")).get(email, []) if not r["Converted__s"]
    ]


def test_SM_3_a_lead_converted_by_a_zoho_user_makes_its_linked_record_a_customer(
    crm: Crm, workdir: Path
) -> None:
    first = run(crm)
    made = first["totals"]["created"]
    assert made == 2 + len(crm.emulator.records("Leads")) - 1  # each side's new records
    contact = convert(crm, "ann@example.com")

    second = run(crm)

    people = {p["id"]: p for p in read_jsonl(workdir / "src/people.jsonl")}
    assert len(people) == made  # nothing created on the files side
    assert people["p1"]["state"] == "CUSTOMER"
    contacts = by_email(crm.emulator.records("Contacts"))
    assert [c["id"] for c in contacts["ann@example.com"]] == [contact]  # no second Contact
    assert open_leads(crm, "ann@example.com") == []  # and no Lead made again
    assert second["totals"]["created"] == 0
    assert second["outcomes"]["src"]["updated"] == 1
    assert second["totals"]["queued"] == 0
    if crm.emulator.records("Leads")[0]["Email"] != "ann@example.com":  # read by cursor
        reasons = [r["reason"] for r in second["reasons"]]
        assert any("no longer in crm.Leads (converted into a Contact)" in r for r in reasons)

    third = run(crm)  # the link now points at the Contact: nothing left to do

    assert third["totals"]["created"] == third["totals"]["updated"] == 0
    assert third["totals"]["queued"] == 0
    assert [c["id"] for c in by_email(crm.emulator.records("Contacts"))["ann@example.com"]] == [
        contact
    ]


def test_SM_3_a_change_made_on_the_other_side_meanwhile_lands_on_the_contact(
    crm: Crm, workdir: Path
) -> None:
    run(crm)
    contact = convert(crm, "ann@example.com")
    people = read_jsonl(workdir / "src/people.jsonl")
    write_jsonl(
        workdir / "src/people.jsonl",
        [{**p, "name": "Lee-Smith"} if p["id"] == "p1" else p for p in people],
    )

    run(crm)

    [ann] = by_email(crm.emulator.records("Contacts"))["ann@example.com"]
    assert (ann["id"], ann["Last_Name"]) == (contact, "Lee-Smith")
    [p1] = [p for p in read_jsonl(workdir / "src/people.jsonl") if p["id"] == "p1"]
    assert (p1["name"], p1["state"]) == ("Lee-Smith", "CUSTOMER")
    assert open_leads(crm, "ann@example.com") == []
