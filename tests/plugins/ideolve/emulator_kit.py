"""An Ideolve emulator and a plain httpx client on its in-process transport, sharing a fake
clock, for the emulator's own tests: requests are built here by hand, as targets.md §4 and the
ASSUMED decisions of docs/ideolve-plugin.md describe them, never by the plugin."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from integrate import FakeClock
from integrate_ideolve.emulator import IdeolveEmulator

START = 1_796_551_200.0  # 2026-12-06T10:00:00+00:00
API = "https://api.ideolve.com/v4"
BOT = "sales.bot@example.com"
ANNA = "anna.expert@example.com"
RAJ = "raj.expert@example.com"
CLIENT_ID = "ideolve-sandbox-client"
API_KEY = "ideolve-sandbox-key-5f3a9c"


def user_path(user: str) -> str:
    """`/user/{user}` with the e-mail address percent-encoded, as a client sends it."""
    return "/user/" + quote(user, safe="")


class Ideolve:
    """One emulated org (no workspace unless asked) and a client of it. Each call moves the
    clock on by `pace` seconds, as a client within the rate limit would."""

    def __init__(self, pace: float = 0.1, **options: Any):
        self.clock = FakeClock(START)
        self.emulator = IdeolveEmulator(clock=self.clock, **options)
        self.pace = pace
        self.http = httpx.Client(transport=self.emulator.transport())
        self.headers = {"Client-Id": CLIENT_ID, "Connector-Api-Key": API_KEY, "App-Name": "tests"}

    def call(
        self, method: str, path: str, *, user: str | None = BOT, **kwargs: Any
    ) -> httpx.Response:
        """`method` on `API + /user/<user> + path` (`user` None: `API + path` as given), with
        the three headers unless `headers` replaces them."""
        self.clock.advance(self.pace)
        headers = kwargs.pop("headers", self.headers)
        url = API + (user_path(user) if user is not None else "") + path
        return self.http.request(method, url, headers=headers, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        assert body["status"] == "SUCCESS", body
        return body

    def refused(self, method: str, path: str, status: int, **kwargs: Any) -> dict[str, Any]:
        """Call and return the envelope, asserting the status and the error's shape."""
        answer = self.call(method, path, **kwargs)
        assert answer.status_code == status, answer.text
        body: dict[str, Any] = answer.json()
        assert sorted(body) == ["reason", "status"], body
        return body

    def reason(self, method: str, path: str, status: int, **kwargs: Any) -> str:
        body = self.refused(method, path, status, **kwargs)
        reason: str = body["reason"]
        return reason

    def workspace(self, name: str = "Zoho CRM: Acme Org", user: str = BOT) -> str:
        made: str = self.ok("POST", "/workspace", user=user, json={"name": name})["workspaceid"]
        return made

    def note(self, workspace: str, user: str = BOT, **fields: Any) -> str:
        body = {"subject": "Deal: Acme renewal", "notehtmltext": "<p>12,000 USD</p>", **fields}
        made: str = self.ok("POST", f"/workspace/{workspace}/note", user=user, json=body)["noteid"]
        return made

    def get(self, workspace: str, note: str, user: str = BOT) -> dict[str, Any]:
        found: dict[str, Any] = self.ok("GET", f"/workspace/{workspace}/note/{note}", user=user)[
            "note"
        ]
        return found


def multipart(
    content: bytes, filename: str = "quote.pdf", name: str = "file", boundary: str = "b0undary"
) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with one part, built by hand, and its Content-Type."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"
    }
