"""A SALESmanago emulator and a plain httpx client on its in-process transport, sharing a
fake clock, for the emulator's own tests: bodies are built here by hand, as targets.md §2
describes them, never by the plugin."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import httpx

from integrate import FakeClock
from integrate_salesmanago.emulator import SalesManagoEmulator

START = 1_790_000_000.0  # 2026-09-21T14:13:20+00:00
OWNER = "sales@vendor.example"
HEADERS = {"Accept": "application/json", "Content-Type": "application/json;charset=UTF-8"}


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class Sm:
    """One emulated account (server app3) and a client that signs its bodies (§2.3). Each
    call moves the clock on by `pace` seconds, as a client within the rate limit would."""

    def __init__(self, pace: float = 0.1, **options: Any):
        self.clock = FakeClock(START)
        options.setdefault("server", "app3")
        self.emulator = SalesManagoEmulator(clock=self.clock, **options)
        self.pace = pace
        self.http = httpx.Client(transport=self.emulator.transport())

    def auth(self, **overrides: Any) -> dict[str, Any]:
        """clientId, a fresh apiKey, requestTime in ms, sha and owner (§2.3)."""
        api_key = str(uuid.uuid4())
        client_id = self.emulator.client_id
        block: dict[str, Any] = {
            "clientId": client_id,
            "apiKey": api_key,
            "requestTime": int(self.clock.now() * 1000),
            "sha": sha1(api_key + client_id + self.emulator.api_secret),
            "owner": OWNER,
        }
        block.update(overrides)
        return {k: v for k, v in block.items() if v is not ...}

    def post(
        self,
        method: str,
        body: dict[str, Any] | None = None,
        *,
        host: str = "app3.salesmanago.com",
        auth: dict[str, Any] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        self.clock.advance(self.pace)
        url = f"https://{host}/api/{method}"
        if content is not None:
            return self.http.post(url, content=content, headers=HEADERS)
        sent = {**(self.auth() if auth is None else auth), **(body or {})}
        # json.dumps, not httpx's json=: an attacker's NaN and Infinity go out as written
        return self.http.post(url, content=json.dumps(sent).encode(), headers=HEADERS)

    def ok(self, method: str, body: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Call and return the body, asserting HTTP 200 and success."""
        answer = self.post(method, body, **kwargs)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        assert found["success"] is True, found
        assert found["message"] == [], found
        return found

    def refused(self, method: str, body: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
        """Call and return the messages, asserting HTTP 200 and `success: false` (§2.4)."""
        answer = self.post(method, body, **kwargs)
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert found["success"] is False, found
        assert isinstance(found["message"], list), found
        assert found["message"], found
        assert all(isinstance(m, str) for m in found["message"])
        messages: list[str] = found["message"]
        return messages

    def upsert(self, contact: dict[str, Any], **extra: Any) -> str:
        found = self.ok("contact/upsert", {"contact": contact, **extra})
        contact_id: str = found["contactId"]
        return contact_id

    def listed(self, *emails: str) -> list[dict[str, Any]]:
        contacts: list[dict[str, Any]] = self.ok("contact/list", {"email": list(emails)})[
            "contacts"
        ]
        return contacts

    def one(self, email: str) -> dict[str, Any]:
        [contact] = self.listed(email)
        return contact
