"""The shipped specs point at emulators or a proxy without editing: every base URL is
`${env:NAME:-the vendor's URL}` (issue 14). Each spec validates with and without the
variables, resolves to the vendor's URLs when they are unset, runs against emulators served on
loopback when they are set; and a refused connection names the host and port it tried."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrate.build import load_spec, resolve_config
from integrate.plugins import make_plugins
from integrate.secrets import Resolver, reveal
from integrate_clientsuccess.emulator import ClientSuccessEmulator
from integrate_ideolve.emulator import IdeolveEmulator
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import repo_root, write_jsonl

SPECS = repo_root() / "specs"
# connection setting → (variable, the vendor's URL when it is unset), per shipped spec
POINTED = {
    "zoho_crm-servicedesk_msp.yaml": {
        ("crm", "accounts_url"): ("ZOHO_ACCOUNTS_URL", "https://accounts.zoho.com"),
        ("crm", "api_domain"): ("ZOHO_API_DOMAIN", ""),
        ("sdp", "url"): ("SDP_URL", None),  # no vendor URL: each customer's own server
    },
    "salesmanago-zoho_crm.yaml": {
        ("crm", "accounts_url"): ("ZOHO_ACCOUNTS_URL", "https://accounts.zoho.eu"),
        ("crm", "api_domain"): ("ZOHO_API_DOMAIN", ""),
        ("sm", "base_url"): ("SALESMANAGO_URL", "https://app3.salesmanago.com"),
    },
    "clientsuccess-zoho_crm.yaml": {
        ("crm", "accounts_url"): ("ZOHO_ACCOUNTS_URL", "https://accounts.zoho.com"),
        ("crm", "api_domain"): ("ZOHO_API_DOMAIN", ""),
        ("cs", "base_url"): ("CLIENTSUCCESS_URL", "https://api.clientsuccess.com/v1"),
    },
    "zoho_crm-ideolve.yaml": {
        ("crm", "accounts_url"): ("ZOHO_ACCOUNTS_URL", "https://accounts.zoho.in"),
        ("crm", "api_domain"): ("ZOHO_API_DOMAIN", ""),
        ("ideolve", "base_url"): ("IDEOLVE_URL", "https://api.ideolve.com/v4"),
    },
}
# Every other variable the shipped specs read: credentials (placeholders do for validation).
CREDENTIALS = dict.fromkeys(
    (
        "ZOHO_CLIENT_ID",
        "ZOHO_CLIENT_SECRET",
        "ZOHO_REFRESH_TOKEN",
        "SDP_TECHNICIAN_KEY",
        "SALESMANAGO_CLIENT_ID",
        "SALESMANAGO_API_SECRET",
        "CLIENTSUCCESS_USERNAME",
        "CLIENTSUCCESS_PASSWORD",
        "IDEOLVE_CLIENT_ID",
        "IDEOLVE_API_KEY",
    ),
    "placeholder-1",
) | {"SALESMANAGO_OWNER": "owner@example.com", "SDP_URL": "https://sdp.example.com"}
URL_VARIABLES = {var for spec in POINTED.values() for var, _ in spec.values()}


def test_every_shipped_spec_is_listed() -> None:
    assert sorted(POINTED) == sorted(p.name for p in SPECS.glob("*.yaml"))


def resolved(spec_name: str, environ: dict[str, str]) -> dict[tuple[str, str], Any]:
    plugins = make_plugins()
    resolver = Resolver(environ=environ, base=SPECS)
    spec = load_spec(SPECS / spec_name, plugins, resolver=resolver)
    out: dict[tuple[str, str], Any] = {}
    for alias, key in POINTED[spec_name]:
        config = resolve_config(spec.connections[alias], resolver, strict=True)
        out[(alias, key)] = reveal(config.get(key))
    return out


@pytest.mark.parametrize("spec_name", sorted(POINTED))
def test_a_shipped_spec_validates_and_resolves_to_the_vendor_without_the_variables(
    cli: Any, monkeypatch: pytest.MonkeyPatch, spec_name: str
) -> None:
    for name in URL_VARIABLES - {"SDP_URL"}:
        monkeypatch.delenv(name, raising=False)
    env = dict(CREDENTIALS)

    checked = cli("validate", "--strict", str(SPECS / spec_name), env=env)

    assert checked.exit_code == 0, checked.output
    assert "warning" not in checked.output
    values = resolved(spec_name, env)
    for (alias, key), (_, vendor) in POINTED[spec_name].items():
        if vendor is not None:
            assert values[(alias, key)] == vendor, (alias, key)


@pytest.mark.parametrize("spec_name", sorted(POINTED))
def test_a_shipped_spec_validates_and_resolves_to_the_variables_when_set(
    cli: Any, spec_name: str
) -> None:
    pointed = {name: f"http://127.0.0.1:{9000 + n}" for n, name in enumerate(sorted(URL_VARIABLES))}
    env = {**CREDENTIALS, **pointed}

    checked = cli("validate", "--strict", str(SPECS / spec_name), env=env)

    assert checked.exit_code == 0, checked.output
    values = resolved(spec_name, env)
    for (alias, key), (name, _) in POINTED[spec_name].items():
        assert values[(alias, key)] == pointed[name], (alias, key)


# ---- runs pointed at emulators by the variables alone -----------------------------------


@pytest.fixture
def zoho() -> Iterator[ZohoCrmEmulator]:
    crm = ZohoCrmEmulator(accounts=3, seed=4)
    crm.serve()
    yield crm
    crm.close()


def zoho_env(crm: ZohoCrmEmulator) -> dict[str, str]:
    config = crm.connection_config()
    return {
        "ZOHO_ACCOUNTS_URL": config["accounts_url"],
        "ZOHO_CLIENT_ID": config["client_id"],
        "ZOHO_CLIENT_SECRET": config["client_secret"],
        "ZOHO_REFRESH_TOKEN": config["refresh_token"],
    }


def test_the_clientsuccess_spec_runs_against_served_emulators(
    cli: Any, workdir: Path, zoho: ZohoCrmEmulator
) -> None:
    with ClientSuccessEmulator(clients=2, contacts_per_client=1, seed=4) as cs:
        cs.serve()
        config = cs.connection_config()
        env = {
            **zoho_env(zoho),
            "CLIENTSUCCESS_URL": config["base_url"],
            "CLIENTSUCCESS_USERNAME": config["username"],
            "CLIENTSUCCESS_PASSWORD": config["password"],
        }
        spec = str(SPECS / "clientsuccess-zoho_crm.yaml")

        result = cli("run", spec, "--dry-run", "--json", "--state", "s.db", env=env)

        assert cs.calls()
        assert zoho.calls()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "succeeded"


def test_the_ideolve_spec_runs_against_served_emulators(
    cli: Any, workdir: Path, zoho: ZohoCrmEmulator
) -> None:
    with IdeolveEmulator(user="sales.bot@example.com", seed=4) as ideolve:
        ideolve.serve()
        config = ideolve.connection_config()
        env = {
            **zoho_env(zoho),
            "IDEOLVE_URL": config["base_url"],
            "IDEOLVE_CLIENT_ID": config["client_id"],
            "IDEOLVE_API_KEY": config["api_key"],
        }
        spec = str(SPECS / "zoho_crm-ideolve.yaml")

        result = cli("run", spec, "--dry-run", "--json", "--state", "s.db", env=env)

        assert zoho.calls()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "succeeded"


# ---- a refused connection names where it tried ------------------------------------------

REFUSED = """\
integrate: 1
name: refused
connections:
  src: {plugin: files, config: {path: ./src}}
  sdp:
    plugin: servicedesk_msp
    config: {url: "${env:SDP_URL}", technician_key: "${env:SDP_TECHNICIAN_KEY}"}
    limits: {max_attempts: 1}
flows:
  customers:
    from: src.customers
    to: sdp.accounts
    match: [[name, name]]
    fields: {name: name}
"""


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_names_the_host_and_port_it_tried(cli: Any, workdir: Path) -> None:
    port = closed_port()
    Path("spec.yaml").write_text(REFUSED)
    write_jsonl(workdir / "src/customers.jsonl", [{"id": "1", "name": "Acme"}])
    env = {"SDP_URL": f"http://127.0.0.1:{port}", "SDP_TECHNICIAN_KEY": "key-123456"}

    result = cli("run", "spec.yaml", env=env)
    report = cli("run", "spec.yaml", "--json", env=env)

    assert result.exit_code == 1, result.output
    assert f"cannot connect to 127.0.0.1:{port}" in result.stderr
    assert f"cannot connect to 127.0.0.1:{port}" in json.loads(report.stdout)["error"]
