"""The ClientSuccess ⇄ Zoho CRM demo as a newcomer runs it: `integrate run
specs/clientsuccess-zoho_crm.yaml --sandbox`, no system and no variable needed. The summary
says what went which way; the emulated systems hold what the spec says; the next run writes
nothing; the ClientSuccess-only contact waits in the pending queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from integrate.build import load_spec
from integrate.plugins import make_plugins
from integrate.sandbox import opened
from tests.e2e.csz import SPEC


def systems() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What the sandbox's systems hold: ClientSuccess clients by name, ClientSuccess
    contacts by email, Zoho Contacts by email."""
    spec = load_spec(SPEC, make_plugins(), strict_env=False)
    with opened(spec, make_plugins()) as emulators:
        clients = {c["name"]: c for c in emulators["cs"].records("clients")}
        contacts = {c["email"]: c for c in emulators["cs"].records("contacts")}
        crm = {str(r["Email"]): r for r in emulators["crm"].records("Contacts")}
    return clients, contacts, crm


def rows(stdout: str) -> dict[str, list[int]]:
    """The summary table's rows: flow label → its counts."""
    out = {}
    for line in stdout.splitlines():
        cells = line.split()
        if cells[:1] in (["clients"], ["contacts:"], ["contacts"]) and cells[-1].isdigit():
            label = " ".join(cells[: len(cells) - 8])
            out[label] = [int(c.replace(",", "")) for c in cells[-8:]]
    return out


def test_the_sandbox_demo_imports_the_customers_and_keeps_contacts_equal(
    cli: Any, workdir: Path
) -> None:
    first = cli("run", str(SPEC), "--sandbox", "--fresh")

    assert first.exit_code == 0, first.output
    assert "warning" not in first.output.lower()
    # read, created, updated, unchanged, skipped, deferred, queued, failed
    assert rows(first.stdout) == {
        "clients": [3, 2, 1, 0, 0, 0, 0, 0],
        "contacts: cs → crm": [2, 0, 1, 0, 0, 0, 1, 0],
        "contacts: crm → cs": [4, 2, 0, 0, 1, 0, 0, 0],
    }
    clients, contacts, crm = systems()
    # CS-1: customers and the prospect marked to sync; Hooli and Umbrella stay out
    assert sorted(clients) == ["Acme Corp", "Globex", "Initech"]
    # CS-2: Globex, already in ClientSuccess with its CRM id, was updated, not duplicated
    assert clients["Globex"]["inceptionDate"].startswith("2023-06-01")
    # CS-3: Jane and Peter under their clients; Gavin (Hooli's) is not imported
    assert contacts["jane.doe@acme.example"]["clientId"] == clients["Acme Corp"]["id"]
    assert "gavin@hooli.example" not in contacts
    # CS-5: Hank's title goes to Zoho (pushed only)
    assert crm["hank@globex.example"]["Title"] == "Chief Executive"
    assert "milton@globex.example" not in crm  # waits for an operator
    assert "1 record(s) wait in the pending queue" in first.stdout
    # why, in words: Milton has no CRM id to be matched by
    assert "queue — no record of crm.Contacts matches it: it has no externalId" in first.stdout

    second = cli("run", str(SPEC), "--sandbox")

    assert second.exit_code == 0, second.output
    counts = rows(second.stdout)
    assert all(c[1] == c[2] == 0 for c in counts.values()), second.stdout  # nothing written
