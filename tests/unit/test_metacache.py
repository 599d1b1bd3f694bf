"""The metadata cache plugins keep vendor metadata in between runs: entries expire, a caller
may ask for fresher, views of one account share entries and name it only by digest, an
entry holding a secret is refused, the state file keeps entries across runs and a dry run's
copy of it never reaches the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from integrate import FakeClock, MetadataCache, PluginError, Secret
from integrate.metacache import MemoryEntries, StateEntries
from integrate.secrets import REDACTOR
from integrate.state import StateStore

FIELDS = [["Account_Name", "text", "Account Name", False, True]]


def test_an_entry_is_kept_until_its_expiry_or_younger_than_the_age_asked() -> None:
    clock = FakeClock(5_000.0)
    cache = MetadataCache(clock=clock).account("vendor", "https://api.example.test")
    cache.put("fields:Accounts", FIELDS, 3600)

    clock.advance(3599)
    assert cache.get("fields:Accounts") == FIELDS
    assert cache.get("fields:Accounts", max_age=3600) == FIELDS
    assert cache.get("fields:Accounts", max_age=60) is None  # a caller wanting fresher
    clock.advance(1)
    assert cache.get("fields:Accounts") is None

    cache.put("modules", ["Accounts"], 60)
    cache.put("modules", ["Accounts"], 0)  # 0: keep nothing, drop what was kept
    assert cache.get("modules") is None


def test_an_entry_from_a_clock_now_set_back_is_not_used() -> None:
    clock = FakeClock(10_000.0)
    cache = MetadataCache(clock=clock)
    cache.put("modules", ["Accounts"], 3600)
    back = MetadataCache(cache.entries, FakeClock(9_000.0))
    assert back.get("modules") is None


def test_views_of_one_account_share_entries_and_keep_no_credential_in_clear() -> None:
    entries = MemoryEntries()
    cache = MetadataCache(entries, FakeClock())
    token = Secret("refresh-canary-7f3e9a")
    one = cache.account("zoho_crm", "https://accounts.zoho.com", "client-1", token)
    same = cache.account(
        "zoho_crm", "https://accounts.zoho.com", "client-1", Secret(token.reveal())
    )
    other = cache.account("zoho_crm", "https://accounts.zoho.com", "client-1", Secret("another-1"))
    one.put("modules", ["Accounts", "Contacts"], 3600)

    assert same.get("modules") == ["Accounts", "Contacts"]
    assert other.get("modules") is None
    [key] = entries.rows
    assert key.startswith("zoho_crm:")
    assert key.endswith(":modules")
    assert "refresh-canary" not in key
    assert "client-1" not in key


def test_an_entry_holding_a_secret_is_refused_and_not_kept() -> None:
    canary = "metadata-canary-5c1d2e"
    REDACTOR.register(canary)
    cache = MetadataCache(clock=FakeClock())

    with pytest.raises(PluginError) as refused:
        cache.put("fields:Accounts", [["Token", "text", canary, False, False]], 3600)

    assert "holds a secret" in str(refused.value)
    assert canary not in str(refused.value)
    assert cache.get("fields:Accounts") is None
    with pytest.raises(PluginError, match="not JSON"):
        cache.put("modules", {"Accounts"}, 3600)


def test_the_state_file_keeps_entries_between_runs_and_a_dry_runs_copy_never_reaches_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    clock = FakeClock()
    store = StateStore(path, "one-spec", lock=True)
    MetadataCache(StateEntries(store), clock).put("modules", ["Accounts"], 3600)
    store.close()

    other = StateStore(path, "another-spec")  # another integration, same file
    assert MetadataCache(StateEntries(other), clock).get("modules") == ["Accounts"]
    other.close()

    dry = StateStore.snapshot(path, "one-spec")
    copy = MetadataCache(StateEntries(dry), clock)
    assert copy.get("modules") == ["Accounts"]
    copy.put("modules", ["Accounts", "Deals"], 3600)
    copy.put("fields:Deals", FIELDS, 3600)
    assert copy.get("modules") == ["Accounts", "Deals"]
    dry.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT key, value FROM metadata_cache").fetchall() == [
            ("modules", '["Accounts"]')
        ]


def test_a_full_state_reset_drops_every_entry_a_flows_reset_none(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db", "spec")
    cache = MetadataCache(StateEntries(store), FakeClock())
    cache.put("modules", ["Accounts"], 3600)

    assert store.reset("accounts").get("metadata_cache") is None
    assert cache.get("modules") == ["Accounts"]
    assert store.reset()["metadata_cache"] == 1
    assert cache.get("modules") is None
    store.close()
