"""Zoho's module and field lists kept between runs (issue 10, point 4): a second run reads no
metadata, a run after `metadata_ttl` reads it again, a field added in Zoho since is found,
specs on one org share the lists, a dry run keeps nothing, `state reset` forgets them.
Emulator and connector share one fake clock: the hour of expiry costs nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from integrate import ConnectorContext, FakeClock, IntegrateError, MetadataCache
from integrate.build import load_spec
from integrate.engine import RunOptions, RunReport, run_spec
from integrate.oauth import MemoryTokenCache
from integrate.plugins import make_plugins
from integrate_zoho_crm import ZohoCrmConnector
from integrate_zoho_crm.connector import SCOPES
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import accounts_to_files, zoho_env

METADATA = ("modules", "fields")
STATE = Path(".integrate/state.db")


def metadata_calls(emulator: ZohoCrmEmulator) -> dict[str, int]:
    calls = emulator.calls()
    return {kind: calls.get(kind, 0) for kind in METADATA}


def with_config(spec: str, line: str) -> str:
    """The spec with one more line in the Zoho connection's config."""
    return spec.replace("    config:\n", f"    config:\n      {line}\n", 1)


class Runs:
    """Runs of spec files against one emulator, on one fake clock."""

    def __init__(self, emulator: ZohoCrmEmulator, clock: FakeClock):
        self.emulator, self.clock = emulator, clock
        self.plugins = make_plugins()

    def run(self, path: str = "spec.yaml", *, dry_run: bool = False) -> RunReport:
        spec = load_spec(path, self.plugins)
        options = RunOptions(
            transports={"crm": self.emulator.transport()}, clock=self.clock, dry_run=dry_run
        )
        return run_spec(spec, self.plugins, options)


@pytest.fixture
def crm(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Runs:
    clock = FakeClock()
    emulator = ZohoCrmEmulator(clock=clock, accounts=5, seed=10)
    zoho_env(monkeypatch, emulator)
    return Runs(emulator, clock)


def test_a_second_run_reads_no_metadata_and_the_state_file_holds_no_secret(crm: Runs) -> None:
    Path("spec.yaml").write_text(accounts_to_files())
    assert crm.run().status == "succeeded"
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 1}

    again = crm.run()

    assert again.status == "succeeded"
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 1}
    assert len(read_jsonl(Path("out/accounts.jsonl"))) == 5
    stored = b"".join(p.read_bytes() for p in STATE.parent.iterdir() if p.is_file())
    for secret in (crm.emulator.client_secret, crm.emulator.refresh_token):
        assert secret.encode() not in stored


def test_the_lists_are_read_again_once_metadata_ttl_has_passed(crm: Runs) -> None:
    Path("spec.yaml").write_text(accounts_to_files())
    crm.run()
    crm.clock.advance(3599)
    crm.run()
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 1}  # kept an hour

    crm.clock.advance(1)
    crm.run()
    assert metadata_calls(crm.emulator) == {"modules": 2, "fields": 2}

    # metadata_ttl sets the hour: 60 s (lists kept an hour ago are too old for it) ...
    Path("spec.yaml").write_text(with_config(accounts_to_files(), "metadata_ttl: 60"))
    crm.clock.advance(60)
    crm.run()
    crm.clock.advance(59)
    crm.run()
    assert metadata_calls(crm.emulator) == {"modules": 3, "fields": 3}
    crm.clock.advance(1)
    crm.run()
    assert metadata_calls(crm.emulator) == {"modules": 4, "fields": 4}
    # ... or 0: read on every run
    Path("spec.yaml").write_text(with_config(accounts_to_files(), "metadata_ttl: 0"))
    crm.run()
    crm.run()
    assert metadata_calls(crm.emulator) == {"modules": 6, "fields": 6}


def test_a_field_added_in_zoho_since_the_lists_were_kept_is_found(crm: Runs) -> None:
    Path("spec.yaml").write_text(accounts_to_files())
    crm.run()  # the Accounts fields are kept, without Tier
    crm.emulator.add_field("Accounts", "Tier", "Tier")
    first = crm.emulator.records("Accounts")[0]
    crm.emulator.change("Accounts", first["id"], {"Tier": "Gold"})

    Path("spec.yaml").write_text(accounts_to_files("{name: Account_Name, tier: Tier}"))
    report = crm.run()

    assert report.status == "succeeded"
    tiers = {r["name"]: r.get("tier") for r in read_jsonl(Path("out/accounts.jsonl"))}
    assert tiers[first["Account_Name"]] == "Gold"
    # the fields of Accounts were read again once; the module list was not
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 2}
    crm.run()
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 2}  # and kept again


def test_a_field_zoho_does_not_have_is_reported_after_one_fresh_read(crm: Runs) -> None:
    Path("spec.yaml").write_text(accounts_to_files())
    crm.run()
    text = accounts_to_files("{name: Account_Name, site: Websit}")
    Path("spec.yaml").write_text(text)
    line = text.splitlines().index("    fields: {name: Account_Name, site: Websit}") + 1

    with pytest.raises(IntegrateError) as failed:
        crm.run()

    assert f"spec.yaml:{line}:" in str(failed.value)
    assert "has no field 'Websit' to read (did you mean 'Website'?)" in str(failed.value)
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 2}


