"""A Zoho CRM emulator with an httpx client on its in-process transport, sharing a fake
clock, for the emulator's own tests; and, for the tests that run specs against the
emulator, a spec's Zoho connection whose credentials come from `${env:ZOHO_...}`, the
variables that point it at an emulator, and the Accounts → files spec many of them run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from integrate import FakeClock
from integrate_zoho_crm.emulator import ZohoCrmEmulator

START = 1_790_000_000.0  # 2026-09-21T14:13:20+00:00
API = "https://www.zohoapis.com/crm/v8"
TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"


class Crm:
    """One emulator, one client, one access token (refreshed the way a connector would)."""

    def __init__(self, **options: Any):
        self.clock = FakeClock(START)
        self.emulator = ZohoCrmEmulator(clock=self.clock, **options)
        self.http = httpx.Client(transport=self.emulator.transport())
        self.token = self.refresh()["access_token"]

    def refresh(self, url: str = TOKEN_URL, **overrides: str) -> dict[str, Any]:
        params = {
            "grant_type": "refresh_token",
            "client_id": self.emulator.client_id,
            "client_secret": self.emulator.client_secret,
            "refresh_token": self.emulator.refresh_token,
            **overrides,
        }
        answer = self.http.post(url, params=params)
        assert answer.status_code == 200
        body: dict[str, Any] = answer.json()
        return body

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        api: str = API,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        auth = {"Authorization": f"Zoho-oauthtoken {token or self.token}"}
        return self.http.request(method, f"{api}{path}", headers=auth | (headers or {}), **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("DELETE", path, **kwargs)

    def ids(self, module: str) -> list[str]:
        return [str(r["id"]) for r in self.emulator.records(module)]


def error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def keyset_list_calls(records: list[dict[str, Any]], size: int = 200) -> int:
    """The list calls a full read by key costs for these records (the connector's keyset
    read, worked out independently): each page is a query from the second of the page
    before's last record, so the records of that second come again and take room."""
    import datetime as dt

    def second(record: dict[str, Any]) -> int:
        return int(dt.datetime.fromisoformat(record["Modified_Time"]).timestamp())

    order = sorted(records, key=lambda r: (second(r), int(r["id"])))
    seconds = [second(r) for r in order]
    calls, start = 0, 0
    while True:
        calls += 1
        end = start + size
        if end >= len(order):
            return calls
        last = seconds[end - 1]
        first_at = seconds.index(last, start)
        if first_at == start:
            raise ValueError("a whole page of one second: not worked out here")
        start = first_at


# ---- a spec's Zoho connection, pointed at an emulator ----------------------------------

CREDENTIALS = ("client_id", "client_secret", "refresh_token")


def zoho_connection(
    alias: str = "crm",
    *,
    data_center: str | None = None,
    accounts_url: str | None = None,
    limits: str | None = None,
    env: str = "ZOHO",
) -> str:
    """A spec's Zoho CRM connection, as it stands under `connections:` (no newline at its
    end), whose credentials are `${env:ZOHO_CLIENT_ID}`, `..._CLIENT_SECRET` and
    `..._REFRESH_TOKEN` (`env` is the prefix). `data_center`, `accounts_url` (a URL or a
    reference) and `limits` (what goes inside `limits: {...}`) are written when given."""
    lines = [f"  {alias}:", "    plugin: zoho_crm", "    config:"]
    if data_center is not None:
        lines.append(f"      data_center: {data_center}")
    if accounts_url is not None:
        lines.append(f"      accounts_url: {accounts_url}")
    lines += [f"      {key}: ${{env:{env}_{key.upper()}}}" for key in CREDENTIALS]
    if limits is not None:
        lines.append(f"    limits: {{{limits}}}")
    return "\n".join(lines)


def zoho_variables(config: Mapping[str, Any], env: str = "ZOHO") -> dict[str, str]:
    """The variables `zoho_connection(env=env)` reads, from the connection config of an
    emulator (`connection_config()`, or a served emulator's `config`): its credentials and,
    once it is served, its accounts server as `ZOHO_ACCOUNTS_URL`."""
    keys = ("accounts_url", *CREDENTIALS)
    return {f"{env}_{key.upper()}": str(config[key]) for key in keys if key in config}


def zoho_env(monkeypatch: pytest.MonkeyPatch, emulator: ZohoCrmEmulator, env: str = "ZOHO") -> None:
    """Set those variables for a run in this process: the emulator's credentials (and its
    accounts server when it is served)."""
    for name, value in zoho_variables(emulator.connection_config(), env).items():
        monkeypatch.setenv(name, value)


ACCOUNTS_TO_FILES = """\
integrate: 1
name: %(name)s
connections:
%(crm)s
  out: {plugin: files, config: {path: %(out)s}}
flows:
  accounts:
    from: crm.Accounts
    to: out.accounts
    match: [[Account_Name, name]]
    fields: %(fields)s
"""


def accounts_to_files(
    fields: str = "{name: Account_Name, phone: Phone}",
    *,
    name: str = "crm-to-files",
    out: str = "./out",
    **crm: Any,
) -> str:
    """A spec that reads Zoho CRM Accounts into a files folder (`out`), matched by name:
    what the tests of the Zoho connection itself (throttling, cut pages, token refreshes,
    learned hosts) run. `crm` goes to `zoho_connection`."""
    connection = zoho_connection(**crm)
    return ACCOUNTS_TO_FILES % {"name": name, "crm": connection, "out": out, "fields": fields}
