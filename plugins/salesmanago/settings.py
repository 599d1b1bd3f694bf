"""The salesmanago connection's settings: the JSON Schema a spec is checked against, and
`Settings`, the frozen values the connector works with (defaults filled in).

Every item targets.md §2 marks ASSUMED that the client depends on is a setting here with the
documented default (docs/salesmanago-plugin.md lists them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrate import Secret, reveal

MAX_PAGE = 100  # records received per request (SM-7; targets.md §2.7: id arrays of 100)
MAX_BATCH = 200  # records sent per request (SM-7)
DOMAINS = ("salesmanago.com", "salesmanago.pl")
AUTH_MESSAGES = ("Not authenticated",)
OWNER_MESSAGES = ("owner",)
RATE_LIMIT_MESSAGES = ("Too many requests",)

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "SALESmanago's contact API (REST v2, JSON over POST).",
    "required": ["client_id", "api_secret", "owner"],
    "anyOf": [{"required": ["server"]}, {"required": ["base_url"]}],
    "additionalProperties": False,
    "properties": {
        "server": {
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9-]*$",
            "description": "The account's server: www, app2, app3 ... (the API is https://{server}.{domain}/api/).",
        },
        "domain": {
            "enum": list(DOMAINS),
            "description": "The server's domain: salesmanago.com (default) or salesmanago.pl.",
        },
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "The API's address instead of the server's (an emulator, a proxy); /api/ is added.",
        },
        "client_id": {"type": "string", "minLength": 1, "description": "The account's client id."},
        "api_secret": {
            "type": "string",
            "minLength": 1,
            "x-secret": True,
            "description": "The API secret (Settings > Integration); never sent, only hashed.",
        },
        "owner": {
            "type": "string",
            "minLength": 3,
            "description": "The email of the SALESmanago user the calls are made as (the main user).",
        },
        "users": {
            "type": "array",
            "items": {"type": "string", "minLength": 3},
            "description": "Emails of the account's users, for the users object (default: the owner).",
        },
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PAGE,
            "description": f"Contacts received per request, at most {MAX_PAGE} (the default).",
        },
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_BATCH,
            "description": f"Contacts sent per batchupsert, at most {MAX_BATCH} (the default).",
        },
        "requests_per_second": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Calls a second at most (default 20). ASSUMED.",
        },
        "clock_skew": {
            "type": "number",
            "minimum": 0,
            "description": "Seconds SALESmanago's clock may be behind or ahead of this machine's (default 60).",
        },
        "modified_method": {
            "type": "string",
            "pattern": "^[A-Za-z0-9/]+$",
            "description": "The method that pages modified contacts (default contact/paginatedModifiedContacts). ASSUMED.",
        },
        "modified_key": {
            "type": "string",
            "minLength": 1,
            "description": "The list key of paginatedModifiedContacts answers (default modifiedContacts). ASSUMED.",
        },
        "tags_key": {
            "type": "string",
            "minLength": 1,
            "description": "The key of a read contact's tags (default contactTags). ASSUMED.",
        },
        "properties_key": {
            "type": "string",
            "minLength": 1,
            "description": "The key of a read contact's properties (default properties). ASSUMED.",
        },
        "owner_key": {
            "type": "string",
            "minLength": 1,
            "description": "The key of a read contact's owner email (default owner). ASSUMED.",
        },
        "error_messages": {
            "type": "object",
            "additionalProperties": False,
            "description": "Words in SALESmanago's failure messages that tell their kind. ASSUMED.",
            "properties": {
                "auth": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "owner": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "rate_limit": {"type": "array", "items": {"type": "string", "minLength": 1}},
            },
        },
    },
}


@dataclass(frozen=True)
class Settings:
    """A connection's settings with their defaults. `api_secret` stays a Secret."""

    api: str  # https://{server}.{domain}/api (or base_url + /api)
    server: str
    client_id: str
    api_secret: Secret
    owner: str
    users: tuple[str, ...]
    page_size: int = MAX_PAGE
    batch_size: int = MAX_BATCH
    requests_per_second: float = 20.0
    clock_skew: float = 60.0
    modified_method: str = "contact/paginatedModifiedContacts"
    modified_key: str = "modifiedContacts"
    tags_key: str = "contactTags"
    properties_key: str = "properties"
    owner_key: str = "owner"
    auth_messages: tuple[str, ...] = AUTH_MESSAGES
    owner_messages: tuple[str, ...] = OWNER_MESSAGES
    rate_limit_messages: tuple[str, ...] = RATE_LIMIT_MESSAGES

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Settings:
        server = str(reveal(config.get("server") or "www"))
        base = config.get("base_url")
        if base:
            api = f"{str(reveal(base)).rstrip('/')}/api"
        else:
            api = f"https://{server}.{config.get('domain') or DOMAINS[0]}/api"
        secret = config["api_secret"]
        owner = str(reveal(config["owner"]))
        users = [str(reveal(u)) for u in config.get("users") or []]
        messages = config.get("error_messages") or {}
        return cls(
            api=api,
            server=server,
            client_id=str(reveal(config["client_id"])),
            api_secret=secret if isinstance(secret, Secret) else Secret(str(secret), "api_secret"),
            owner=owner,
            users=tuple(dict.fromkeys([owner, *users], None)),
            page_size=min(int(config.get("page_size", MAX_PAGE)), MAX_PAGE),
            batch_size=min(int(config.get("batch_size", MAX_BATCH)), MAX_BATCH),
            requests_per_second=float(config.get("requests_per_second", 20.0)),
            clock_skew=float(config.get("clock_skew", 60.0)),
            modified_method=str(config.get("modified_method", "contact/paginatedModifiedContacts")),
            modified_key=str(config.get("modified_key", "modifiedContacts")),
            tags_key=str(config.get("tags_key", "contactTags")),
            properties_key=str(config.get("properties_key", "properties")),
            owner_key=str(config.get("owner_key", "owner")),
            auth_messages=tuple(messages.get("auth", AUTH_MESSAGES)),
            owner_messages=tuple(messages.get("owner", OWNER_MESSAGES)),
            rate_limit_messages=tuple(messages.get("rate_limit", RATE_LIMIT_MESSAGES)),
        )

    @property
    def where(self) -> str:
        """What the credentials were sent to, for error messages."""
        return self.api.removesuffix("/api")
