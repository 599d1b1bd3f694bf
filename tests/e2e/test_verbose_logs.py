"""What `-v` and `-vv` log, as docs/cli.md says (issue 14): `-v` what the run changed and why
it waited (every record written, every retry), no HTTP call; `-vv` adds every HTTP call with
its status (method, host and path only). The run: a files source into the ServiceDesk Plus
emulator served on loopback, whose first answer is cut short (so it is retried)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate import Faults
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator
from tests.conftest import repo_root, write_jsonl

SPEC = """\
integrate: 1
name: verbose
connections:
  src: {plugin: files, config: {path: ./src}}
  sdp:
    plugin: servicedesk_msp
    config: {url: "${env:SDP_URL}", technician_key: "${env:SDP_TECHNICIAN_KEY}"}
flows:
  customers:
    from: src.customers
    to: sdp.accounts
    match: [[name, name]]
    fields: {name: name}
"""
CALL = re.compile(
    r"^DEBUG integrate\.http: sdp (GET|POST|PUT) 127\.0\.0\.1/api/v3/\S+ → \d{3}$", re.M
)


@pytest.fixture
def sdp(workdir: Path) -> Iterator[dict[str, str]]:
    emulator = ServiceDeskMspEmulator(seed=2, faults=Faults(truncate_first=1))
    Path("spec.yaml").write_text(SPEC)
    write_jsonl(workdir / "src/customers.jsonl", [{"id": "1", "name": "Acme"}])
    yield {"SDP_URL": emulator.serve(), "SDP_TECHNICIAN_KEY": emulator.technician_key}
    emulator.close()


def test_v_logs_the_writes_and_retries_but_no_http_call(cli: Any, sdp: dict[str, str]) -> None:
    result = cli("-v", "run", "spec.yaml", env=sdp)

    assert result.exit_code == 0, result.output
    assert "INFO integrate.writes: verbose run 1 wrote: create sdp.accounts:" in result.stderr
    assert re.search(
        r"INFO integrate\.http: sdp: a cut or broken JSON answer .*; retry 1", result.stderr
    )
    assert "integrate.http: sdp GET" not in result.stderr
    assert "DEBUG" not in result.stderr


def test_vv_adds_every_http_call(cli: Any, sdp: dict[str, str]) -> None:
    result = cli("-vv", "run", "spec.yaml", env=sdp)

    assert result.exit_code == 0, result.output
    assert "INFO integrate.writes: verbose run 1 wrote: create sdp.accounts:" in result.stderr
    calls = CALL.findall(result.stderr)
    assert {"GET", "POST"} <= set(calls), result.stderr
    assert sdp["SDP_TECHNICIAN_KEY"] not in result.stderr
    assert "input_data" not in result.stderr  # the query string is never logged


def test_the_docs_say_what_v_and_vv_log() -> None:
    cli_md = (repo_root() / "docs/cli.md").read_text()
    [row] = [line for line in cli_md.splitlines() if line.startswith("| `-v`, `--verbose`")]
    at_vv = row.index("`-vv`")

    assert row.index("every HTTP call") > at_vv  # only -vv logs the calls
    assert row.index("every record written") < at_vv
    assert row.index("retry") < at_vv
