"""Hostile answers from a raw loopback server: one that trickles its body (limits.timeout is
the deadline of the whole call) and ones that answer far too much (limits.max_response_bytes,
gzip bombs included). Real sockets on 127.0.0.1 with small settings: each test ends in a
few seconds."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import ConnectorContext, ConnectorError, FakeClock
from integrate.engine.runner import RunFailed
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.plugins.zoho_crm.emulator_kit import zoho_connection, zoho_env
from tests.reliability.harness import run_in_process

KIB = 1024
MIB = 1024 * KIB


class RawServer:
    """A loopback HTTP server written by hand: each connection's request is read, then
    `answer(conn, server)` writes whatever it likes. Counts connections and bytes sent."""

    def __init__(self, answer: Callable[[socket.socket, RawServer], None]):
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.sent = 0
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            worker = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                self.answer(conn, self)
            except OSError:
                return  # the client went away: what these tests expect of it

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def close(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(5)
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Callable[[socket.socket, RawServer], None]) -> RawServer:
        server = RawServer(answer)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def trickle(every: float) -> Callable[[socket.socket, RawServer], None]:
    """Headers at once, then one byte of the body every `every` seconds (at most 20)."""

    def answer(conn: socket.socket, server: RawServer) -> None:
        server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        server.send(conn, b"Content-Length: 20\r\n\r\n")
        for _ in range(20):
            if server.stop.wait(every):
                return
            server.send(conn, b" ")

    return answer


class CountingTransport(httpx.BaseTransport):
    """The real HTTP transport, counting the body bytes the client took from the socket."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.taken = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        counter = self

        class Counted(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                for chunk in response.stream:
                    counter.taken += len(chunk)
                    yield chunk

            def close(self) -> None:
                response.close()

        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=Counted(),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


def http(limits: dict[str, Any], transport: httpx.BaseTransport | None = None) -> Any:
    """The HTTP layer as a plugin gets it, configured by a spec's `limits`."""
    context = ConnectorContext(connection="desk", limits=limits, transport=transport)
    return context.http()


# ---- point 7: the deadline of one call ------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "attempts"), [(0.3, 2), (2.0, 1)], ids=["between-chunks", "socket-wait"]
)
def test_a_trickling_answer_is_cut_at_the_deadline_and_a_read_is_retried(
    serve: Callable[..., RawServer], every: float, attempts: int
) -> None:
    server = serve(trickle(every))
    client = http({"timeout": 1, "max_attempts": attempts})
    started = time.monotonic()

    with pytest.raises(ConnectorError) as caught:
        client.request("GET", f"{server.url}/api/v3/requests")

    assert caught.value.code == "DEADLINE"
    tries = "2 attempts" if attempts == 2 else "1 attempt"
    assert f"gave up after {tries}: no whole answer within limits.timeout (1 s)" in str(
        caught.value
    )
    assert server.connections == attempts  # a read is tried again, up to max_attempts
    assert time.monotonic() - started < 4 * attempts  # not the 6-40 s the server would take


