"""Who may call (targets.md §3.2): `POST /v1/auth` with `username` and `password` (a form,
JSON or the query string) answers an access token, sent back raw in `Authorization`; tokens
live `token_lifetime` seconds (12 hours) on the emulator's clock. Users have an admin flag:
one without admin rights reads but may not write (ASSUMED, 403).

Decided here (ASSUMED): usernames compare without case, passwords exactly; a user may hold
many live tokens at once; a header with a `Bearer ` prefix is not a token; the body wins over
the query string when both name a username."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from integrate import seeded_uuid
from integrate_clientsuccess.emulator.refusals import INVALID_LOGIN, CsError


@dataclass(frozen=True)
class User:
    """An account user the API knows: `employee_id` is the employee its writes are made by."""

    username: str
    password: str
    admin: bool
    employee_id: int


@dataclass(frozen=True)
class Session:
    token: str
    username: str
    expires: float  # on the emulator's clock


class Sessions:
    """The live access tokens: made from the seed and a counter (a restored emulator goes on
    counting, so it never hands out a token it handed out before)."""

    def __init__(self, seed: int, lifetime: float) -> None:
        self.seed = seed
        self.lifetime = lifetime
        self.made = 0
        self.live: dict[str, Session] = {}

    def open(self, user: User, now: float) -> dict[str, Any]:
        self.made += 1
        token = seeded_uuid(f"clientsuccess-token:{self.seed}:{self.made}")
        self.live[token] = Session(token, user.username, now + self.lifetime)
        for old in [t for t, s in self.live.items() if s.expires <= now]:
            del self.live[old]
        return {"access_token": token, "token_type": "Bearer", "expires_in": int(self.lifetime)}

    def holder(self, header: str | None, now: float) -> str | None:
        """The username a live token in `Authorization` belongs to, or None."""
        if not header:
            return None
        session = self.live.get(header.strip())
        if session is None or session.expires <= now:
            return None
        return session.username

    def expire_all(self) -> None:
        self.live.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "made": self.made,
            "live": [[s.token, s.username, s.expires] for s in self.live.values()],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self.made = int(state["made"])
        self.live = {t: Session(t, u, float(e)) for t, u, e in state["live"]}


def credentials(content_type: str, body: bytes, query: Mapping[str, str]) -> tuple[Any, Any]:
    """The username and password a call to `/auth` sends: in a JSON or form body, else in the
    query string."""
    sent: Mapping[str, Any] = {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if body and kind == "application/json":
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        sent = parsed if isinstance(parsed, dict) else {}
    elif body and kind == "application/x-www-form-urlencoded":
        try:
            sent = dict(parse_qsl(body.decode("utf-8"), max_num_fields=20))
        except (UnicodeDecodeError, ValueError):
            sent = {}
    if "username" not in sent:
        sent = {**sent, "username": query.get("username")}
    if "password" not in sent:
        sent = {**sent, "password": query.get("password")}
    return sent.get("username"), sent.get("password")


def login(users: list[User], username: Any, password: Any) -> User:
    """The user those credentials name, or a 401 that never says which one was wrong."""
    if isinstance(username, str) and isinstance(password, str):
        for user in users:
            same_password = hmac.compare_digest(password.encode(), user.password.encode())
            if user.username.casefold() == username.casefold() and same_password:
                return user
    raise CsError(401, INVALID_LOGIN)
