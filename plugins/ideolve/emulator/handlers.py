"""The calls of targets.md §4.4 the emulator serves, each acting as the Ideolve user its path
names: workspaces (list, create), notes (create, update, get), comments, attachments.

Decided here (ASSUMED, docs/ideolve-plugin.md lists them): a user sees only the workspaces it
belongs to; a workspace it does not belong to, or a note of another workspace, is a 404 as if
neither existed; every success is a 200; a workspace's description is "" when none was given;
a comment is kept at the end of its note's list and does not change the note's `modifiedat`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from integrate import Reply, StoredRow
from integrate_ideolve.emulator.records import (
    html,
    note_item,
    note_update,
    note_values,
    workspace_item,
    workspace_values,
)
from integrate_ideolve.emulator.refusals import (
    NOTE_NOT_FOUND,
    SUCCESS,
    WORKSPACE_NOT_FOUND,
    bad_request,
    named,
    not_found,
)
from integrate_ideolve.emulator.store import NOTES, WORKSPACES, Org, Store
from integrate_ideolve.emulator.uploads import Upload

Params = Mapping[str, str]


@dataclass(frozen=True)
class Call:
    """What a handler works with: the org's data, the acting user (the org's spelling), the
    clock (epoch millis), and the request's JSON body or upload (read on demand, refused in
    Ideolve's words)."""

    store: Store
    org: Org
    user: str
    now: int
    body: Callable[[], dict[str, Any]]
    upload: Callable[[], Upload]


Handler = Callable[[Call, Params], Reply]


def ok(**payload: Any) -> Reply:
    return Reply(200, {"status": SUCCESS, **payload})


def auth(call: Call, params: Params) -> Reply:
    """The confirmed auth check: the headers and the user are good (no body is read)."""
    return ok()


def list_workspaces(call: Call, params: Params) -> Reply:
    return ok(workspaces=[workspace_item(r) for r in call.store.workspaces_of(call.user)])


def create_workspace(call: Call, params: Params) -> Reply:
    values = workspace_values(call.body(), call.user)
    made = add_workspace(call.store, values, call.now)
    return ok(workspaceid=made.id)


def add_workspace(store: Store, values: dict[str, Any], now: int) -> StoredRow:
    """A workspace, unless one of its members already has one of that name (without case)."""
    for member in values["members"]:
        if store.named(member, values["name"]) is not None:
            raise bad_request(f"a workspace named {named(values['name'])} exists")
    return store.make(WORKSPACES, values, now)


def create_note(call: Call, params: Params) -> Reply:
    workspace = _workspace(call, params)
    values = note_values(call.body(), call.org, call.user)
    values["workspaceid"] = workspace.id
    made = call.store.make(NOTES, values, call.now)
    return ok(noteid=made.id)


def update_note(call: Call, params: Params) -> Reply:
    note = _note(call, params)
    changed = note_update(call.body())
    call.store.replace(note, {**note.values, **changed}, call.now)
    return ok(noteid=note.id)


def get_note(call: Call, params: Params) -> Reply:
    return ok(note=note_item(_note(call, params)))


def add_comment(call: Call, params: Params) -> Reply:
    note = _note(call, params)
    text = html(call.body(), "commenthtmltext", required=True)
    comment = {
        "commentid": call.store.make_id("comment"),
        "commenthtmltext": text,
        "createdby": call.user,
        "created": call.now,
    }
    keep(call.store, note, "comments", comment)
    return ok(commentid=comment["commentid"])


def add_attachment(call: Call, params: Params) -> Reply:
    note = _note(call, params)
    upload = call.upload()
    attachment = attachment_of(call.store, upload, call.user, call.now)
    keep(call.store, note, "attachments", attachment)
    return ok(attachmentid=attachment["attachmentid"], filename=upload.filename, size=upload.size)


def attachment_of(store: Store, upload: Upload, user: str, now: int) -> dict[str, Any]:
    return {
        "attachmentid": store.make_id("attachment"),
        "filename": upload.filename,
        "size": upload.size,
        "sha256": upload.sha256,
        "contenttype": upload.content_type,
        "createdby": user,
        "created": now,
    }


def keep(store: Store, note: StoredRow, key: str, item: dict[str, Any]) -> None:
    """A comment or attachment added at the end of the note's list (its modified time stays)."""
    store.replace(note, {**note.values, key: [*note.values[key], item]}, note.modified)


def _workspace(call: Call, params: Params) -> StoredRow:
    found = call.store.workspace(call.user, params["workspaceid"])
    if found is None:
        raise not_found(WORKSPACE_NOT_FOUND)
    return found


def _note(call: Call, params: Params) -> StoredRow:
    found = call.store.note(_workspace(call, params), params["noteid"])
    if found is None:
        raise not_found(NOTE_NOT_FOUND)
    return found
