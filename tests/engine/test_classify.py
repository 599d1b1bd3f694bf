"""Classification as a pure step: a record in flight, the flow's scope and what the run
knows (links, claims, the match index) in; decisions out. Plain dicts, no SQLite, no HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from integrate import GONE_FIELD
from integrate.build import build_spec
from integrate.engine.classify import Claims, Classifier, MatchView
from integrate.engine.decisions import (
    Create,
    Decision,
    Fail,
    Hold,
    Item,
    Recheck,
    Relink,
    Skip,
    Unchanged,
    Update,
)
from integrate.engine.reconcile import Reconciler
from integrate.engine.scope import FlowScope
from integrate.engine.scratch import Candidate
from integrate.links import Link
from integrate.loader import load_text
from integrate.model import SyncFlow
from integrate.state import Held

HEAD = """\
integrate: 1
name: engine
connections:
  crm: {plugin: files, config: {path: crm}}
  desk: {plugin: files, config: {path: desk}}
flows:
"""

ONE_WAY = """\
  companies:
    from: crm.accounts
    to: desk.companies
    match: [[name, title]]
    unmatched: {first_run: queue, later: create}
    fields:
      title: name
      city: address.city
      udf_fields.udf_char1: code
    on_create: {origin: "'crm'"}
    filter: "kind != 'test'"
    rules:
      - when: "name == 'Broken'"
        fail: no broken accounts
"""

TWO_WAY = """\
  people:
    between: [crm.contacts, desk.people]
    match: [[email, mail]]
    conflict: %s
    fields:
      - {crm: name, desk: full_name}
      - {crm: phone, desk: tel}
"""


def flow_of(text: str) -> SyncFlow:
    doc = load_text(HEAD + text, "spec.yaml", path=Path("spec.yaml"))
    spec = build_spec(doc, None, strict_env=False)
    [flow] = spec.flows.values()
    assert isinstance(flow, SyncFlow)
    return flow


class MemoryIndex:
    """Side t's records by match key, in memory (the run's index keeps them on disk)."""

    def __init__(
        self, scope: FlowScope, t: int, records: list[dict[str, Any]], obj: str = "companies"
    ):
        self.scope = scope
        self.t = t
        self.records = records
        self.obj = obj

    def find(self, key: str) -> list[Candidate]:
        return [
            Candidate(str(r["id"]), self.obj, r)
            for r in self.records
            if self.scope.key(self.t, r) == key
        ]

    def get(self, id: str) -> Candidate | None:
        found = [r for r in self.records if str(r["id"]) == id]
        return Candidate(id, "companies", found[0]) if found else None

    def similar(self, label: str, taken: Callable[[str, str], bool]) -> list[dict[str, Any]]:
        return [{"id": str(r["id"]), "label": str(r.get("title"))} for r in self.records]


class MemoryLinks:
    def __init__(self, owners: dict[tuple[int, str, str], str] | None = None):
        self.owners = owners or {}

    def linked_to(self, t: int, obj: str, id: str) -> str | None:
        return self.owners.get((t, obj, id))

    def taken(self, t: int, obj: str, id: str) -> bool:
        return (t, obj, id) in self.owners

    def link(self, t: int, obj: str, id: str) -> Link | None:
        owner = self.owners.get((t, obj, id))
        if owner is None:
            return None
        if t == 1:
            return Link(owner, id, "accounts", obj, {"name": "Acme"}, {"title": "Acme"})
        return Link(id, owner, obj, "companies", {"name": "Acme"}, {"title": "Acme"})


def classifier(
    flow: SyncFlow,
    target: list[dict[str, Any]] | None = None,
    *,
    first_run: bool = False,
    claims: Claims | None = None,
    links: MemoryLinks | None = None,
    modified: str | None = None,
    present: dict[str, dict[str, Any]] | None = None,
) -> Classifier:
    """`present`: side 0's records by id, as a read by id finds them (none by default)."""
    scope = FlowScope(flow, first_run=first_run)
    index = MemoryIndex(scope, 1, target or [])
    here = present or {}

    def fetch(t: int, id: str) -> Candidate | None:
        return Candidate(id, "accounts", here[id]) if t == 0 and id in here else None

    match = MatchView(index=lambda _t: index, fetch=fetch)  # type: ignore[arg-type]
    return Classifier(
        scope,
        links or MemoryLinks(),
        claims or Claims(),
        match,
        Reconciler(scope, lambda _s, _obj: modified),
    )


def kinds(decisions: list[Decision]) -> list[str]:
    return [type(d).__name__ for d in decisions]


ACME = {"id": "a1", "name": "Acme", "address": {"city": "Leeds"}, "code": "A-1"}


def test_an_unmatched_record_waits_on_the_first_run_with_the_closest_candidates() -> None:
    flow = flow_of(ONE_WAY)
    target = [{"id": "9", "title": "Acme Ltd"}]

    [hold] = classifier(flow, target, first_run=True).classify(Item(0, "accounts", "a1", ACME))

    assert isinstance(hold, Hold)
    assert (hold.kind, hold.reason) == (
        "queue",
        "no record of desk.companies matches name = 'Acme'",
    )
    assert hold.candidates == [{"id": "9", "label": "Acme Ltd"}]


