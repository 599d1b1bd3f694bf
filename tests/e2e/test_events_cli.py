"""Event flows end to end over the files plugin: created → create, updated → comment with
what changed, related_added → comment; every event acted on once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tests.conftest import read_jsonl, write_jsonl

SPEC = """\
integrate: 1
name: events
connections:
  crm:
    plugin: files
    config:
      path: ./crm
      cursor_field: changed
      related: {accounts: {Deals: {object: deals, field: account_id}}}
  notes:
    plugin: files
    config: {path: ./notes, actions: {comment: comments}}
flows:
  archive:
    from: crm.accounts
    to: notes.notes
    backfill: %(backfill)s
    events:
      - event: created
        do: create
        fields:
          subject: "concat('Account: ', record.name)"
          body: "format('<p>{0}</p>', [escape_html(record.name)])"
      - event: updated
        do: comment
        fields:
          text: "join('; ', changes[].format('{field}: {old} -> {new}', @))"
      - event: related_added
        related: Deals
        do: comment
        fields:
          text: "concat('Deal added: ', related.title)"
"""


def stamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def run(cli: Any) -> dict[str, Any]:
    result = cli("run", "spec.yaml", "--json")
    assert result.exit_code == 0, result.output
    [flow] = json.loads(result.stdout)["flows"]
    return flow


def test_created_updated_and_related_events_act_once_each(cli: Any, workdir: Path) -> None:
    # ID-1, ID-2, ID-3, ID-7 on the files plugin.
    Path("spec.yaml").write_text(SPEC % {"backfill": "false"})
    write_jsonl(
        workdir / "crm/accounts.jsonl", [{"id": "a0", "name": "Old Co", "changed": stamp()}]
    )
    write_jsonl(workdir / "crm/deals.jsonl", [])

    first = run(cli)
    assert first["totals"]["skipped"] == 1  # existed before the flow started
    assert read_jsonl(workdir / "notes/notes.jsonl") == []

    accounts = read_jsonl(workdir / "crm/accounts.jsonl")
    accounts.append({"id": "a1", "name": "Acme & Co", "city": "Leeds", "changed": stamp()})
    write_jsonl(workdir / "crm/accounts.jsonl", accounts)
    second = run(cli)

    assert second["totals"]["actions"] == 1
    [note] = read_jsonl(workdir / "notes/notes.jsonl")
    assert note["subject"] == "Account: Acme & Co"
    assert note["body"] == "<p>Acme &amp; Co</p>"

    accounts[1].update({"city": "York", "changed": stamp()})
    write_jsonl(workdir / "crm/accounts.jsonl", accounts)
    write_jsonl(
        workdir / "crm/deals.jsonl",
        [{"id": "d1", "title": "Renewal", "account_id": "a1", "changed": stamp()}],
    )
    third = run(cli)

    assert third["totals"]["actions"] == 2
    [note] = read_jsonl(workdir / "notes/notes.jsonl")
    assert note["comments"] == [{"text": "city: Leeds -> York"}, {"text": "Deal added: Renewal"}]

    fourth = run(cli)
    assert fourth["totals"]["actions"] == 0
    assert len(read_jsonl(workdir / "notes/notes.jsonl")[0]["comments"]) == 2


def test_backfill_true_treats_existing_records_as_created(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(SPEC % {"backfill": "true"})
    write_jsonl(
        workdir / "crm/accounts.jsonl", [{"id": "a0", "name": "Old Co", "changed": stamp()}]
    )
    write_jsonl(
        workdir / "crm/deals.jsonl",
        [{"id": "d0", "title": "Old deal", "account_id": "a0", "changed": stamp()}],
    )

    first = run(cli)

    assert first["totals"]["actions"] == 2
    [note] = read_jsonl(workdir / "notes/notes.jsonl")
    assert note["subject"] == "Account: Old Co"
    assert note["comments"] == [{"text": "Deal added: Old deal"}]


def test_a_failed_action_is_retried_on_the_next_run(cli: Any, workdir: Path) -> None:
    Path("spec.yaml").write_text(SPEC % {"backfill": "true"})
    write_jsonl(
        workdir / "crm/accounts.jsonl",
        [{"id": "a1", "name": "Acme", "city": "Leeds", "changed": stamp()}],
    )
    write_jsonl(workdir / "crm/deals.jsonl", [])
    run(cli)
    # The note disappears, so the comment for the next change cannot land.
    saved = read_jsonl(workdir / "notes/notes.jsonl")
    write_jsonl(workdir / "notes/notes.jsonl", [])
    accounts = read_jsonl(workdir / "crm/accounts.jsonl")
    accounts[0].update({"city": "York", "changed": stamp()})
    write_jsonl(workdir / "crm/accounts.jsonl", accounts)

    failed = cli("run", "spec.yaml", "--json")

    assert failed.exit_code == 3
    assert "comment on notes.notes failed: no record with id 1" in failed.stdout
    write_jsonl(workdir / "notes/notes.jsonl", saved)
    retried = run(cli)
    assert retried["totals"]["actions"] == 1
    assert read_jsonl(workdir / "notes/notes.jsonl")[0]["comments"] == [
        {"text": "city: Leeds -> York"}
    ]
