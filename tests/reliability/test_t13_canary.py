"""T13: canary secrets (Zoho's client secret and refresh token, SDP's technician key: each
a `${env:...}` reference in the spec, set in the environment; one more variable referenced
by nothing) never appear, raw, URL-encoded or base64, in anything a run writes or prints,
through the fault scenarios, at the CLI's most verbose logging (`-vv`; `integrate run` has
no separate debug-HTTP switch).

Unlike tests/e2e/test_secrets_canary.py (a deliberately leaky plugin), this runs the real
zoho_crm and servicedesk_msp plugins against their emulators served on loopback. The
fault scenarios (429s, 500s, cut bodies, expired access tokens) run in process on the
emulators' fake clock, so their backoffs cost nothing; their logs are searched with the
reports and errors *before* the CLI's redaction. Then `integrate -vv run` runs in its own
process (no secret known to the redactor before it starts): once killed mid-write (its
-wal file left behind), once refused a refresh (the refresh token revoked at Zoho's
accounts server). Searched: all of that output, `failures list --all`, `pending list` and
`state show`, and every file in the working folder (state DB, -wal, -shm, lock file,
failed-records file).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import sqlite3
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from integrate import FakeClock, Faults
from integrate.build import load_spec
from integrate.cli import _setup_logging
from integrate.engine import RunFailed, RunOptions, run_spec
from integrate.plugins import make_plugins
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_variables
from tests.reliability.harness import Workspace

# A key an SDP administrator generated; '/', '+' and '=' make its encoded forms differ.
SDP_KEY = "canary-Zq8x/SECRET+771=T13"
UNUSED = "canary-unused-T13+env/only="  # in the environment, referenced by nothing

SPEC = """\
integrate: 1
name: t13-canary
connections:
%(crm)s
  sdp:
    plugin: servicedesk_msp
    config: {url: "${env:SDP_URL}", technician_key: "${env:SDP_TECHNICIAN_KEY}"}
failures: out/failed.jsonl
flows:
  accounts:
    from: crm.Accounts
    to: sdp.accounts
    match: [[Account_Name, name]]
    fields: {name: Account_Name, city: Billing_City, description: Description}
    rules:
      - when: "Billing_City == 'Nowhere'"
        fail: an account must have a real city
