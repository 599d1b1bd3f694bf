"""Calls to Ideolve's v4 API (targets.md §4): every call carries `Client-Id`,
`Connector-Api-Key` and `App-Name`, acts as the configured user (`{user}` in the path) and
answers the envelope `{"status": "SUCCESS"|"ERROR"|"UNAUTHORIZED"|"NOT_FOUND", "reason"?}`.

The auth check (`POST /user/{user}/auth`, CONFIRMED) runs once, before the connection's
first other call: a 500 there is a wrong client id / API key pair (CONFIRMED), raised as one
AuthError and never retried; a 401 is a missing header. Elsewhere 500/502/503/504 are server
errors, retried by the shared HTTP layer when the call is safe to resend; 429 (no
Retry-After, ASSUMED) is waited out for the whole connection. Any other refusal raises
`Refused` with Ideolve's reason, which writes turn into the record's failure."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from integrate import (
    OK,
    RATE_LIMITED,
    RETRY,
    AuthError,
    ConnectorError,
    RetryPolicy,
    path_segment,
)
from integrate_ideolve.settings import AUTH_PATH, Settings

if TYPE_CHECKING:
    from integrate import ConnectorContext, HttpAnswer

UPLOAD_TIMEOUT = 120.0  # seconds one call may take, an upload of 25 MB included


class Refused(ConnectorError):
    """Ideolve refused one call: its HTTP status and reason."""

    def __init__(self, message: str, *, status: int, reason: str):
        super().__init__(message, code=str(status))
        self.status = status
        self.reason = reason


class IdeolveApi:
    """One connection's way to Ideolve: the headers, the auth check, the refusals."""

    def __init__(self, settings: Settings, context: ConnectorContext):
        self.settings = settings
        self.context = context
        self.http = context.http(
            classify=self.classify,
            policy=RetryPolicy(
                max_attempts=5, backoff=1.0, backoff_max=30.0, timeout=UPLOAD_TIMEOUT
            ),
            concurrency=settings.concurrency,
            calls_per_minute=settings.requests_per_second * 60,
            headers={"Accept": "application/json"},
        )
        self.user = path_segment(settings.user)  # the email, percent-encoded (@ → %40)
        self._lock = threading.Lock()
        self._checked = False
        self.auth_checks = 0

    def headers(self) -> dict[str, str]:
        """The three headers every call carries (the key revealed only here)."""
        settings = self.settings
        return {
            "Client-Id": settings.client_id,
            "Connector-Api-Key": settings.api_key.reveal(),
            "App-Name": settings.app_name,
        }

    @staticmethod
    def classify(answer: HttpAnswer) -> str:
        """429 waits; a 5xx is retried (when safe to resend: the POST of the auth check never
        is); the rest goes to the caller."""
        status = answer.status_code
        if status == 429:
            return RATE_LIMITED
        if status in (500, 502, 503, 504):
            return RETRY
        return OK

    # ---- the auth check -------------------------------------------------------------------

    def check_auth(self) -> None:
        """`POST /user/{user}/auth`, once a connection (single flight)."""
        if self._checked:
            return
        with self._lock:
            if not self.checked():  # another thread may have checked meanwhile
                self._auth()
                self._checked = True

    def checked(self) -> bool:
        return self._checked

    def _auth(self) -> None:
        settings, connection = self.settings, self.context.connection
        url = settings.base_url + AUTH_PATH.format(user=self.user)
        answer = self.http.request(
            "POST", url, kind="auth", label="auth", idempotent=False, headers=self.headers()
        )
        self.auth_checks += 1
        status = answer.status_code
        if status == 200:
            return
        reason = answer.message("reason") or "no reason given"
        if status == 500:
            raise AuthError(
                f"{connection}: Ideolve refused the client id and API key ({status}: {reason}). "
                "Check the connection's client_id and api_key (the Client-Id and "
                "Connector-Api-Key of the Ideolve app)",
                code="BAD_CREDENTIALS",
            )
        if status == 401:
            raise AuthError(
                f"{connection}: Ideolve refused the call ({status}: {reason}); client_id, "
                "api_key and app_name must all be set",
                code="UNAUTHORIZED",
            )
        if status == 404:
            raise AuthError(
                f"{connection}: Ideolve does not know the user {settings.user} ({reason}); "
                "check the connection's user setting",
                code="UNKNOWN_USER",
            )
        raise AuthError(
            f"{connection}: Ideolve's auth check for {settings.user} answered {status}: {reason}",
            code=str(status),
        )

    # ---- calls ------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        label: str,
        what: str,
        json: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send one call to `{base_url}{path}` after the auth check; its JSON envelope. A
        refusal (any status but 200/201) raises Refused with Ideolve's reason."""
        self.check_auth()
        connection = self.context.connection
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        if json is not None:
            kwargs["json"] = json
        answer = self.http.request(
            method,
            f"{self.settings.base_url}{path}",
            kind=kind,
            label=label,
            expect_json=True,
            headers=headers,
            **kwargs,
        )
        status = answer.status_code
        if status not in (200, 201):
            reason = answer.message("reason") or "no reason given"
            if status == 500 and "Client-Id" in reason:
                raise AuthError(
                    f"{connection}: {what}: Ideolve refused the client id and API key "
                    f"({status}: {reason})",
                    code="BAD_CREDENTIALS",
                )
            raise Refused(
                f"{connection}: {what}: Ideolve answered {status}: {reason}",
                status=status,
                reason=reason,
            )
        try:
            body = answer.json()
        except ValueError as exc:
            raise ConnectorError(
                f"{connection}: {what}: Ideolve answered {status} with a body that is not JSON",
                code="NO_JSON",
            ) from exc
        if not isinstance(body, dict):
            raise ConnectorError(
                f"{connection}: {what}: Ideolve answered {status} with JSON that is not an object",
                code="NO_JSON",
            )
        return body

    def close(self) -> None:
        self.http.close()