def test_later_an_unmatched_record_is_created_with_its_on_create_values() -> None:
    flow = flow_of(ONE_WAY)

    [create] = classifier(flow).classify(Item(0, "accounts", "a1", ACME))

    assert isinstance(create, Create)
    assert (create.t, create.t_obj, create.key) == (1, "companies", '["acme"]')
    assert create.values == {"title": "Acme", "city": "Leeds", "udf_fields.udf_char1": "A-1"}
    assert create.extra == {"origin": "crm"}


def test_a_record_found_by_its_key_is_linked_and_only_what_differs_is_written() -> None:
    flow = flow_of(ONE_WAY)
    found = {"id": "9", "title": "ACME", "city": "Leeds", "udf_fields": {"udf_char1": "old"}}

    decisions = classifier(flow, [found]).classify(Item(0, "accounts", "a1", ACME))

    assert kinds(decisions) == ["Update", "Relink"]
    update = decisions[0]
    assert isinstance(update, Update)
    assert (update.t, update.obj, update.t_id) == (1, "companies", "9")
    # the title differs only in case: the key matched; the plan shows what really changes
    assert update.diff == {"title": ("ACME", "Acme"), "udf_fields.udf_char1": ("old", "A-1")}
    relink = decisions[1]
    assert isinstance(relink, Relink)
    assert relink.claimed == ("companies", "9")


def linked(values: dict[str, Any]) -> Link:
    return Link("a1", "9", "accounts", "companies", {}, values)


SYNCED = {"title": "Acme", "city": "Leeds", "udf_fields.udf_char1": "A-1"}


def test_a_linked_record_with_nothing_changed_is_unchanged_dotted_fields_included() -> None:
    flow = flow_of(ONE_WAY)

    decisions = classifier(flow).classify(Item(0, "accounts", "a1", ACME, link=linked(SYNCED)))

    assert kinds(decisions) == ["Unchanged"]
    assert isinstance(decisions[0], Unchanged)


def test_a_change_sends_only_the_changed_field() -> None:
    flow = flow_of(ONE_WAY)
    moved = {**ACME, "address": {"city": "York"}}

    [update] = classifier(flow).classify(Item(0, "accounts", "a1", moved, link=linked(SYNCED)))

    assert isinstance(update, Update)
    assert update.diff == {"city": ("Leeds", "York")}
    assert update.snap["title"] == "Acme"


def test_the_filter_skips_and_a_rule_fails_at_its_line() -> None:
    flow = flow_of(ONE_WAY)
    c = classifier(flow)

    [skip] = c.classify(Item(0, "accounts", "t1", {**ACME, "kind": "test"}))
    [fail] = c.classify(Item(0, "accounts", "b1", {**ACME, "name": "Broken"}))

    assert isinstance(skip, Skip)
    assert skip.reason == "filtered out (filter at line 17)"
    assert isinstance(fail, Fail)
    assert (fail.message, fail.stage, fail.code) == ("no broken accounts", "rules", "RULE")
    assert fail.location is not None
    assert fail.location.line == 19


def test_a_key_claimed_by_another_record_of_this_run_waits() -> None:
    flow = flow_of(ONE_WAY)
    claims = Claims()
    claims.keys[1]['["acme"]'] = "a0"

    [hold] = classifier(flow, claims=claims).classify(Item(0, "accounts", "a1", ACME))

    assert isinstance(hold, Hold)
    assert hold.reason == "record a0 of this run has the same match key"


def test_two_records_with_the_key_are_never_merged() -> None:
    flow = flow_of(ONE_WAY)
    target = [{"id": "8", "title": "acme"}, {"id": "9", "title": "Acme "}]

    [hold] = classifier(flow, target).classify(Item(0, "accounts", "a1", ACME))

    assert isinstance(hold, Hold)
    assert hold.reason == "2 records of desk.companies match (8, 9)"


def test_a_match_already_linked_to_another_record_waits() -> None:
    flow = flow_of(ONE_WAY)
    links = MemoryLinks({(1, "companies", "9"): "a7"})
    a7 = {"id": "a7", "name": "Acme"}

    [hold] = classifier(
        flow, [{"id": "9", "title": "Acme"}], links=links, present={"a7": a7}
    ).classify(Item(0, "accounts", "a1", ACME))

    assert isinstance(hold, Hold)
    assert hold.reason == "its match 9 in desk.companies is already linked to a7"


