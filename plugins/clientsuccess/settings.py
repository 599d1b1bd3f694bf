"""The clientsuccess connection's settings: the JSON Schema a spec is checked against, and
`Settings`, the frozen values the connector works with (defaults filled in).

Every item targets.md §3 (and issue 12) marks ASSUMED that the client depends on is a
setting here with the documented default (docs/clientsuccess-plugin.md lists them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrate import Secret, reveal

BASE_URL = "https://api.clientsuccess.com/v1"
TOKEN_LIFETIME = 43200.0  # seconds a token lasts when the auth answer does not say (§3.2)
NO_ADMIN_STATUS = 403
NO_ADMIN_MESSAGES = ("Access is denied",)
INVALID_TOKEN_MESSAGES = ("invalidToken",)
CUSTOM_PREFIX = "cf_"

_LABELS = {"type": "array", "items": {"type": "string", "minLength": 1}}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "ClientSuccess's v1 REST API: clients and their contacts.",
    "required": ["username", "password"],
    "additionalProperties": False,
    "properties": {
        "username": {
            "type": "string",
            "minLength": 1,
            "description": "The ClientSuccess user the calls are made as (an admin user, CS-8).",
        },
        "password": {
            "type": "string",
            "minLength": 1,
            "x-secret": True,
            "description": "That user's password (sent to POST /auth only).",
        },
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": f"The API's address, /v1 included (default {BASE_URL}). ASSUMED.",
        },
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 16,
            "description": "Calls in flight at once (default 2, targets.md §3.6).",
        },
        "requests_per_second": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Calls a second at most (default 10). ASSUMED.",
        },
        "active_only": {
            "type": "boolean",
            "description": "Read only active clients (activeOnly=true); default false: all.",
        },
        "token_lifetime": {
            "type": "number",
            "minimum": 60,
            "description": "Seconds a token lasts when the auth answer has no expires_in (default 43200).",
        },
        "since_overlap": {
            "type": "number",
            "minimum": 0,
            "description": "Seconds before the last read's newest lastModifiedDate that a read looks again (default 2).",
        },
        "no_admin_status": {
            "type": "integer",
            "minimum": 400,
            "maximum": 499,
            "description": "The HTTP status of a write refused to a user without admin rights (default 403). ASSUMED.",
        },
        "no_admin_messages": {
            **_LABELS,
            "description": 'Words in its userMessage (default ["Access is denied"]; [] : any). ASSUMED.',
        },
        "invalid_token_messages": {
            **_LABELS,
            "description": 'Words in a userMessage that mean "log in again" (default ["invalidToken"]).',
        },
        "client_custom_fields": {
            **_LABELS,
            "description": "Labels of client custom fields the spec maps (known offline; others are found at run time).",
        },
        "contact_custom_fields": {
            **_LABELS,
            "description": "Labels of contact custom fields the spec maps (known offline; others are found at run time).",
        },
        "metadata_ttl": {
            "type": "number",
            "minimum": 0,
            "description": "Seconds the custom field lists are kept between runs (default 3600; 0: read every run).",
        },
    },
}


def custom_name(label: str) -> str:
    """The field name of a custom field: `cf_` and its label in lower case, each run of
    other characters than ASCII letters and digits as one `_` ("Zoho Owner" → cf_zoho_owner)."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return f"{CUSTOM_PREFIX}{slug}"


@dataclass(frozen=True)
class Settings:
    """A connection's settings with their defaults. `password` stays a Secret."""

    username: str
    password: Secret
    base_url: str = BASE_URL
    concurrency: int = 2
    requests_per_second: float = 10.0
    active_only: bool = False
    token_lifetime: float = TOKEN_LIFETIME
    since_overlap: float = 2.0
    no_admin_status: int = NO_ADMIN_STATUS
    no_admin_messages: tuple[str, ...] = NO_ADMIN_MESSAGES
    invalid_token_messages: tuple[str, ...] = INVALID_TOKEN_MESSAGES
    client_custom_fields: tuple[str, ...] = ()
    contact_custom_fields: tuple[str, ...] = ()
    metadata_ttl: float = 3600.0

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Settings:
        password = config["password"]
        return cls(
            username=str(reveal(config["username"])),
            password=password
            if isinstance(password, Secret)
            else Secret(str(password), "clientsuccess password"),
            base_url=str(reveal(config.get("base_url") or BASE_URL)).rstrip("/"),
            concurrency=int(config.get("concurrency", 2)),
            requests_per_second=float(config.get("requests_per_second", 10.0)),
            active_only=bool(config.get("active_only", False)),
            token_lifetime=float(config.get("token_lifetime", TOKEN_LIFETIME)),
            since_overlap=float(config.get("since_overlap", 2.0)),
            no_admin_status=int(config.get("no_admin_status", NO_ADMIN_STATUS)),
            no_admin_messages=tuple(config.get("no_admin_messages", NO_ADMIN_MESSAGES)),
            invalid_token_messages=tuple(
                config.get("invalid_token_messages", INVALID_TOKEN_MESSAGES)
            ),
            client_custom_fields=tuple(config.get("client_custom_fields") or ()),
            contact_custom_fields=tuple(config.get("contact_custom_fields") or ()),
            metadata_ttl=float(config.get("metadata_ttl", 3600.0)),
        )
