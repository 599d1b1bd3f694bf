"""How a one-way flow makes values. `let`: named values worked out once per source record and
read by the flow's other expressions as let.<name> (the pending queue and the failure file
keep the record as read). `empty: keep`: what the source lacks never blanks the target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import read_jsonl, write_jsonl

SPEC = """\
integrate: 1
name: lets
connections:
  crm: {plugin: files, config: {path: ./crm}}
  desk: {plugin: files, config: {path: ./desk}}
flows:
  people:
    from: crm.contacts
    to: desk.users
    let:
      account: "lookup('crm.accounts', {id: account_id})"
      site: "office || let.account.main_office"
    rules:
      - when: "!(let.account)"
        queue: no account for this contact
    match: [[email, email]]
    fields:
      email: email
      site: let.site
      region: "let.account.region"
"""


def world(root: Path) -> None:
    write_jsonl(
        root / "crm/accounts.jsonl",
        [{"id": "a1", "name": "Acme", "main_office": "York", "region": "EMEA"}],
    )
    write_jsonl(
        root / "crm/contacts.jsonl",
        [
            {"id": "c1", "email": "jo@acme.example", "account_id": "a1"},
            {"id": "c2", "email": "al@acme.example", "account_id": "a1", "office": "Leeds"},
            {"id": "c3", "email": "lost@nowhere.example", "account_id": "zz"},
        ],
    )
    write_jsonl(root / "desk/users.jsonl", [])


def test_let_values_feed_fields_and_rules(cli: Any, workdir: Path) -> None:
    world(workdir)
    Path("spec.yaml").write_text(SPEC)

    result = cli("run", "spec.yaml", "--json")

    assert result.exit_code == 0, result.output
    users = {u["email"]: u for u in read_jsonl(workdir / "desk/users.jsonl")}
    assert {e: (u["site"], u["region"]) for e, u in users.items()} == {
        "jo@acme.example": ("York", "EMEA"),  # the account's main office
        "al@acme.example": ("Leeds", "EMEA"),  # the contact's own office
    }
    assert all("let" not in u for u in users.values())
    pending = json.loads(cli("pending", "list", "spec.yaml", "--json").stdout)
    assert [p["source_id"] for p in pending] == ["c3"]
    assert pending[0]["record"] == {
        "id": "c3",
        "email": "lost@nowhere.example",
        "account_id": "zz",
    }  # kept as read: no `let` in it


def test_an_undefined_let_is_a_spec_error_at_its_place(cli: Any, workdir: Path) -> None:
    world(workdir)
    text = SPEC.replace('region: "let.account.region"', 'region: "let.acount.region"')
    text = text.replace('site: "office || let.account.main_office"', 'site: "office || let.site"')
    Path("spec.yaml").write_text(text)

    result = cli("validate", "spec.yaml")

    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert (
        "spec.yaml:12:13: let.site is not defined (defined so far: account) (at $.flows.people.let.site)"
        in lines
    )
    assert (
        "spec.yaml:20:15: let.acount is not defined (defined so far: account, site) "
        "(did you mean 'account'?) (at $.flows.people.fields.region)" in lines
    )


def test_a_negated_path_that_is_always_null_is_refused(cli: Any, workdir: Path) -> None:
    world(workdir)
    Path("spec.yaml").write_text(SPEC.replace('"!(let.account)"', '"!let.account"'))

    result = cli("validate", "spec.yaml")

    assert result.exit_code == 2
    assert (
        "`!` applies only to what follows it up to the first `.` or `[`, so `!a.b` is always "
        "null: write `!(a.b)`" in result.stdout
    )
    assert result.stdout.startswith("spec.yaml:14:15: invalid expression '!let.account'")


KEEP = """\
integrate: 1
name: keep
connections:
  crm: {plugin: files, config: {path: ./crm, cursor_field: changed}}
  desk: {plugin: files, config: {path: ./desk}}
flows:
  people:
    from: crm.contacts
    to: desk.users
    empty: keep
    match: [[email, email]]
    fields: {email: email, phone: phone, title: title}
