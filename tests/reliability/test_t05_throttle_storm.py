"""T5: a throttle storm (429 without Retry-After for 60 s) is waited out, slowly, and the run
succeeds; a 429 slows the whole connection; patience and the call budget still end a storm
that does not end. Emulator and client share one fake clock: no test waits for real."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrate import CallStats, ConnectorError, FakeClock, HttpClient, RetryPolicy
from integrate.engine.runner import RunReport
from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.conftest import read_jsonl
from tests.plugins.zoho_crm.emulator_kit import accounts_to_files, zoho_env
from tests.reliability.harness import run_in_process, scale


def run(
    monkeypatch: pytest.MonkeyPatch, emulator: ZohoCrmEmulator, clock: FakeClock, limits: str = ""
) -> RunReport:
    zoho_env(monkeypatch, emulator)
    Path("spec.yaml").write_text(accounts_to_files(limits=limits))
    return run_in_process("spec.yaml", {"crm": emulator.transport()}, clock)


def storm(clock: FakeClock, seconds: float = 60.0, accounts: int = 30) -> ZohoCrmEmulator:
    """A Zoho org that answers 429 (no Retry-After, as Zoho) to every API call for a minute."""
    return ZohoCrmEmulator(
        clock=clock,
        accounts=accounts,
        seed=5,
        faults={"throttle_for": seconds, "retry_after": None, "spare": ["token"]},
    )


def test_T5_throttle_storm_of_a_minute_is_waited_out_and_the_run_succeeds(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    accounts = scale(30, 2000)
    with storm(clock, accounts=accounts) as emulator:
        report = run(monkeypatch, emulator, clock)

        assert report.status == "succeeded"
        assert len(read_jsonl(workdir / "out/accounts.jsonl")) == accounts
        api = [e for e in emulator.log if e.kind != "token"]
        start = api[0].at
        in_storm = [e for e in api if e.at < start + 60]
        assert all(e.status == 429 for e in in_storm)
        assert len(in_storm) <= 15  # no tight loop: well under 1 request a second
        assert api[len(in_storm)].status == 200  # the first call after the storm is served
        assert report.calls["crm"]["seconds_waited"] >= 60


def test_T5_a_storm_longer_than_the_patience_stops_the_run_with_a_clear_error(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    with storm(clock, seconds=3600) as emulator:
        with pytest.raises(ConnectorError) as caught:
            run(monkeypatch, emulator, clock, limits="rate_limit_patience: 120")

        assert caught.value.code == "RATE_LIMITED"
        assert "limits.rate_limit_patience (120 s) is spent" in str(caught.value)
        api = [e for e in emulator.log if e.kind != "token"]
        assert api[-1].at - api[0].at <= 120
        assert len(api) <= 10
        assert not (workdir / "out/accounts.jsonl").exists()


def test_T5_the_call_budget_ends_a_storm_too(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    with storm(clock, seconds=3600) as emulator:
        with pytest.raises(ConnectorError, match="call budget of 5 calls"):
            run(monkeypatch, emulator, clock, limits="max_calls: 5")

        assert len(emulator.log) <= 5


class HoldingClock(FakeClock):
    """A fake clock whose first sleep really waits until released, as a long pause would:
    it lets another thread act while the first is still waiting out its 429."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = threading.Event()
        self.release = threading.Event()
        self._first = True

    def sleep(self, seconds: float) -> None:
        if self._first and seconds > 0:
            self._first = False
            self.sleeping.set()
            self.release.wait(5)
        super().sleep(seconds)


def test_T5_a_429_slows_every_call_of_the_connection_not_just_its_own() -> None:
    clock = HoldingClock()
    seen: list[tuple[str, float]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, clock.now()))
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "30"})
        return httpx.Response(200, json={})

    http = HttpClient(
        httpx.Client(transport=httpx.MockTransport(handle)),
        connection="crm",
        stats=CallStats(),
        clock=clock,
        policy=RetryPolicy(backoff=0.5),
    )
    start = clock.now()
    results: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: results.setdefault("a", http.request("GET", "http://x/a"))
    )
    first.start()
    assert clock.sleeping.wait(5)  # the first call is waiting out its 429

    second = http.request("GET", "http://x/b")  # another thread of the same connection

    clock.release.set()
    first.join(5)
    assert second.status_code == 200
    assert results["a"].status_code == 200
    when = dict(reversed(seen))  # the first time each path was asked for
    assert when["/b"] >= start + 30  # /b waited for the pause /a's 429 started