def test_two_specs_on_one_org_share_the_lists(crm: Runs) -> None:
    Path("a.yaml").write_text(accounts_to_files(name="crm-a", out="./a"))
    # another spec, another flow, another page size: the same org and credentials
    other = accounts_to_files("{phone: Phone, name: Account_Name}", name="crm-b", out="./b")
    Path("b.yaml").write_text(with_config(other, "page_size: 50"))

    crm.run("a.yaml")
    report = crm.run("b.yaml")

    assert report.status == "succeeded"
    assert len(read_jsonl(Path("b/accounts.jsonl"))) == 5
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 1}


def test_a_dry_run_uses_the_kept_lists_but_keeps_none_itself(crm: Runs) -> None:
    Path("spec.yaml").write_text(accounts_to_files())
    crm.run(dry_run=True)
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 1}
    assert not STATE.exists()  # nothing written at all

    crm.run()  # the dry run kept nothing: read again
    assert metadata_calls(crm.emulator) == {"modules": 2, "fields": 2}
    crm.clock.advance(3599)
    with sqlite3.connect(STATE) as db:
        before = db.execute("SELECT key, stored_at FROM metadata_cache ORDER BY key").fetchall()
    crm.emulator.add_field("Accounts", "Tier", "Tier")
    Path("spec.yaml").write_text(accounts_to_files("{name: Account_Name, tier: Tier}"))

    assert crm.run(dry_run=True).status == "succeeded"  # found by a fresh read, not kept

    assert metadata_calls(crm.emulator) == {"modules": 2, "fields": 3}
    with sqlite3.connect(STATE) as db:
        after = db.execute("SELECT key, stored_at FROM metadata_cache ORDER BY key").fetchall()
    assert after == before


def test_state_reset_forgets_the_lists(crm: Runs, cli: object) -> None:
    Path("spec.yaml").write_text(accounts_to_files())
    crm.run()
    crm.run()
    assert metadata_calls(crm.emulator) == {"modules": 1, "fields": 1}

    result = cli("state", "reset", "spec.yaml", "--yes")  # type: ignore[operator]

    assert result.exit_code == 0, result.output
    assert "2 cached metadata entries" in result.stdout
    crm.run()
    assert metadata_calls(crm.emulator) == {"modules": 2, "fields": 2}


def test_a_module_missing_from_kept_lists_is_looked_for_afresh_and_each_credential_keeps_its_own() -> (
    None
):
    clock = FakeClock()
    kept = MetadataCache(clock=clock)  # a state file's entries, in memory here
    with ZohoCrmEmulator(clock=clock) as emulator:

        def connector(**config: Any) -> ZohoCrmConnector:
            context = ConnectorContext(
                connection="crm",
                transport=emulator.transport(),
                clock=clock,
                tokens=MemoryTokenCache(),
                cache=kept,
            )
            return ZohoCrmConnector({**emulator.connection_config(), **config}, context)

        connector().describe("Accounts")
        # lists kept before the org had Deals (a module made since, as far as they know)
        connector().metadata.put("modules", ["Accounts"], 3600)

        later = connector(page_size=50)
        assert later.describe("Deals").name == "Deals"
        with pytest.raises(KeyError):
            later.describe("Invoices")  # the fresh list has none: no further call
        assert metadata_calls(emulator) == {"modules": 2, "fields": 2}

        # another credential (another user, whose profile may hide fields): its own lists
        grant = connector().exchange_code(emulator.grant_code(scope=SCOPES), "")
        connector(refresh_token=grant["refresh_token"]).describe("Accounts")
        assert metadata_calls(emulator) == {"modules": 3, "fields": 3}


def test_the_users_an_owner_look_up_reads_are_kept_like_the_lists(crm: Runs) -> None:
    # SM's owner field looks Zoho's users up on every run: a whole read of Users is kept for
    # metadata_ttl like the module and field lists, and read again once the hour is out
    spec = accounts_to_files(
        "{name: Account_Name, owner: \"lookup('crm.Users', {id: Owner.id}).email\"}"
    )
    Path("spec.yaml").write_text(spec)
    first = crm.run()
    owners = {r["owner"] for r in read_jsonl(Path("out/accounts.jsonl"))}
    assert first.status == "succeeded"
    assert crm.emulator.calls().get("users") == 1
    assert len(owners) > 1
    assert None not in owners

    def edit_and_run(name: str) -> None:  # an Account edited: the next run maps it, owner too
        crm.clock.advance(60)
        account = crm.emulator.records("Accounts")[0]
        crm.emulator.change("Accounts", account["id"], {"Account_Name": name})
        report = crm.run()
        assert report.flows[0].as_dict()["totals"]["updated"] == 1, report.flows[0].as_dict()

    edit_and_run("Renamed once")
    again = crm.emulator.calls().get("users")
    crm.clock.advance(3601)
    edit_and_run("Renamed twice")

    assert again == 1
    assert crm.emulator.calls().get("users") == 2