"""


def test_empty_keep_leaves_what_the_source_lacks_as_the_target_has_it(
    cli: Any, workdir: Path
) -> None:
    write_jsonl(
        workdir / "crm/contacts.jsonl",
        [{"id": "c1", "email": "jo@acme.example", "phone": None, "title": "", "changed": "1"}],
    )
    write_jsonl(
        workdir / "desk/users.jsonl",
        [{"id": "u1", "email": "jo@acme.example", "phone": "+44 1", "title": "CFO", "vip": True}],
    )
    Path("spec.yaml").write_text(KEEP)

    first = cli("run", "spec.yaml")
    write_jsonl(
        workdir / "crm/contacts.jsonl",
        [{"id": "c1", "email": "jo@acme.example", "phone": "+44 2", "title": "", "changed": "2"}],
    )
    second = cli("run", "spec.yaml", "--json")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    [user] = read_jsonl(workdir / "desk/users.jsonl")
    # the phone the CRM now has is written; the title it lacks is kept, as is what it never maps
    assert user == {
        "id": "u1",
        "email": "jo@acme.example",
        "phone": "+44 2",
        "title": "CFO",
        "vip": True,
    }


VALUE_MAP = """\
integrate: 1
name: stages
connections:
  crm: {plugin: files, config: {path: ./crm}}
  desk: {plugin: files, config: {path: ./desk}}
failures: failed.jsonl
flows:
  deals:
    from: crm.deals
    to: desk.tickets
    match: [[name, subject]]
    fields:
      subject: name
      status:
        from: Stage
        values: {Won: closed, Lost: closed, Open: new}
      priority:
        from: "to_number(Rank)"
        values: {"1": high, "2": normal}
        default: low
"""


def test_a_one_way_field_takes_a_value_map_with_a_default(cli: Any, workdir: Path) -> None:
    # Before: the spec was refused ("expected text or a number ..., found a mapping").
    write_jsonl(
        workdir / "crm/deals.jsonl",
        [
            {"id": "d1", "name": "Acme", "Stage": "Won", "Rank": "1"},
            {"id": "d2", "name": "Globex", "Stage": "Open", "Rank": "7"},
            {"id": "d3", "name": "Initech", "Stage": None, "Rank": "2"},
            {"id": "d4", "name": "Umbrella", "Stage": "Frozen", "Rank": "1"},
        ],
    )
    write_jsonl(workdir / "desk/tickets.jsonl", [])
    Path("spec.yaml").write_text(VALUE_MAP)

    result = cli("run", "spec.yaml", "--json")

    assert result.exit_code == 3, result.output  # one record failed
    tickets = {
        t["subject"]: (t["status"], t["priority"])
        for t in read_jsonl(workdir / "desk/tickets.jsonl")
    }
    assert tickets == {
        "Acme": ("closed", "high"),
        "Globex": ("new", "low"),  # 7 is not in the map: the default
        "Initech": (None, "normal"),  # null stays null; the number 2 is found under "2"
    }
    [failed] = read_jsonl(workdir / "failed.jsonl")
    assert failed["source_id"] == "d4"
    assert failed["error"] == "the value 'Frozen' has no entry in the value map Stage \u2192 status"
    assert failed["location"].endswith("spec.yaml:16:17")  # the `values` of `status`


def test_a_value_map_written_where_it_does_not_go_says_where_it_goes(
    cli: Any, workdir: Path
) -> None:
    text = VALUE_MAP.replace(
        "      status:\n        from: Stage\n        values: {Won: closed, Lost: closed, Open: new}\n",
        "      status: Stage\n      values: {Won: closed}\n",
    ).replace("    match:", "    values: {Won: closed}\n    match:")
    Path("spec.yaml").write_text(text)

    result = cli("validate", "spec.yaml")

    assert result.exit_code == 2
    assert result.stdout.splitlines()[:2] == [
        "spec.yaml:11:5: unknown key 'values': a one-way flow maps values field by field: "
        "fields: {<target field>: {from: <expression>, values: {<source value>: <value>, ...},"
        " default: <value>}} (at $.flows.deals.values)",
        "spec.yaml:16:7: this names a target field 'values'; a value map goes under the field"
        " it fills: <target field>: {from: <expression>, values: {<source value>: <value>,"
        " ...}, default: <value>} (at $.flows.deals.fields.values)",
    ]