def test_a_write_cut_at_the_deadline_is_ambiguous_and_never_resent(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(trickle(0.3))
    client = http({"timeout": 1, "max_attempts": 3})

    with pytest.raises(ConnectorError) as caught:
        client.request("POST", f"{server.url}/api/v3/requests", json={"subject": "x"})

    assert caught.value.code == "AMBIGUOUS"
    assert "no whole answer within limits.timeout (1 s)" in str(caught.value)
    assert "may have been carried out" in str(caught.value)
    assert server.connections == 1


# ---- point 8: the size cap ----------------------------------------------------------------


def endless(conn: socket.socket, server: RawServer, head: bytes) -> None:
    """Send `head`, then zeros until the client hangs up (or 64 MiB)."""
    server.send(conn, head)
    block = b"0" * (64 * KIB)
    for _ in range(1024):
        if server.stop.is_set():
            return
        server.send(conn, block)


def test_an_answer_announced_larger_than_the_cap_is_refused_before_its_body(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(
        lambda conn, s: endless(conn, s, b"HTTP/1.1 200 OK\r\nContent-Length: 300000000\r\n\r\n")
    )
    transport = CountingTransport()
    client = http({"max_response_bytes": MIB}, transport)

    with pytest.raises(ConnectorError) as caught:
        client.request("GET", f"{server.url}/api/v3/requests")

    assert caught.value.code == "RESPONSE_TOO_LARGE"
    message = str(caught.value)
    assert "desk: GET 127.0.0.1/api/v3/requests" in message
    assert "larger than limits.max_response_bytes (1,048,576 bytes)" in message
    assert "Content-Length says 300,000,000 bytes" in message
    assert transport.taken == 0  # not a byte of the body was read
    assert server.connections == 1  # not retried


def test_an_answer_without_a_length_is_cut_at_the_cap_plus_one_chunk(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(
        lambda conn, s: endless(conn, s, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    )
    transport = CountingTransport()
    client = http({"max_response_bytes": MIB}, transport)

    with pytest.raises(ConnectorError, match="more than 1,048,576 bytes arrived") as caught:
        client.request("GET", f"{server.url}/api/v3/requests")

    assert caught.value.code == "RESPONSE_TOO_LARGE"
    assert MIB < transport.taken <= MIB + 64 * KIB  # the cap plus one chunk, no more


def test_a_gzip_bomb_is_counted_at_its_inflated_size(serve: Callable[..., RawServer]) -> None:
    bomb = gzip.compress(b"[" + b"0," * (4 * MIB) + b"0]", compresslevel=9)
    assert len(bomb) < 64 * KIB  # small on the wire: the Content-Length check cannot see it
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(bomb)}\r\n\r\n".encode()
    )
    server = serve(lambda conn, s: s.send(conn, head + bomb))
    client = http({"max_response_bytes": MIB})

    with pytest.raises(ConnectorError, match="more than 1,048,576 bytes arrived") as caught:
        client.request("GET", f"{server.url}/api/v3/requests", expect_json=True)

    assert caught.value.code == "RESPONSE_TOO_LARGE"


def test_an_answer_within_the_cap_is_read_whole_gzip_or_not(
    serve: Callable[..., RawServer],
) -> None:
    body = b'{"rows": [' + b",".join(b'"%d"' % i for i in range(50_000)) + b"]}"
    packed = gzip.compress(body)

    def answer(conn: socket.socket, server: RawServer) -> None:
        server.send(
            conn,
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
            + f"Content-Length: {len(packed)}\r\n\r\n".encode()
            + packed,
        )

    server = serve(answer)
    client = http({"max_response_bytes": len(body)})

    response = client.request("GET", f"{server.url}/x", expect_json=True)

    assert response.content == body
    assert len(response.json()["rows"]) == 50_000


SPEC = """\
integrate: 1
name: crm-to-files
connections:
%(crm)s
  out: {plugin: files, config: {path: ./out}}
flows:
  accounts:
    from: crm.Accounts
    to: out.accounts
    match: [[Account_Name, name]]
    fields:
      name: Account_Name
      owner: Owner.name
      created_by: Created_By.name
      modified_by: Modified_By.name
      description: Description
      street: Billing_Street
      city: Billing_City
      country: Billing_Country
      ship_street: Shipping_Street
      ship_city: Shipping_City
      ship_country: Shipping_Country
      website: Website
      phone: Phone
      industry: Industry
""" % {"crm": zoho_connection(limits="max_response_bytes: 130000")}  # noqa: UP031  (the braces are YAML's)


def test_a_page_over_the_cap_stops_the_run_and_lands_nowhere(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    # A page of 200 accounts with these fields is ~150 kB; the metadata answers are smaller.
    with ZohoCrmEmulator(clock=clock, accounts=200, seed=6) as emulator:
        zoho_env(monkeypatch, emulator)
        Path("spec.yaml").write_text(SPEC)

        with pytest.raises(RunFailed) as caught:
            run_in_process("spec.yaml", {"crm": emulator.transport()}, clock)

        assert caught.value.report.status == "failed"
        assert isinstance(caught.value.__cause__, ConnectorError)
        assert caught.value.__cause__.code == "RESPONSE_TOO_LARGE"
        error = caught.value.report.error
        assert "crm: GET www.zohoapis.com/crm/v8/Accounts" in error
        assert "limits.max_response_bytes (130,000 bytes)" in error
        assert "Content-Length says 148,002 bytes" in error
        assert emulator.calls()["list"] == 1  # refused, not retried
        assert not (workdir / "out/accounts.jsonl").exists()
