"""Zoho CRM through the engine: per-record failures reach the failure ledger with Zoho's
codes; a canary secret appears in nothing a run writes; an object is read whole only for
the look-ups of the flows that run."""

from __future__ import annotations

import base64
import logging
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import FakeClock, IntegrateError
from integrate.build import load_spec
from integrate.cli import _setup_logging
from integrate.engine import RunOptions, run_spec
from integrate.plugins import make_plugins
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl, write_jsonl
from tests.plugins.zoho_crm.emulator_kit import zoho_env

SPEC = """\
integrate: 1
name: files-to-zoho
connections:
  src: {plugin: files, config: {path: ./src}}
  crm:
    plugin: zoho_crm
    config:
      data_center: com
      client_id: ${env:ZOHO_CLIENT_ID}
      client_secret: ${env:ZOHO_CLIENT_SECRET}
      refresh_token: ${env:ZOHO_REFRESH_TOKEN}
failures: out/failed.jsonl
flows:
  people:
    from: src.people
    to: crm.Contacts
    match: [[email, Email]]
    fields:
      Last_Name: last
      First_Name: first
      Email: email
"""


def options(emulator: ZohoCrmEmulator, clock: FakeClock) -> RunOptions:
    return RunOptions(transports={"crm": emulator.transport()}, clock=clock)


