"""What a workspace, a note, a comment and an attachment may hold, checked as the API checks a
body (a 400 naming the field), and the shapes the API answers them in.

Decided here (ASSUMED, docs/ideolve-plugin.md lists them): `subject` is 1 to 255 characters,
`notehtmltext` and `commenthtmltext` 1 character to 1 MB (1,048,576 bytes of UTF-8), both kept
exactly as sent (no sanitising); `tags` a list of at most 100 texts of 1 to 255 characters;
`users.sharewith` entries name one known user or group (without case), role `reader` (the
default) or `contributor`, one entry per user or group (a later one's role wins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrate import StoredRow
from integrate_ideolve.emulator.refusals import bad_request, named
from integrate_ideolve.emulator.store import Org, stamp

MAX_SUBJECT = 255
MAX_HTML = 1024 * 1024  # bytes of UTF-8
MAX_NAME = 255
MAX_DESCRIPTION = 4000
MAX_TAGS = 100
ROLES = ("reader", "contributor")


def _text(body: Mapping[str, Any], field: str, limit: int, *, required: bool) -> str | None:
    if field not in body and not required:
        return None
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise bad_request(f"{field} is required")
    if not isinstance(value, str):
        raise bad_request(f"{field} must be text")
    if len(value) > limit:
        raise bad_request(f"{field} is longer than {limit} characters")
    return value


def html(body: Mapping[str, Any], field: str, *, required: bool) -> str | None:
    """An HTML field, kept as sent; at most 1 MB of UTF-8."""
    value = _text(body, field, MAX_HTML, required=required)
    if value is not None and len(value.encode("utf-8", "surrogatepass")) > MAX_HTML:
        raise bad_request(f"{field} is larger than 1 MB ({MAX_HTML} bytes)")
    return value


def workspace_values(body: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """A new workspace from `POST .../workspace`'s body, `owner` its owner and only member."""
    name = _text(body, "name", MAX_NAME, required=True)
    description = body.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        raise bad_request("description must be text")
    elif len(description) > MAX_DESCRIPTION:
        raise bad_request(f"description is longer than {MAX_DESCRIPTION} characters")
    return {"name": name, "description": description, "owner": owner, "members": [owner]}


def note_values(body: Mapping[str, Any], org: Org, author: str) -> dict[str, Any]:
    """A new note from the create body (subject and notehtmltext required)."""
    return {
        "subject": _text(body, "subject", MAX_SUBJECT, required=True),
        "notehtmltext": html(body, "notehtmltext", required=True),
        "tags": tags(body.get("tags")),
        "sharewith": share_with(body.get("users"), org),
        "createdby": author,
        "comments": [],
        "attachments": [],
    }


def note_update(body: Mapping[str, Any]) -> dict[str, str]:
    """The fields an update changes: `subject` and `notehtmltext`, at least one of them (other
    keys are ignored)."""
    changed: dict[str, str] = {}
    subject = _text(body, "subject", MAX_SUBJECT, required=False)
    if subject is not None:
        changed["subject"] = subject
    text = html(body, "notehtmltext", required=False)
    if text is not None:
        changed["notehtmltext"] = text
    if not changed:
        raise bad_request("send subject or notehtmltext to update a note")
    return changed


def tags(value: Any) -> list[str]:
    if value is None:
        return []
    ok = isinstance(value, list) and len(value) <= MAX_TAGS
    if not ok or not all(isinstance(t, str) and t.strip() != "" and len(t) <= 255 for t in value):
        raise bad_request(f"tags must be a list of at most {MAX_TAGS} texts of 1 to 255 characters")
    return list(dict.fromkeys(value))


def share_with(value: Any, org: Org) -> list[dict[str, str]]:
    """`users.sharewith` checked against the org: one entry per user or group, each with its
    role."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise bad_request("users must be an object with sharewith")
    entries = value.get("sharewith")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise bad_request("users.sharewith must be a list")
    found: dict[tuple[str, str], str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or ("user" in entry) == ("group" in entry):
            raise bad_request('users.sharewith entries are {"user": email} or {"group": name}')
        role = entry.get("role", "reader")
        if role not in ROLES:
            raise bad_request(f"role must be reader or contributor, not {named(role)}")
        if "user" in entry:
            user = org.user(entry["user"])
            if user is None:
                raise bad_request(f"unknown user {named(entry['user'])}")
            found.pop(("user", user), None)
            found[("user", user)] = role
        else:
            group = org.group(entry["group"])
            if group is None:
                raise bad_request(f"unknown group {named(entry['group'])}")
            found.pop(("group", group), None)
            found[("group", group)] = role
    return [{kind: name, "role": role} for (kind, name), role in found.items()]


# ---- the shapes answered ------------------------------------------------------------------


def workspace_item(row: StoredRow) -> dict[str, Any]:
    return {
        "workspaceid": row.id,
        "name": row.values["name"],
        "description": row.values["description"],
    }


def comment_item(comment: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "commentid": comment["commentid"],
        "commenthtmltext": comment["commenthtmltext"],
        "createdby": comment["createdby"],
        "createdat": stamp(comment["created"]),
    }


def attachment_item(attachment: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "attachmentid": attachment["attachmentid"],
        "filename": attachment["filename"],
        "size": attachment["size"],
    }


def note_item(row: StoredRow) -> dict[str, Any]:
    """A note as `GET .../note/{noteid}` answers it."""
    values = row.values
    return {
        "noteid": row.id,
        "workspaceid": values["workspaceid"],
        "subject": values["subject"],
        "notehtmltext": values["notehtmltext"],
        "tags": list(values["tags"]),
        "users": {"sharewith": [dict(e) for e in values["sharewith"]]},
        "createdby": values["createdby"],
        "createdat": stamp(row.created),
        "modifiedat": stamp(row.modified),
        "comments": [comment_item(c) for c in values["comments"]],
        "attachments": [attachment_item(a) for a in values["attachments"]],
    }


def note_record(row: StoredRow) -> dict[str, Any]:
    """A note as tests and sandboxes see it (`records("notes")`): the answer's shape, with each
    attachment's SHA-256, content type, author and time."""
    record = note_item(row)
    record["attachments"] = [
        {
            **attachment_item(a),
            "sha256": a["sha256"],
            "contenttype": a["contenttype"],
            "createdby": a["createdby"],
            "createdat": stamp(a["created"]),
        }
        for a in row.values["attachments"]
    ]
    return record


def workspace_record(row: StoredRow) -> dict[str, Any]:
    return {
        **workspace_item(row),
        "owner": row.values["owner"],
        "members": list(row.values["members"]),
        "createdat": stamp(row.created),
    }
