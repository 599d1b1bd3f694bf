"""A ClientSuccess emulator and a plain httpx client on its in-process transport, sharing a
fake clock, for the emulator's own tests: requests are built here by hand, as targets.md §3
and the ASSUMED decisions of docs/clientsuccess-plugin.md describe them, never by the plugin."""

from __future__ import annotations

from typing import Any

import httpx

from integrate import FakeClock
from integrate_clientsuccess.emulator import ClientSuccessEmulator

START = 1_796_551_200.0  # 2026-12-06T10:00:00+00:00
API = "https://api.clientsuccess.com/v1"
ADMIN = ("api@clientsuccess.example", "cs-sandbox-admin")
READER = ("viewer@clientsuccess.example", "cs-sandbox-viewer")


class Cs:
    """One emulated account (no generated data unless asked) and a client of it. Each call
    moves the clock on by `pace` seconds, as a client within the rate limit would."""

    def __init__(self, pace: float = 0.2, **options: Any):
        self.clock = FakeClock(START)
        options.setdefault("clients", 0)
        self.emulator = ClientSuccessEmulator(clock=self.clock, **options)
        self.pace = pace
        self.http = httpx.Client(transport=self.emulator.transport())
        self._tokens: dict[str, str] = {}

    def login(self, user: tuple[str, str] = ADMIN) -> str:
        """A fresh token for `user` (credentials as a form, as §3.5 shows)."""
        answer = self.call(
            "POST", "/auth", token=None, data={"username": user[0], "password": user[1]}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def token(self, user: tuple[str, str] = ADMIN) -> str:
        if user[0] not in self._tokens:
            self._tokens[user[0]] = self.login(user)
        return self._tokens[user[0]]

    def call(
        self, method: str, path: str, *, token: str | tuple[str, str] | None = ADMIN, **kwargs: Any
    ) -> httpx.Response:
        """`method` on `API + path`; `token` is a user (logged in once), a raw token or None
        (no Authorization header)."""
        self.clock.advance(self.pace)
        headers = dict(kwargs.pop("headers", {}))
        if isinstance(token, tuple):
            token = self.token(token)
        if token is not None:
            headers["Authorization"] = token
        return self.http.request(method, API + path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == status, answer.text
        return answer.json() if answer.content else None

    def refused(self, method: str, path: str, status: int, **kwargs: Any) -> str:
        """Call and return the userMessage, asserting the status and the error shape (§3.5)."""
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == status, answer.text
        body = answer.json()
        assert list(body) == ["userMessage"], body
        message: str = body["userMessage"]
        return message

    def client(self, **fields: Any) -> dict[str, Any]:
        """A new client made through the API."""
        body = {"name": "Acme Corp", **fields}
        made: dict[str, Any] = self.ok("POST", "/clients", 201, json=body)
        return made

    def contact(self, client_id: int, **fields: Any) -> dict[str, Any]:
        body = {"firstName": "Jane", "lastName": "Doe", "email": "jane.doe@acme.example", **fields}
        made: dict[str, Any] = self.ok("POST", f"/clients/{client_id}/contacts", json=body)
        return made


def custom(record: dict[str, Any]) -> dict[str, Any]:
    """A detail's custom values by label."""
    return {item["label"]: item["value"] for item in record["customFieldValues"]}
