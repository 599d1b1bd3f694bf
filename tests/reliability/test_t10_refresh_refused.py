"""T10: the refresh is refused (`invalid_code`: the refresh token was revoked): the run stops
at once as `failed` with the code NEEDS_REAUTH and a non-zero exit, and makes no further API
call: no retry loop against a credential that will not come back. A real loopback emulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from integrate_zoho_crm.emulator import ZohoCrmEmulator
from tests.plugins.zoho_crm.emulator_kit import accounts_to_files, zoho_env


class RevokedMidRun(ZohoCrmEmulator):
    """The emulator, where the user revokes the integration's access (the refresh token and
    every access token it gave) just as the first page is asked for."""

    revoke_on_list = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.revoke_on_list and environ.get("PATH_INFO", "").endswith("/Accounts"):
            self.revoke_on_list = False
            with self.lock:
                self.oauth.revoke({"token": self.refresh_token})
        return super().__call__(environ, start_response)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> Any:
    emulator = RevokedMidRun(accounts=5, seed=10)
    url = emulator.serve()
    zoho_env(monkeypatch, emulator)
    Path("spec.yaml").write_text(accounts_to_files("{name: Account_Name}", accounts_url=url))
    yield emulator
    emulator.close()


def test_T10_a_refused_refresh_mid_run_fails_the_run_with_needs_reauth_and_stops_calling(
    cli: Any, served: RevokedMidRun
) -> None:
    served.revoke_on_list = True
    started = time.monotonic()

    result = cli("run", "spec.yaml", "--json")

    assert time.monotonic() - started < 10
    assert result.exit_code != 0
    report = json.loads(result.stdout)
    assert report["status"] == "failed"
    assert report["error_code"] == "NEEDS_REAUTH"
    assert "invalid_code" in report["error"]
    assert "integrate auth crm" in report["error"]
    calls = [(e.kind, e.status) for e in served.log]
    # The page was refused (401), the one refresh was refused (Zoho says so in a 200), and
    # nothing was called after it.
    assert calls[-2:] == [("list", 401), ("token", 200)]
    assert [kind for kind, _ in calls].count("token") == 2  # the first token, the refused one


def test_T10_a_refused_refresh_at_the_start_stops_before_any_api_call(
    cli: Any, served: RevokedMidRun
) -> None:
    with served.lock:
        served.oauth.revoke({"token": served.refresh_token})

    result = cli("run", "spec.yaml")

    assert result.exit_code != 0
    assert "the token endpoint refused: invalid_code" in result.output
    assert "integrate auth crm" in result.output
    assert [e.kind for e in served.log] == ["token"]  # and nothing after it
    # The run is in the history, failed, with its reason (an operator sees why cron's run
    # did nothing).
    shown = cli("state", "show", "spec.yaml", "--json")
    [last] = json.loads(shown.stdout)["runs"][:1]
    assert last["status"] == "failed"
    assert "invalid_code" in last["message"]
    assert last["stats"]["error_code"] == "NEEDS_REAUTH"
