"""Calls to SALESmanago (targets.md §2.2-2.4): a JSON POST to `{api}/{method}` whose body
carries the authentication (clientId, apiKey, requestTime in ms, sha = SHA-1 of apiKey +
clientId + apiSecret, owner), answered with `success` and `message` even when it failed
(HTTP 200 + `success: false`).

What a failure is, is read from its message (the texts are ASSUMED, so the words are the
`error_messages` setting): refused credentials or owner stop the run with what to check
(`AuthError`); a rate limit is waited out like an HTTP 429; anything else is handed to the
caller, which fails the records concerned. Every call is safe to send again (reads, and
upserts keyed by email), so 5xx answers and timeouts are retried by the core's HTTP layer.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import (
    OK,
    RATE_LIMITED,
    RETRY,
    AuthError,
    ConnectorError,
    RetryPolicy,
    Secret,
)
from integrate_salesmanago.settings import Settings

if TYPE_CHECKING:
    from integrate import ConnectorContext, HttpAnswer

HEADERS = {"Accept": "application/json", "Content-Type": "application/json;charset=UTF-8"}
_FALSE = (b'"success":false', b'"success": false')


def messages(body: Mapping[str, Any]) -> list[str]:
    """The answer's `message` entries as text (a lone string counts as one)."""
    found = body.get("message")
    if isinstance(found, str):
        return [found]
    return [str(m) for m in found] if isinstance(found, list) else []


def mentions(texts: Sequence[str], words: Sequence[str]) -> bool:
    """Whether any text holds any of the words (ignoring case)."""
    return any(w.casefold() in t.casefold() for t in texts for w in words)


class SalesManagoApi:
    """One connection's way to SALESmanago: the auth block, the HTTP layer, the failures."""

    def __init__(self, settings: Settings, context: ConnectorContext):
        self.settings = settings
        self.context = context
        # One apiKey per connection (any text the caller chooses, §2.3); the sha it makes is
        # as good as the secret for whoever sees it, so it is a Secret too (never printed).
        self.api_key = str(uuid.uuid4())
        digest = hashlib.sha1(
            (self.api_key + settings.client_id + settings.api_secret.reveal()).encode("utf-8")
        ).hexdigest()
        self._sha = Secret(digest, "salesmanago sha")
        self.http = context.http(
            classify=self.classify,
            policy=RetryPolicy(max_attempts=6, backoff=1.0, backoff_max=60.0),
            concurrency=2,
            calls_per_minute=settings.requests_per_second * 60,
            headers=HEADERS,
        )

    # ---- the HTTP layer's view ------------------------------------------------------------

    def classify(self, answer: HttpAnswer) -> str:
        """429 and a rate-limit message inside a 200 wait; 5xx is retried; the rest goes to
        the caller, which reads `success`."""
        status = answer.status_code
        if status == 429:
            return RATE_LIMITED
        if status in (500, 502, 503, 504):
            return RETRY
        if status == 200 and any(f in answer.content for f in _FALSE):
            try:
                body = answer.json()
            except ValueError:
                return OK
            if isinstance(body, dict) and mentions(
                messages(body), self.settings.rate_limit_messages
            ):
                return RATE_LIMITED
        return OK

    # ---- calls ------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        body: Mapping[str, Any],
        *,
        kind: str,
        owner: str | None = None,
        what: str = "",
    ) -> dict[str, Any]:
        """POST one method with the auth block (and `owner`, the connection's unless given);
        the answer's body, whatever its `success`. Refused credentials or a refused owner of
        the connection raise AuthError; an answer that is not a JSON object ConnectorError."""
        settings = self.settings
        sent = {
            "clientId": settings.client_id,
            "apiKey": self.api_key,
            "requestTime": int(self.context.clock.now() * 1000),
            "sha": self._sha.reveal(),
            **({} if method.startswith("job/") else {"owner": owner or settings.owner}),
            **body,
        }
        label = method.removeprefix("contact/")
        answer = self.http.request(
            "POST",
            f"{settings.api}/{method}",
            kind=kind,
            label=label,
            idempotent=True,
            expect_json=True,
            json=sent,
        )
        doing = what or f"{method}"
        try:
            found = answer.json()
        except ValueError as exc:
            raise ConnectorError(
                f"{self.context.connection}: {doing}: SALESmanago answered {answer.status_code} "
                "with a body that is not JSON"
            ) from exc
        if not isinstance(found, dict):
            raise ConnectorError(
                f"{self.context.connection}: {doing}: SALESmanago answered {answer.status_code} "
                "with JSON that is not an object"
            )
        if found.get("success") is not True:
            self._stop_if_refused(found, owner, doing)
        if answer.status_code != 200:
            raise ConnectorError(
                f"{self.context.connection}: {doing}: SALESmanago answered "
                f"{answer.status_code} ({'; '.join(messages(found)) or 'no message'})",
                code=str(answer.status_code),
            )
        return found

    def _stop_if_refused(self, body: Mapping[str, Any], owner: str | None, doing: str) -> None:
        """Refused credentials, or the connection's own owner refused: nothing can work."""
        texts = messages(body)
        settings = self.settings
        connection = self.context.connection
        if mentions(texts, settings.auth_messages):
            raise AuthError(
                f"{connection}: SALESmanago did not accept the credentials for {doing} "
                f"({'; '.join(texts)}). Check client_id and api_secret (SALESmanago: Settings > "
                f"Integration) and that {settings.where} is the account's own server (server: "
                f"{settings.server}); another server refuses them",
                code="NOT_AUTHENTICATED",
            )
        if mentions(texts, settings.owner_messages) and self.is_main(owner):
            raise AuthError(
                f"{connection}: SALESmanago refused the owner {settings.owner} for {doing} "
                f"({'; '.join(texts)}). The owner setting must be the email of a user of this "
                "SALESmanago account",
                code="OWNER",
            )

    def is_main(self, owner: str | None) -> bool:
        """Whether `owner` is the connection's own owner (None: it is)."""
        return owner is None or owner.casefold() == self.settings.owner.casefold()

    def refused_owner(self, body: Mapping[str, Any]) -> bool:
        return body.get("success") is not True and mentions(
            messages(body), self.settings.owner_messages
        )

    def close(self) -> None:
        self.http.close()