""" % {"crm": zoho_connection(accounts_url="${env:ZOHO_ACCOUNTS_URL}")}  # noqa: UP031  (the braces are YAML's)


class World:
    """The two emulators on one fake clock, served on loopback, and the working folder."""

    def __init__(self, root: Path) -> None:
        self.clock = FakeClock(time.time())
        self.crm = ZohoCrmEmulator(seed=13, clock=self.clock, refresh_limit=100)
        self.sdp = ServiceDeskMspEmulator(seed=13, clock=self.clock, technician_key=SDP_KEY)
        self.crm_url, sdp_url = self.crm.serve(), self.sdp.serve()
        spec = root / "spec.yaml"
        spec.write_text(SPEC)
        env = {
            **zoho_variables(self.crm.connection_config()),
            "SDP_URL": sdp_url,
            "SDP_TECHNICIAN_KEY": SDP_KEY,
            "T13_UNUSED_TOKEN": UNUSED,
        }
        self.work = Workspace(root, spec, env)
        self.secrets = [self.crm.client_secret, self.crm.refresh_token, SDP_KEY, UNUSED]
        self.plugins = make_plugins()
        self.said: dict[str, bytes] = {}  # what the in-process runs reported
        self.n = 0

    def new_accounts(self, n: int) -> None:
        """Accounts made in the CRM since the last run: work for the next one (the very
        first fails the spec's rule, in every run: a failed-records file to search)."""
        self.crm.seed(
            "Accounts",
            [
                {
                    "Account_Name": f"Canary Account {self.n + i:03d}",
                    "Billing_City": "Nowhere" if self.n + i == 0 else "Leeds",
                    "Description": f"note {self.n + i}",
                }
                for i in range(n)
            ],
        )
        self.n += n

    def faults(self, **armed: float | None) -> None:
        self.crm.faults = Faults(**armed, spare=frozenset({"token"}))  # type: ignore[arg-type]
        self.sdp.faults = Faults(**armed)  # type: ignore[arg-type]

    def run_here(self, name: str) -> str:
        """One run in this process, as `integrate run` makes it, on the fake clock; its
        report (JSON) and error are kept unredacted for the search. Returns the status."""
        spec = load_spec(self.work.spec, self.plugins)
        options = RunOptions(state_path=self.work.root / "state.db", clock=self.clock)
        error = ""
        try:
            report = run_spec(spec, self.plugins, options)
        except RunFailed as exc:
            report, error = exc.report, str(exc)
        text = json.dumps(report.as_dict(), default=str) + "\n" + error
        self.said[f"{name} (report and error, unredacted)"] = text.encode()
        return report.status

    def close(self) -> None:
        self.crm.close()
        self.sdp.close()


@pytest.fixture
def world(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    built = World(workdir)
    for name, value in built.work.env.items():
        monkeypatch.setenv(name, value)
    yield built
    built.close()


def forms(secret: str) -> set[str]:
    """How a secret may be written: raw, URL-encoded, and base64 (standard and URL-safe) at
    each of the three alignments it can take inside a longer encoded text."""
    raw = secret.encode()
    found = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    for start in range(3):
        part = raw[start:]
        part = part[: len(part) // 3 * 3]
        found.add(base64.b64encode(part).decode())
        found.add(base64.urlsafe_b64encode(part).decode())
    return found


def rows(path: Path) -> bytes:
    """Every value of every table of a SQLite file, as text (a value the file's pages split
    would escape a search of its bytes)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        values = [
            repr(row).encode() for table in tables for row in db.execute(f'SELECT * FROM "{table}"')
        ]
    return b"\n".join(values)


def leaks(texts: dict[str, bytes], secrets: list[str]) -> list[tuple[str, str]]:
    return [
        (where, form)
        for where, data in texts.items()
        for secret in secrets
        for form in forms(secret)
        if form.encode() in data
    ]


@pytest.mark.slow
def test_T13_canary_secrets_appear_nowhere_through_the_fault_scenarios(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    work = world.work
    statuses: dict[str, str] = {}
    _setup_logging(2)  # what `integrate -vv` sets up
    try:
        world.new_accounts(8)
        world.faults(rate_limit=0.4, retry_after=None)
        statuses["429"] = world.run_here("429")
        world.new_accounts(8)
        world.faults(server_error=0.4)
        statuses["500"] = world.run_here("500")
        world.new_accounts(8)
        world.faults(truncate=0.4)
        statuses["cut bodies"] = world.run_here("cut bodies")
        world.new_accounts(8)
        world.faults()
        world.crm.expire_tokens()
        statuses["token expired"] = world.run_here("token expired")
    finally:
        logging.getLogger().handlers.clear()
    logged = capfd.readouterr()

    # Killed while writing: the state's -wal file stays behind for the search.
    world.new_accounts(40)
    creates = world.sdp.calls().get("create:accounts", 0) + 10
    killed = work.start(verbose=2)
    deadline = time.monotonic() + 30
    while killed.code is None and world.sdp.calls().get("create:accounts", 0) < creates:
        assert time.monotonic() < deadline, "the run to kill made no progress"
        time.sleep(0.005)
    os.kill(killed.process.pid, signal.SIGKILL)
    killed.process.wait(timeout=30)
    wal = (work.root / "state.db-wal").read_bytes()

    # The refresh token revoked at Zoho's accounts server (its access tokens with it).
    httpx.post(
        f"{world.crm_url}/oauth/v2/token/revoke", params={"token": world.crm.refresh_token}
    ).raise_for_status()
    refused = work.run(verbose=2, timeout=60)

    # The scenarios did what they say (else the search proves little).
    # every run got through; the one record the rule fails keeps the failed-records file busy
    assert set(statuses.values()) == {"completed_with_errors"}, statuses
    assert refused.code == 1, refused.output()
    assert "the token endpoint refused: invalid_code" in refused.output()
    crm, sdp = Counter(world.crm.calls()), Counter(world.sdp.calls())
    for fault in ("fault:429", "fault:500", "fault:truncated"):
        assert min(crm[fault], sdp[fault]) > 0, (fault, crm, sdp)
    assert crm["token"] >= 3, crm  # the first, after the expiry, the refused one
    assert "DEBUG integrate.http" in logged.err
    assert "retry" in logged.err

    texts = dict(world.said)
    texts["in-process runs: stdout"] = logged.out.encode()
    texts["in-process runs: stderr (-vv logs)"] = logged.err.encode()
    texts["state.db-wal (of the killed run)"] = wal
    for listing, *extra in (("failures", "--all"), ("pending",)):
        done = work.command(listing, "list", "spec.yaml", "--state", "state.db", *extra)
        assert done.returncode == 0, done.stderr
        texts[f"{listing} list"] = (done.stdout + done.stderr).encode()
    done = work.command("state", "show", "spec.yaml", "--state", "state.db")
    assert done.returncode == 0, done.stderr
    texts["state show"] = (done.stdout + done.stderr).encode()
    texts["state.db, every row of every table"] = rows(work.root / "state.db")
    files = [p for p in work.root.rglob("*") if p.is_file()]
    texts.update({str(p.relative_to(work.root)): p.read_bytes() for p in files})
    assert texts["out/failed.jsonl"], "no record failed: the failed-records file is empty"
    assert {"state.db", "run1.err", "run2.err"} <= set(texts)

    assert leaks(texts, world.secrets) == []
    size = sum(len(t) for t in texts.values())
    print(f"searched {len(texts)} texts, {size:,} bytes; statuses {statuses}")
