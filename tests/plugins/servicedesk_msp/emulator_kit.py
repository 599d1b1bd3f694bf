"""A ServiceDesk Plus MSP emulator with an httpx client on its in-process transport,
sharing a fake clock, for the emulator's own tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from integrate import FakeClock
from integrate_servicedesk_msp.emulator import ServiceDeskMspEmulator

START = 1_790_000_000.0  # 2026-09-21T14:13:20+00:00
V3 = "application/vnd.manageengine.sdp.v3+json"


class Sdp:
    """One emulator and one client that authenticates the way the deployment wants (a
    technician key on-premises, an OAuth token from the accounts server on the cloud)."""

    def __init__(self, **options: Any):
        self.clock = FakeClock(START)
        self.emulator = ServiceDeskMspEmulator(clock=self.clock, **options)
        self.http = httpx.Client(transport=self.emulator.transport(), base_url=self.emulator.url)
        self.cloud = self.emulator.deployment == "cloud"
        self.token = self.refresh()["access_token"] if self.cloud else ""
        self.prefix = f"/app/{self.emulator.portal}/api/v3" if self.cloud else "/api/v3"

    def refresh(self, **overrides: str) -> dict[str, Any]:
        params = {
            "grant_type": "refresh_token",
            "client_id": self.emulator.client_id,
            "client_secret": self.emulator.client_secret,
            "refresh_token": self.emulator.refresh_token,
            **overrides,
        }
        answer = self.http.post("https://accounts.zoho.com/oauth/v2/token", params=params)
        assert answer.status_code == 200
        body: dict[str, Any] = answer.json()
        return body

    def auth(self) -> dict[str, str]:
        if self.cloud:
            return {"Authorization": f"Zoho-oauthtoken {self.token}"}
        return {"authtoken": self.emulator.technician_key}

    def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        prefix: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = {"Accept": V3, **self.auth(), **(headers or {})}
        url = f"{self.prefix if prefix is None else prefix}{path}"
        return self.http.request(method, url, headers=sent, **kwargs)

    def get_all(
        self, module: str, *, prefix: str | None = None, **list_info: Any
    ) -> httpx.Response:
        params = {"input_data": json.dumps({"list_info": list_info})}
        return self.call("GET", f"/{module}", params=params, prefix=prefix)

    def rows(self, module: str, **list_info: Any) -> list[dict[str, Any]]:
        body = self.get_all(module, **list_info).json()
        assert body["response_status"] == [{"status_code": 2000, "status": "success"}], body
        rows: list[dict[str, Any]] = body[module]
        return rows

    def get(self, module: str, id: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", f"/{module}/{id}", **kwargs)

    def create(
        self, module: str, entity: str, data: dict[str, Any], **kwargs: Any
    ) -> httpx.Response:
        form = {"input_data": json.dumps({entity: data})}
        return self.call("POST", f"/{module}", data=form, **kwargs)

    def made(self, module: str, entity: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create and return the record, asserting success."""
        body = self.create(module, entity, data).json()
        assert body["response_status"] == {"status_code": 2000, "status": "success"}, body
        record: dict[str, Any] = body[entity]
        return record

    def update(
        self, module: str, entity: str, id: str, data: dict[str, Any], **kwargs: Any
    ) -> httpx.Response:
        form = {"input_data": json.dumps({entity: data})}
        return self.call("PUT", f"/{module}/{id}", data=form, **kwargs)

    def delete(self, module: str, id: str) -> httpx.Response:
        return self.call("DELETE", f"/{module}/{id}")


def failed(code: int, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """The failure envelope with one message (`message` None: whatever the text)."""
    item: dict[str, Any] = {"status_code": code, "type": "failed", **extra}
    if message is not None:
        item["message"] = message
    return {"response_status": {"status_code": 4000, "status": "failed", "messages": [item]}}


def refusal(answer: httpx.Response) -> tuple[int, int, dict[str, Any]]:
    """(HTTP status, inner status_code, the message) of a failed answer."""
    status = answer.json()["response_status"]
    assert status["status_code"] == 4000
    assert status["status"] == "failed"
    [message] = status["messages"]
    return answer.status_code, message["status_code"], message
