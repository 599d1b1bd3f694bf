"""A two-way side spanning several objects whose catalogues differ (Zoho's Leads and
Contacts): a field a record's object lacks is neither read as emptied nor written; a record
that changes object takes every value with it; a move the plugin cannot make leaves the
record where it is and sets the other side back. Pure classification, plain dicts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from integrate.build import build_spec
from integrate.engine.classify import Claims, Classifier, MatchView
from integrate.engine.decisions import Create, Decision, Hold, Item, Update
from integrate.engine.plan import QUEUE
from integrate.engine.reconcile import CONFLICT, Reconciler
from integrate.engine.scope import FlowScope
from integrate.engine.scratch import Candidate
from integrate.links import Link
from integrate.loader import load_text
from integrate.model import SyncFlow
from integrate.state import Held
from tests.engine.test_classify import MemoryIndex, MemoryLinks

SPEC = """\
integrate: 1
name: people
connections:
  sm: {plugin: files, config: {path: sm}}
  crm: {plugin: files, config: {path: crm}}
flows:
  people:
    between: [sm.people, crm.Leads|Contacts]
    match: [[email, Email]]
    fields:
      - {sm: email, crm: Email}
      - {sm: fax, crm: Fax}
      - {sm: birthday, crm: Date_of_Birth}
      - sm: city
        to_sm: "City || Mailing_City"
        to_crm: {City: city, Mailing_City: city}
      - sm: state
        crm: $object
        values: {PROSPECT: Leads, CUSTOMER: Contacts}
        default: {crm: Leads}
