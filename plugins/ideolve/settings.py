"""The ideolve connection's settings: the JSON Schema a spec is checked against, and
`Settings`, the frozen values the connector works with (defaults filled in).

Only the auth call's path is confirmed (targets.md §4.3); every other path is a template
setting with the §4.4 default (ASSUMED), and so are the limits the vendor does not publish
(docs/ideolve-plugin.md lists them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integrate import Secret, reveal

BASE_URL = "https://api.ideolve.com/v4"
AUTH_PATH = "/user/{user}/auth"  # CONFIRMED (§4.3): not a setting
MAX_ATTACHMENT = 25 * 1024 * 1024  # 26,214,400 bytes (§4.4, ASSUMED)

# Every path beyond the auth call (§4.4, ASSUMED): the setting's key and its default.
PATHS: dict[str, str] = {
    "workspaces": "/user/{user}/workspaces",
    "create_workspace": "/user/{user}/workspace",
    "create_note": "/user/{user}/workspace/{workspaceid}/note",
    "note": "/user/{user}/workspace/{workspaceid}/note/{noteid}",
    "comment": "/user/{user}/workspace/{workspaceid}/note/{noteid}/comment",
    "attachment": "/user/{user}/workspace/{workspaceid}/note/{noteid}/attachment",
}
# The placeholders each template may use (an unknown one is a spec error, found offline).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "workspaces": ("user",),
    "create_workspace": ("user",),
    "create_note": ("user", "workspaceid"),
    "note": ("user", "workspaceid", "noteid"),
    "comment": ("user", "workspaceid", "noteid"),
    "attachment": ("user", "workspaceid", "noteid"),
}
ROLES = ("reader", "contributor")

_NAME = {"type": "string", "minLength": 1}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Ideolve's v4 REST API: notes in a workspace, their comments and attachments.",
    "required": ["client_id", "api_key", "user", "workspace"],
    "additionalProperties": False,
    "properties": {
        "client_id": {
            **_NAME,
            "description": "The Client-Id from the Ideolve app (sent in the Client-Id header; ID-6).",
        },
        "api_key": {
            **_NAME,
            "x-secret": True,
            "description": "The Connector-Api-Key from the Ideolve app (ID-6).",
        },
        "app_name": {
            **_NAME,
            "description": 'The App-Name header: the calling application, free text (default "integrate").',
        },
        "user": {
            **_NAME,
            "description": "The acting Ideolve user's email: in every path, owns the notes (ID-8).",
        },
        "workspace": {
            **_NAME,
            "description": "The workspace that receives the notes, by name (ID-8).",
        },
        "create_workspace": {
            "type": "boolean",
            "description": "Create the workspace when the user has none of that name (default true).",
        },
        "workspace_description": {
            "type": "string",
            "description": "The description of a workspace the plugin creates.",
        },
        "share_with": {
            "type": "array",
            "description": "Who every new note is shared with: {user: email} or {group: name}, "
            "each with an optional role, reader (default) or contributor (ID-8).",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "user": _NAME,
                    "group": _NAME,
                    "role": {"enum": list(ROLES)},
                },
                "oneOf": [{"required": ["user"]}, {"required": ["group"]}],
            },
        },
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": f"The API's address, /v4 included (default {BASE_URL}).",
        },
        "paths": {
            "type": "object",
            "additionalProperties": False,
            "description": "Path templates after base_url (ASSUMED, targets.md §4.4); "
            "placeholders {user}, {workspaceid}, {noteid}.",
            "properties": {
                key: {"type": "string", "pattern": "^/", "description": f"default {default}"}
                for key, default in PATHS.items()
            },
        },
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": 16,
            "description": "Calls in flight at once (default 4).",
        },
        "requests_per_second": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": "Calls a second at most (default 18, under the ASSUMED 20 a second).",
        },
        "max_attachment_bytes": {
            "type": "integer",
            "minimum": 1,
            "description": "The largest attachment sent (default 26214400, 25 MB; ASSUMED).",
        },
    },
}


def check_paths(paths: Mapping[str, str]) -> list[str]:
    """What is wrong with path templates: a placeholder a template cannot fill."""
    import string

    problems = []
    for key, template in paths.items():
        allowed = PLACEHOLDERS.get(key, ())
        for _text, name, _spec, _conv in string.Formatter().parse(template):
            if name is not None and name not in allowed:
                problems.append(
                    f"paths.{key}: {{{name}}} is not one of {', '.join('{' + a + '}' for a in allowed)}"
                )
    return problems


@dataclass(frozen=True)
class Share:
    """One sharing entry of a new note: a user's email or a group's name, and a role."""

    kind: str  # user | group
    name: str
    role: str | None = None

    def as_body(self) -> dict[str, str]:
        out = {self.kind: self.name}
        if self.role is not None:
            out["role"] = self.role
        return out


@dataclass(frozen=True)
class Settings:
    """A connection's settings with their defaults. `api_key` stays a Secret."""

    client_id: str
    api_key: Secret
    user: str
    workspace: str
    app_name: str = "integrate"
    create_workspace: bool = True
    workspace_description: str = ""
    share_with: tuple[Share, ...] = ()
    base_url: str = BASE_URL
    paths: Mapping[str, str] | None = None
    concurrency: int = 4
    requests_per_second: float = 18.0
    max_attachment_bytes: int = MAX_ATTACHMENT

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Settings:
        key = config["api_key"]
        paths = {**PATHS, **{k: str(v) for k, v in (config.get("paths") or {}).items()}}
        problems = check_paths(paths)
        if problems:
            from integrate import PluginError

            raise PluginError("ideolve: " + "; ".join(problems))
        shares = tuple(
            Share(
                "user" if "user" in entry else "group",
                str(entry.get("user") or entry.get("group")),
                entry.get("role"),
            )
            for entry in config.get("share_with") or ()
        )
        return cls(
            client_id=str(reveal(config["client_id"])),
            api_key=key if isinstance(key, Secret) else Secret(str(key), "ideolve api_key"),
            user=str(reveal(config["user"])),
            workspace=str(reveal(config["workspace"])),
            app_name=str(config.get("app_name") or "integrate"),
            create_workspace=bool(config.get("create_workspace", True)),
            workspace_description=str(config.get("workspace_description") or ""),
            share_with=shares,
            base_url=str(reveal(config.get("base_url") or BASE_URL)).rstrip("/"),
            paths=paths,
            concurrency=int(config.get("concurrency", 4)),
            requests_per_second=float(config.get("requests_per_second", 18.0)),
            max_attachment_bytes=int(config.get("max_attachment_bytes", MAX_ATTACHMENT)),
        )

    def path(self, key: str, **values: str) -> str:
        """The template `key` filled with URL-safe (already encoded) segments."""
        assert self.paths is not None
        return self.paths[key].format(**values)
