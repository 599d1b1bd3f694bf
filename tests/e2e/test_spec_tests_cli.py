"""`integrate test`: a spec's own `tests:` run against the plugins' emulators, with seeded
records referring to each other by `$seed` labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPEC = """\
integrate: 1
name: seeded
connections:
  crm: {plugin: files, config: {path: crm}}
  desk: {plugin: files, config: {path: desk}}
flows:
  people:
    from: crm.contacts
    to: desk.users
    match: [[email, email]]
    rules:
      - when: "!account"
        skip: no account
    fields:
      email: email
      company: "lookup('crm.accounts', {id: account}).name"
tests:
  - name: a contact takes its account's name
    given:
      crm.accounts:
        - {$seed: acme, name: Acme Ltd}
        - {$seed: initech, name: Initech}
      crm.contacts:
        - {email: a@acme.example, account: "@seed:acme"}
        - {email: b@initech.example, account: "@seed:initech"}
        - {$seed: lost, email: c@nowhere.example}
    expect:
      - {create: users, fields: {email: a@acme.example, company: Acme Ltd}}
      - {create: users, fields: {email: b@initech.example, company: Initech}}
      - {skip: no account, count: 1, source: "@seed:lost"}
"""

WRONG = """\
  - name: expects a company the data does not give
    given:
      crm.accounts: [{$seed: acme, name: Acme Ltd}]
      crm.contacts: [{email: a@acme.example, account: "@seed:acme"}]
    expect:
      - {create: users, fields: {company: Globex}}
  - name: refers to a record never seeded
    given:
      crm.contacts: [{email: a@acme.example, account: "@seed:nobody"}]
    expect:
      - {create: users}
"""


def test_spec_tests_pass_with_seed_references(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(SPEC)

    result = cli("test", "spec.yaml")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "PASS spec.yaml: a contact takes its account's name",
        "1 passed, 0 failed",
    ]


def test_failing_spec_tests_say_why_and_the_others_still_run(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(SPEC + WRONG)

    result = cli("test", "spec.yaml")

    assert result.exit_code == 1
    out = result.stdout
    assert "PASS spec.yaml: a contact takes its account's name" in out
    assert "FAIL spec.yaml: expects a company the data does not give" in out
    assert "no plan line fits {'create': 'users', 'fields': {'company': 'Globex'}}" in out
    assert "company='Acme Ltd'" in out  # the plan is shown next to the failed expectation
    assert "FAIL spec.yaml: refers to a record never seeded" in out
    assert "'@seed:nobody' names no record seeded before it (`$seed: nobody`)" in out
    assert out.splitlines()[-1] == "1 passed, 2 failed"


def test_pattern_runs_only_matching_tests(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(SPEC + WRONG)

    result = cli("test", "spec.yaml", "-k", "never seeded")

    assert result.stdout.splitlines()[-1] == "0 passed, 1 failed"