def test_250_rows_with_4_refused_land_246_and_ledger_4_with_zohos_code(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    bad = {3, 77, 160, 245}
    write_jsonl(
        workdir / "src/people.jsonl",
        [
            {
                "id": f"s{i}",
                "first": f"P{i}",
                "last": None if i in bad else f"Person {i}",
                "email": f"p{i}@example.com",
            }
            for i in range(250)
        ],
    )
    Path("spec.yaml").write_text(SPEC)
    with ZohoCrmEmulator(clock=clock) as emulator:
        zoho_env(monkeypatch, emulator)
        plugins = make_plugins()
        spec = load_spec("spec.yaml", plugins)
        before = len(emulator.records("Contacts"))

        report = run_spec(spec, plugins, options(emulator, clock))

        assert emulator.calls()["insert"] == 3
        assert len(emulator.records("Contacts")) == before + 246
        emails = [c["Email"] for c in emulator.records("Contacts")]
        assert len(emails) == len(set(emails))  # nothing written twice
        stats = report.flows[0].as_dict()["totals"]
        assert (stats["created"], stats["failed"]) == (246, 4)
        ledger = {f["source_id"]: f for f in read_jsonl(workdir / "out/failed.jsonl")}
        assert set(ledger) == {f"s{i}" for i in bad}
        assert {f["code"] for f in ledger.values()} == {"MANDATORY_NOT_FOUND"}
        assert report.calls["crm"]["writes"] == 3

        # A second run retries the 4 (still refused) and writes nothing else.
        again = run_spec(spec, plugins, options(emulator, clock))
        assert emulator.calls()["insert"] == 4
        assert again.flows[0].as_dict()["totals"]["failed"] == 4


def test_a_no_change_rerun_makes_no_write_call(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    write_jsonl(
        workdir / "src/people.jsonl",
        [{"id": f"s{i}", "last": f"L{i}", "email": f"e{i}@x.test"} for i in range(30)],
    )
    Path("spec.yaml").write_text(SPEC)
    with ZohoCrmEmulator(clock=clock) as emulator:
        zoho_env(monkeypatch, emulator)
        plugins = make_plugins()
        spec = load_spec("spec.yaml", plugins)
        run_spec(spec, plugins, options(emulator, clock))
        writes = {k: v for k, v in emulator.calls().items() if k in ("insert", "update", "upsert")}

        report = run_spec(spec, plugins, options(emulator, clock))

        assert {
            k: v for k, v in emulator.calls().items() if k in ("insert", "update", "upsert")
        } == writes
        assert report.calls["crm"]["writes"] == 0


def forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode().rstrip("="),
    ]


def test_no_zoho_secret_appears_in_anything_a_run_writes(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # T13 for the HTTP layer: client secret and refresh token, with debug logging on, a
    # refused token, a 401, rate limits and failed records.
    clock = FakeClock()
    write_jsonl(
        workdir / "src/people.jsonl",
        [
            {"id": f"s{i}", "last": None if i == 2 else f"L{i}", "email": f"e{i}@x.test"}
            for i in range(5)
        ],
    )
    Path("spec.yaml").write_text(SPEC)
    with ZohoCrmEmulator(clock=clock) as emulator:
        zoho_env(monkeypatch, emulator)
        canaries = [emulator.client_secret, emulator.refresh_token]
        _setup_logging(2)
        plugins = make_plugins()
        spec = load_spec("spec.yaml", plugins)
        emulator.faults.rate_limit = 0.2
        run_spec(spec, plugins, options(emulator, clock))
        emulator.expire_tokens()
        run_spec(spec, plugins, options(emulator, clock))
        monkeypatch.setenv("ZOHO_REFRESH_TOKEN", emulator.refresh_token + "-wrong")
        canaries.append(emulator.refresh_token + "-wrong")
        emulator.expire_tokens()
        try:
            run_spec(load_spec("spec.yaml", plugins), plugins, options(emulator, clock))
        except IntegrateError as exc:
            logging.getLogger("integrate").error("run failed: %s", exc)
            print(str(exc))
        captured = capsys.readouterr()
        logging.getLogger().handlers.clear()

    state = b"".join(p.read_bytes() for p in (workdir / ".integrate").glob("state.db*")).decode(
        "latin-1"
    )
    written: dict[str, Any] = {
        "stdout": captured.out,
        "stderr": captured.err,
        "failures file": (workdir / "out/failed.jsonl").read_text(),
        "state store": state,
    }
    assert (
        "POST accounts.zoho.com/oauth/v2/token" in captured.err
        or "accounts.zoho.com" in captured.err
    )
    leaks = [
        (where, c)
        for where, text in written.items()
        for canary in canaries
        for c in forms(canary)
        if c in text
    ]
    assert leaks == []


LOOKUP_SPEC = SPEC.replace(
    "flows:\n",
    """flows:
  companies:
    from: src.companies
    to: crm.Accounts
    match: [[name, Account_Name]]
    fields:
      Account_Name: name
""",
).replace(
    "    match: [[email, Email]]\n",
    """    match: [[email, Email]]
    let:
      account: "lookup('crm.Accounts', {Account_Name: company})"
""",
)


class Watched(httpx.BaseTransport):
    """The emulator's transport, keeping the fields each list of Accounts asked for."""

    def __init__(self, inner: httpx.BaseTransport):
        self.inner = inner
        self.asked: list[set[str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith("/Accounts"):
            self.asked.append(set(request.url.params["fields"].split(",")))
        return self.inner.handle_request(request)


@pytest.mark.parametrize(
    ("flows", "whole"),
    [(("companies",), False), (None, True)],
    ids=["--flow companies: its own fields", "every flow: whole records for the look-up"],
)
def test_an_object_is_read_whole_only_for_a_look_up_of_a_flow_that_runs(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, flows: tuple[str, ...] | None, whole: bool
) -> None:
    clock = FakeClock()
    write_jsonl(workdir / "src/companies.jsonl", [{"id": "k1", "name": "Acme"}])
    write_jsonl(
        workdir / "src/people.jsonl",
        [{"id": "s1", "last": "Lee", "email": "lee@x.test", "company": "Acme"}],
    )
    Path("spec.yaml").write_text(LOOKUP_SPEC)
    with ZohoCrmEmulator(clock=clock) as emulator:
        zoho_env(monkeypatch, emulator)
        plugins = make_plugins()
        spec = load_spec("spec.yaml", plugins)
        watched = Watched(emulator.transport())
        run_spec(spec, plugins, RunOptions(transports={"crm": watched}, clock=clock, flows=flows))
        accounts = emulator.records("Accounts")

    assert [a["Account_Name"] for a in accounts] == ["Acme"]
    assert watched.asked
    asked = set().union(*watched.asked)
    assert ("Industry" in asked) is whole  # a field only a whole record has
    assert "Account_Name" in asked