"""
# What each object of the crm side holds (sm.people holds any field).
CATALOGUES = {
    "Leads": frozenset({"id", "Email", "Fax", "City"}),
    "Contacts": frozenset({"id", "Email", "Fax", "Mailing_City", "Date_of_Birth"}),
}
ANN = {"id": "s1", "email": "ann@x", "fax": "9", "birthday": "1985-04-12", "city": "Leeds"}


def flow(policy: str = "newest") -> SyncFlow:
    text = SPEC.replace("    match:", f"    conflict: {policy}\n    match:")
    doc = load_text(text, "spec.yaml", path=Path("spec.yaml"))
    [built] = build_spec(doc, None, strict_env=False).flows.values()
    assert isinstance(built, SyncFlow)
    return built


def classifier(
    index: list[dict[str, Any]] | None = None,
    *,
    moves: bool = True,
    gone: str | None = None,
    policy: str = "newest",
) -> Classifier:
    scope = FlowScope(flow(policy), first_run=False)
    claims = Claims()
    if gone is not None:
        claims.gone.add((1, gone))
    reconciler = Reconciler(
        scope,
        lambda _s, _obj: None,
        fields_of=lambda s, obj: CATALOGUES[obj] if s == 1 else None,
        can_move=lambda _s, obj: moves and obj == "Contacts",
    )
    records = MemoryIndex(scope, 1, index or [], obj="Contacts")

    def fetch(t: int, id: str) -> Candidate | None:
        """A record of the crm side by its id (`get`), as the system holds it now."""
        found = [r for r in index or [] if t == 1 and r["id"] == id]
        return Candidate(id, "Leads", found[0]) if found else None

    match = MatchView(index=lambda _t: records, fetch=fetch)  # type: ignore[arg-type]
    return Classifier(scope, MemoryLinks(), claims, match, reconciler)


def lead_link(**sm: Any) -> Link:
    """ann's link to Lead 7, as a run before this fix could have left it: the crm snapshot
    holds what was sent, fields a Lead lacks included."""
    sm_values = {"email": "ann@x", "fax": "9", "birthday": "1985-04-12", "city": "Leeds"}
    crm_values = {
        "Email": "ann@x",
        "Fax": "9",
        "Date_of_Birth": "1985-04-12",
        "City": "Leeds",
        "Mailing_City": "Leeds",
        "$object": "Leads",
    }
    sm_values.update({"state": "PROSPECT", **sm})
    return Link("s1", "7", "people", "Leads", sm_values, crm_values)


def updates(decisions: list[Decision]) -> list[Update]:
    return [d for d in decisions if isinstance(d, Update)]


def test_a_field_the_records_object_lacks_is_not_read_as_emptied() -> None:
    lead = {"id": "7", "Email": "ann@x", "Fax": "9", "City": "Leeds", "$object": "Leads"}

    decisions = classifier().classify(Item(1, "Leads", "7", lead, link=lead_link()))

    assert updates(decisions) == []  # no birthday, no Mailing_City cleared in sm


def test_a_field_the_target_object_lacks_is_not_written() -> None:
    record = {**ANN, "birthday": "1990-01-01", "state": "PROSPECT"}

    decisions = classifier().classify(Item(0, "people", "s1", record, link=lead_link()))

    assert updates(decisions) == []  # a Lead has no Date_of_Birth: nothing to send it


def test_a_create_sends_only_what_the_target_object_holds() -> None:
    [create] = classifier().classify(Item(0, "people", "s1", {**ANN, "state": None}))

    assert isinstance(create, Create)
    assert create.t_obj == "Leads"  # no state: the default object
    assert create.values == {"Email": "ann@x", "Fax": "9", "City": "Leeds"}


def test_a_record_that_moves_takes_every_value_its_new_object_holds() -> None:
    record = {**ANN, "state": "CUSTOMER"}

    [move] = updates(classifier().classify(Item(0, "people", "s1", record, link=lead_link())))

    assert (move.move_from, move.obj) == ("Leads", "Contacts")
    assert {f: new for f, (_old, new) in move.diff.items()} == {
        "Email": "ann@x",
        "Fax": "9",
        "Date_of_Birth": "1985-04-12",
        "Mailing_City": "Leeds",
    }


def test_a_move_the_plugin_cannot_make_leaves_the_record_and_sets_the_other_side_back() -> None:
    link = Link(
        "s1",
        "8",
        "people",
        "Contacts",
        {**ANN, "state": "CUSTOMER"},
        {
            "Email": "ann@x",
            "$object": "Contacts",
            "Fax": "9",
            "Date_of_Birth": "1985-04-12",
            "Mailing_City": "Leeds",
        },
    )
    record = {**ANN, "state": "PROSPECT", "fax": "10"}

    decisions = classifier(moves=False).classify(Item(0, "people", "s1", record, link=link))

    to_crm, to_sm = updates(decisions)
    assert (to_crm.obj, to_crm.move_from, to_crm.diff) == ("Contacts", None, {"Fax": ("9", "10")})
    assert (to_sm.t, to_sm.diff) == (0, {"state": ("PROSPECT", "CUSTOMER")})
    assert "crm.Contacts cannot become crm.Leads" in to_sm.note


def test_a_record_followed_to_its_successor_is_filled_in_not_read_as_emptied() -> None:
    # Lead 7 was converted by a user: Contact 8 carries it on, without the fax the
    # conversion did not copy and with the birthday a Lead could not hold.
    contact = {"id": "8", "Email": "ann@x", "Fax": None, "Mailing_City": "Leeds"}
    record = {**ANN, "state": "PROSPECT"}
    found = classifier([contact], gone="7")

    decisions = found.classify(Item(0, "people", "s1", record, link=lead_link()))

    to_crm, to_sm = updates(decisions)
    assert (to_crm.obj, to_crm.t_id) == ("Contacts", "8")
    assert to_crm.diff == {"Fax": (None, "9"), "Date_of_Birth": (None, "1985-04-12")}
    assert to_sm.diff == {"state": ("PROSPECT", "CUSTOMER")}  # the conversion reaches sm


def test_a_conflict_waiting_for_an_operator_is_decided_against_both_sides_as_they_are_now() -> None:
    # Run 1 held ann: both sides changed the fax. In run 2 the Lead did not change again, so
    # it is not among what the run read; it is fetched, and ann waits on. (Decided against
    # the link's snapshot instead, sm's fax would overwrite the Lead's edit.)
    lead = {"id": "7", "Email": "ann@x", "Fax": "2", "City": "Leeds"}
    held = Held("people", "sm", "s1", QUEUE, "both sides changed", {}, [], None, 1, "", "")
    held = dataclasses.replace(held, code=CONFLICT)
    record = {**ANN, "fax": "1", "state": "PROSPECT"}
    found = classifier([lead], policy="queue")

    [hold] = found.classify(Item(0, "people", "s1", record, held, lead_link()))

    assert isinstance(hold, Hold)
    assert 'fax ⇄ Fax (sm: "1", crm: "2")' in hold.reason
    keep = dataclasses.replace(held, resolution={"action": "keep", "side": "crm"})
    [to_sm] = updates(found.classify(Item(0, "people", "s1", record, keep, lead_link())))
    assert (to_sm.t, to_sm.diff) == (0, {"fax": ("1", "2")})
