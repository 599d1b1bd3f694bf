"""The `api_domain` setting: a proxy in front of Zoho's API gets every API call, whatever
API domain the token answer names; empty, the token answer's stands (issue 14)."""

from __future__ import annotations

import httpx

from integrate import ConnectorContext, FakeClock
from integrate.oauth import MemoryTokenCache
from integrate_zoho_crm import ZohoCrmConnector
from integrate_zoho_crm.emulator import ZohoCrmEmulator

PROXY = "zoho-proxy.internal.example"


def hosts_of_reads(api_domain: str) -> tuple[list[str], int]:
    """The hosts the API calls of one read of Accounts were sent to, and how many records
    were read. A proxy at PROXY passes its calls on to Zoho's API domain, as a proxy does."""
    clock = FakeClock()
    sent: list[str] = []
    with ZohoCrmEmulator(clock=clock, accounts=5, seed=1) as emulator:
        zoho = emulator.transport()

        def network(request: httpx.Request) -> httpx.Response:
            if "/oauth/" not in request.url.path:
                sent.append(request.url.host)
            if request.url.host == PROXY:
                request = httpx.Request(
                    request.method,
                    request.url.copy_with(scheme="https", host="www.zohoapis.com", port=None),
                    headers=[(k, v) for k, v in request.headers.items() if k.lower() != "host"],
                    content=request.read(),
                )
            return zoho.handle_request(request)

        context = ConnectorContext(
            connection="crm",
            transport=httpx.MockTransport(network),
            clock=clock,
            tokens=MemoryTokenCache(),
        )
        config = {**emulator.connection_config(), "api_domain": api_domain}
        connector = ZohoCrmConnector(config, context)
        try:
            read = [r for page in connector.read("Accounts") for r in page.records]
        finally:
            connector.close()
    return sent, len(read)


def test_api_calls_go_to_the_configured_api_domain() -> None:
    hosts, read = hosts_of_reads(f"https://{PROXY}/")

    assert hosts
    assert set(hosts) == {PROXY}
    assert read == 5


def test_an_empty_api_domain_leaves_the_token_answers() -> None:
    hosts, read = hosts_of_reads("")

    assert hosts
    assert set(hosts) == {"www.zohoapis.com"}
    assert read == 5
