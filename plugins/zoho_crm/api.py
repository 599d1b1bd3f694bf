"""One Zoho CRM connection's API, as a value the connector's parts share: calls go to the
host the token answer named (api_domain), every path segment escaped, and Zoho's error
answers become the core's exceptions. Metadata, reads, writes and the rest get this, never
the connector itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from integrate import (
    AUTH_EXPIRED,
    OK,
    RATE_LIMITED,
    RETRY,
    AuthError,
    ConnectorError,
    path_segment,
    token_classifier,
)

if TYPE_CHECKING:
    from integrate import HttpAnswer, HttpClient, OAuth2

API = "/crm/v8"
API_DOMAIN_SOURCE = "the token answer (api_domain)"
# Codes that say "these credentials lack the rights" rather than "try again".
DENIED = ("OAUTH_SCOPE_MISMATCH", "NO_PERMISSION", "AUTHORIZATION_FAILED", "NOT_SUPPORTED")


def zoho_classifier(response: HttpAnswer) -> str:
    """Token endpoints answer errors in HTTP 200; the API says INVALID_TOKEN (or
    AUTHENTICATION_FAILURE) for an expired token and TOO_MANY_REQUESTS with 429."""
    if "/oauth/" in response.path:
        return token_classifier(response)
    status = response.status_code
    if status == 429:
        return RATE_LIMITED
    if status >= 500:
        return RETRY
    if status == 401 and _code(response) in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE"):
        return AUTH_EXPIRED
    return OK


def _code(response: HttpAnswer) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


@dataclass(frozen=True)
class ZohoApi:
    """The connection's HTTP client (signed by `auth`), where its calls go and how Zoho's
    errors read. `default_domain` is the data centre's API host, used until a token answer
    names one; `environment` (production, sandbox, developer) picks the org's host."""

    http: HttpClient
    auth: OAuth2
    connection: str
    default_domain: str
    environment: str = "production"
    configured_domain: str = ""  # the `api_domain` setting: a proxy in front of Zoho's API

    @property
    def domain(self) -> str:
        """The `api_domain` setting when given, else always the api_domain the token answer
        gave (tokens only work there)."""
        if self.configured_domain:
            domain = self.configured_domain.rstrip("/")
        else:
            if self.auth.token() is None:
                self.auth.headers()
            domain = str(self.auth.extra.get("api_domain") or self.default_domain).rstrip("/")
        if self.environment != "production" and "://www." in domain:
            domain = domain.replace("://www.", f"://{self.environment}.", 1)
        return domain

    def url(self, path: str | tuple[str, ...]) -> str:
        """The API URL of `path`: one segment (a module name) or a tuple of segments; each
        is escaped, so a module name or an id from data never reaches another path."""
        segments = (path,) if isinstance(path, str) else path
        return f"{self.domain}{API}/{'/'.join(path_segment(p) for p in segments)}"

    def headers(self) -> dict[str, str]:
        """The Authorization header of a call made outside `http` (a streamed download)."""
        return self.auth.headers()

    def call(
        self,
        method: str,
        path: str | tuple[str, ...],
        *,
        kind: str = "read",
        label: str = "",
        **kwargs: Any,
    ) -> HttpAnswer:
        """One API call through the HTTP layer (retries, limits, counting)."""
        return self.http.request(
            method,
            self.url(path),
            kind=kind,
            label=label,
            expect_json=True,
            learned_from=API_DOMAIN_SOURCE,
            **kwargs,
        )

    def error(self, response: HttpAnswer, what: str) -> ConnectorError:
        """A request-level error as the core's exception, with Zoho's code and message."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = (
            str(body.get("code", response.status_code))
            if isinstance(body, dict)
            else str(response.status_code)
        )
        message = body.get("message", "") if isinstance(body, dict) else ""
        text = f"{self.connection}: {what}: {code}{f' ({message})' if message else ''}"
        if code in DENIED or response.status_code == 403:
            return AuthError(
                text
                + "; the connected Zoho user lacks the rights (check its profile and the scopes)",
                code=code,
            )
        return ConnectorError(text, code=code, retriable=response.status_code >= 500)