def test_a_match_linked_to_a_record_that_left_its_object_follows_this_one() -> None:
    # a7 was converted (read this run marked GONE_FIELD), or is no longer found by its id:
    # a1 carries it on, and the link's snapshots are a7's, so only real changes are written
    flow = flow_of(ONE_WAY)
    links = MemoryLinks({(1, "companies", "9"): "a7"})
    gone = Claims()
    gone.gone.add((0, "a7"))
    found = [{"id": "9", "title": "Acme", "city": "Leeds", "udf_fields": {"udf_char1": "A-1"}}]

    for c in (
        classifier(flow, found, links=links, claims=gone, present={"a7": {"id": "a7"}}),
        classifier(flow, found, links=links),
    ):
        decisions = c.classify(Item(0, "accounts", "a1", ACME))

        assert kinds(decisions) == ["Unchanged", "Relink"]
        relink = decisions[1]
        assert isinstance(relink, Relink)
        assert (relink.draft.link.a_id, relink.draft.link.b_id) == ("a1", "9")
        assert relink.claimed == ("companies", "9")


def test_a_record_that_left_its_object_is_skipped_and_what_was_linked_to_it_follows() -> None:
    # c1 left crm.contacts this run; c2 has d1's key: d1's link follows it, and d1's edit
    # since the last sync (its phone) reaches c2 as a change against c1's snapshot
    flow = flow_of(TWO_WAY % "newest")
    scope = FlowScope(flow, first_run=False)
    index = MemoryIndex(scope, 0, [{"id": "c2", "email": "ann@x.test", "name": "Ann"}], "contacts")
    claims = Claims()
    claims.gone.add((0, "c1"))
    match = MatchView(index=lambda _t: index, fetch=lambda _t, _id: None)  # type: ignore[arg-type,return-value]
    c = Classifier(scope, MemoryLinks(), claims, match, Reconciler(scope, lambda _s, _o: None))
    old = Link("c1", "d1", "contacts", "people", {"name": "Ann"}, {"full_name": "Ann"})
    d1 = {"id": "d1", "mail": "ann@x.test", "full_name": "Ann", "tel": "+44 1"}

    [skip] = c.classify(Item(0, "contacts", "c1", {"id": "c1", GONE_FIELD: "converted"}))
    decisions = c.classify(Item(1, "people", "d1", d1, link=old))

    assert isinstance(skip, Skip)
    assert skip.reason == "no longer in crm.contacts (converted): nothing is written for it"
    assert kinds(decisions) == ["Update", "Relink"]
    update, relink = decisions
    assert isinstance(update, Update)
    assert isinstance(relink, Relink)
    assert (update.obj, update.t_id, update.diff) == ("contacts", "c2", {"phone": (None, "+44 1")})
    assert (relink.draft.link.a_object, relink.draft.link.a_id) == ("contacts", "c2")
    assert relink.draft.link.b_id == "d1"


def test_a_record_whose_create_is_unclear_is_not_decided_again() -> None:
    flow = flow_of(ONE_WAY)
    claims = Claims()
    claims.unclear.add((0, "a1"))

    [recheck] = classifier(flow, claims=claims).classify(Item(0, "accounts", "a1", ACME))

    assert isinstance(recheck, Recheck)


def two_way(policy: str) -> SyncFlow:
    return flow_of(TWO_WAY % policy)


PAIR = Link(
    "c1",
    "p1",
    "contacts",
    "people",
    {"name": "Ann", "phone": "1"},
    {"full_name": "Ann", "tel": "1"},
)


def test_a_two_way_change_on_one_side_reaches_the_other_and_no_echo_comes_back() -> None:
    flow = two_way("newest")
    record = {"id": "c1", "name": "Ann", "phone": "2", "email": "a@x"}

    decisions = classifier(flow).classify(Item(0, "contacts", "c1", record, link=PAIR))

    [update] = [d for d in decisions if isinstance(d, Update)]
    assert (update.t, update.diff) == (1, {"tel": ("1", "2")})
    # the snapshot of side b after the write holds what was written: it is not a change later
    assert update.snap["tel"] == "1"  # side b as it was; the write sets it when it lands


def test_both_sides_changed_one_field_the_newest_wins_or_it_waits() -> None:
    record = {"id": "c1", "name": "Ann", "phone": "2", "email": "a@x", "at": "2026-01-02"}
    other = {"id": "p1", "full_name": "Ann", "tel": "3", "mail": "a@x", "at": "2026-01-03"}
    item = Item(0, "contacts", "c1", record, link=PAIR)

    newest = classifier(two_way("newest"), modified="at").classify(item, other)
    queued = classifier(two_way("queue"), modified="at").classify(item, other)

    [update] = [d for d in newest if isinstance(d, Update)]
    assert (update.t, update.diff) == (0, {"phone": ("2", "3")})  # side b's edit is newer
    [hold] = queued
    assert isinstance(hold, Hold)
    assert hold.reason == (
        'both sides changed phone ⇄ tel (crm: "2", desk: "3") since the last sync (conflict: queue)'
    )


def test_an_operators_create_is_made_whatever_matches() -> None:
    flow = flow_of(ONE_WAY)
    held = Held("companies", "crm", "a1", "queue", "", {}, [], {"action": "create"}, 1, "", "")

    [create] = classifier(flow, [{"id": "9", "title": "Acme"}]).classify(
        Item(0, "accounts", "a1", ACME, held=held)
    )

    assert isinstance(create, Create)
    assert create.by_operator
