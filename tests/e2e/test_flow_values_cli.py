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
