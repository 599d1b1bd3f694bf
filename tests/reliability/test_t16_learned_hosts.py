"""T16: a host learned from an answer (a token answer's api_domain, a next-page URL, a
redirect) that is neither the vendor's nor written in the config is refused before any
connection: the foreign host sees 0 hits and no Authorization header. Hosts the operator
wrote in the spec are trusted. Loopback only: 127.0.0.2 plays the foreign host."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import CallStats, ConnectorError, FakeClock, HttpClient
from integrate.hosts import HostTrust, configured_origins
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import accounts_to_files, zoho_env


class ForeignHost:
    """A listener on 127.0.0.2 that counts every connection made to it and keeps what
    arrived (to see whether an Authorization header was sent)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.2", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.2:{self.sock.getsockname()[1]}"
        self.hits: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    self.hits.append(conn.recv(65536))
                except OSError:
                    self.hits.append(b"")
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def foreign() -> Iterator[ForeignHost]:
    host = ForeignHost()
    yield host
    host.close()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ZohoCrmEmulator, str]]:
    emulator = ZohoCrmEmulator(accounts=5, seed=3)
    url = emulator.serve()
    zoho_env(monkeypatch, emulator)
    yield emulator, url
    emulator.close()


def test_T16_a_token_answer_naming_a_foreign_api_domain_gets_no_call(
    cli: Any, workdir: Path, served: tuple[ZohoCrmEmulator, str], foreign: ForeignHost
) -> None:
    emulator, url = served
    emulator.oauth.api_domain = foreign.url  # the token answer now names another host
    Path("spec.yaml").write_text(accounts_to_files("{name: Account_Name}", accounts_url=url))

    result = cli("run", "spec.yaml")

    assert result.exit_code != 0
    assert foreign.hits == []  # not even a connection: so no Authorization header either
    assert f"refused to call {foreign.url}" in result.output
    assert "learned from the token answer (api_domain)" in result.output
    assert emulator.calls().get("token") == 1
    assert not (workdir / "out/accounts.jsonl").exists()


def test_T16_the_host_written_in_the_spec_is_trusted(
    cli: Any, workdir: Path, served: tuple[ZohoCrmEmulator, str]
) -> None:
    # The served emulator answers api_domain = its own loopback URL, the accounts_url the
    # operator wrote: an on-premises or private host is fine when it is in the config.
    _emulator, url = served
    Path("spec.yaml").write_text(accounts_to_files("{name: Account_Name}", accounts_url=url))

    result = cli("run", "spec.yaml", "--json")

    assert result.exit_code == 0, result.output
    assert len(read_jsonl(workdir / "out/accounts.jsonl")) == 5
    assert json.loads(result.stdout)["status"] == "succeeded"


def client(trust: HostTrust, handler: Any = None) -> HttpClient:
    transport = httpx.MockTransport(handler) if handler else httpx.HTTPTransport()
    return HttpClient(
        httpx.Client(transport=transport),
        connection="desk",
        stats=CallStats(),
        clock=FakeClock(),
        trust=trust,
    )


def test_T16_a_next_page_or_redirect_url_to_a_foreign_host_is_refused_before_connecting(
    foreign: ForeignHost,
) -> None:
    config = {"url": "http://127.0.0.1:8080/sdp", "nested": {"other": ["https://sdp.example"]}}
    trust = HostTrust("desk", configured_origins(config), ("*.manageengine.com",))
    http = client(trust)

    for learned in ("a next-page URL", "a redirect (Location)"):
        with pytest.raises(ConnectorError) as caught:
            http.request("GET", f"{foreign.url}/api/v3/requesters?page=2", learned_from=learned)
        assert caught.value.code == "UNTRUSTED_HOST"
        assert f"refused to call {foreign.url}, learned from {learned}" in str(caught.value)

    assert foreign.hits == []
    assert http.stats.reads == 0  # refused before a call was even counted


def test_T16_vendor_domains_are_trusted_over_https_only_and_configured_hosts_exactly() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    trust = HostTrust(
        "crm",
        configured_origins({"accounts_url": "http://127.0.0.1:9000"}),
        ("www.zohoapis.eu", "*.manageengine.com"),
    )
    http = client(trust, handle)

    for url in (
        "https://www.zohoapis.eu/crm/v8/Accounts",
        "https://sdpondemand.manageengine.com/api/v3/requests",
        "http://127.0.0.1:9000/crm/v8/Accounts",
    ):
        assert http.request("GET", url).status_code == 200
    for url in (
        "http://www.zohoapis.eu/crm/v8/Accounts",  # the vendor, but in clear text
        "https://www.zohoapis.eu.evil.test/x",  # a look-alike
        "https://zohoapis.eu/x",  # not a documented host
        "http://127.0.0.1:9001/x",  # the configured host on another port
        "https://manageengine.com.evil.test/x",
    ):
        with pytest.raises(ConnectorError, match="refused to call"):
            http.request("GET", url)
    assert len(seen) == 3
