"""`integrate auth` and `integrate emulate` with Zoho CRM, over real loopback HTTP: the
emulator served on 127.0.0.1, the command line as an operator types it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate_zoho_crm.connector import SCOPES
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.e2e.emulate import emulate

SPEC = """\
integrate: 1
name: zoho-auth
connections:
  crm:
    plugin: zoho_crm
    config:
      data_center: com
      accounts_url: {url}
      client_id: {client_id}
      client_secret: ${{env:ZOHO_CLIENT_SECRET}}
      refresh_token: ${{file:secrets/zoho-refresh-token}}
  out: {{plugin: files, config: {{path: ./out}}}}
flows:
  accounts:
    from: crm.Accounts
    to: out.accounts
    match: [[Account_Name, name]]
    fields: {{name: Account_Name, phone: Phone}}
"""


@pytest.fixture
def served() -> Any:
    emulator = ZohoCrmEmulator(accounts=7, seed=2)
    url = emulator.serve()
    yield emulator, url
    emulator.close()


def test_auth_stores_the_refresh_token_where_the_reference_points(
    cli: Any, workdir: Path, served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SM-9, ID-6: authorise once from a command, no hand-made HTTP requests.
    emulator, url = served
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", emulator.client_secret)
    Path("spec.yaml").write_text(SPEC.format(url=url, client_id=emulator.client_id))

    # A self-client code, generated in Zoho's console with the scopes the plugin needs.
    result = cli("auth", "spec.yaml", "crm", "--code", emulator.grant_code(scope=SCOPES))

    assert result.exit_code == 0, result.output
    token_file = workdir / "secrets/zoho-refresh-token"
    assert "stored the refresh token of crm in" in result.stdout
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    token = token_file.read_text().strip()
    assert token.startswith("1000.")
    assert token not in result.output  # stored, never shown

    run = cli("run", "spec.yaml", "--json")

    assert run.exit_code == 0, run.output
    assert len(read_jsonl(workdir / "out/accounts.jsonl")) == 7
    assert json.loads(run.stdout)["calls"]["crm"]["auth"] == 1


def test_auth_prints_the_consent_url_and_takes_a_pasted_redirect(
    cli: Any, workdir: Path, served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, url = served
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", emulator.client_secret)
    Path("spec.yaml").write_text(
        SPEC.format(url=url, client_id=emulator.client_id).replace(
            "${file:secrets/zoho-refresh-token}", "${env:ZOHO_REFRESH_TOKEN}"
        )
    )
    pasted = f"https://localhost/integrate/oauth/callback?code={emulator.grant_code()}&location=us"

    result = cli("auth", "spec.yaml", "crm", "--print-token", input=pasted + "\n")

    assert result.exit_code == 0, result.output
    assert f"{url}/oauth/v2/auth?response_type=code&client_id={emulator.client_id}" in result.stdout
    assert "access_type=offline" in result.stdout
    assert "prompt=consent" in result.stdout
    [line] = [
        line for line in result.stdout.splitlines() if line.startswith("ZOHO_REFRESH_TOKEN=1000.")
    ]
    assert line


def test_auth_with_a_used_code_says_so(
    cli: Any, workdir: Path, served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, url = served
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", emulator.client_secret)
    Path("spec.yaml").write_text(SPEC.format(url=url, client_id=emulator.client_id))
    code = emulator.grant_code()
    assert cli("auth", "spec.yaml", "crm", "--code", code).exit_code == 0

    again = cli("auth", "spec.yaml", "crm", "--code", code)

    assert again.exit_code == 1
    assert "the token endpoint refused: invalid_code" in again.stderr


def test_emulate_serves_the_api_on_a_loopback_port(workdir: Path) -> None:
    with emulate("zoho_crm", "accounts=3", home=workdir / ".integrate") as served:
        assert served.url.startswith("http://127.0.0.1:")
        url = served.url
        token = httpx.post(
            f"{url}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": served.exports["ZOHO_CLIENT_ID"],
                "client_secret": served.exports["ZOHO_CLIENT_SECRET"],
                "refresh_token": served.exports["ZOHO_REFRESH_TOKEN"],
            },
        ).json()
        listing = httpx.get(
            f"{token['api_domain']}/crm/v8/Accounts",
            params={"fields": "Account_Name"},
            headers={"Authorization": f"Zoho-oauthtoken {token['access_token']}"},
        )
        assert served.exports["ZOHO_ACCOUNTS_URL"] == url
        assert listing.status_code == 200
        assert len(listing.json()["data"]) == 3
