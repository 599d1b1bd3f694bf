"""What a test or a sandbox does to the org as its users would, beside the API: records
seeded (workspaces, notes, comments, attachments) and a user's edits, checked as the API
checks them (a `ValueError` with its reason)."""

from __future__ import annotations

import hashlib
from typing import Any

from integrate import Record, StoredRow
from integrate_ideolve.emulator import handlers as h
from integrate_ideolve.emulator.records import (
    html,
    note_record,
    note_update,
    note_values,
    share_with,
    tags,
    workspace_record,
    workspace_values,
)
from integrate_ideolve.emulator.refusals import (
    ATTACHMENT_TOO_LARGE,
    ERROR,
    NO_FILE_NAME,
    IdeolveError,
    bad_request,
    named,
)
from integrate_ideolve.emulator.store import NOTES, WORKSPACES, Org, Store
from integrate_ideolve.emulator.uploads import Upload

SEEDED = (WORKSPACES, NOTES, "comments", "attachments")


class Seeding:
    """The org's store, changed as its users would (`now` in epoch millis)."""

    def __init__(self, store: Store, org: Org, max_attachment_bytes: int) -> None:
        self.store = store
        self.org = org
        self.max_attachment_bytes = max_attachment_bytes

    def add(self, object: str, record: dict[str, Any], now: int) -> Record:
        if object not in SEEDED:
            raise KeyError(
                f"Ideolve records cannot be seeded into {object!r} ({', '.join(SEEDED)})"
            )
        try:
            if object == WORKSPACES:
                owner = self.member(record.get("owner", self.org.users[0]))
                values = workspace_values(record, owner)
                members = [owner, *(self.member(m) for m in record.get("members", ()))]
                values["members"] = list(dict.fromkeys(members))
                return workspace_record(h.add_workspace(self.store, values, now))
            if object == NOTES:
                workspace = self.row(WORKSPACES, record.get("workspaceid"))
                author = self.member(record.get("createdby", workspace.values["owner"]))
                values = note_values(record, self.org, author)
                values["workspaceid"] = workspace.id
                return note_record(self.store.make(NOTES, values, now))
            note = self.row(NOTES, record.get("noteid"))
            author = self.member(record.get("createdby", note.values["createdby"]))
            if object == "comments":
                item = {"commentid": self.store.make_id("comment"), "createdby": author,
                        "commenthtmltext": html(record, "commenthtmltext", required=True),
                        "created": now}  # fmt: skip
                h.keep(self.store, note, "comments", item)
            else:
                h.keep(self.store, note, "attachments", self._attachment(record, author, now))
            return note_record(note)
        except IdeolveError as refused:
            raise ValueError(f"cannot seed {object}: {refused}") from None

    def _attachment(self, record: dict[str, Any], author: str, now: int) -> dict[str, Any]:
        content = record.get("content", b"")
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        filename = record.get("filename")
        if not isinstance(filename, str) or not 0 < len(filename) <= 255:
            raise bad_request(NO_FILE_NAME)
        if len(data) > self.max_attachment_bytes:
            raise IdeolveError(413, ERROR, ATTACHMENT_TOO_LARGE)
        kind = str(record.get("contenttype", "application/octet-stream"))
        upload = Upload(filename, len(data), hashlib.sha256(data).hexdigest(), kind)
        return h.attachment_of(self.store, upload, author, now)

    def change(self, object: str, id: Any, values: Record, now: int) -> Record:
        """A note's `subject`, `notehtmltext`, `tags` or `users` (its modified time moves on),
        or a workspace's `name` or `description`."""
        row = self.row(object, id)
        try:
            if object == NOTES:
                new = dict(row.values)
                if "subject" in values or "notehtmltext" in values:
                    new.update(note_update(values))
                if "tags" in values:
                    new["tags"] = tags(values["tags"])
                if "users" in values:
                    new["sharewith"] = share_with(values["users"], self.org)
                self.store.replace(row, new, now)
                return note_record(row)
            edited: dict[str, Any] = dict(row.values)
            edited.update({k: values[k] for k in ("name", "description") if k in values})
            checked = workspace_values(edited, row.values["owner"])
            for member in row.values["members"]:
                other = self.store.named(member, checked["name"])
                if other is not None and other is not row:
                    raise bad_request(f"a workspace named {named(checked['name'])} exists")
            checked["members"] = row.values["members"]
            self.store.replace(row, checked, now)
            return workspace_record(row)
        except IdeolveError as refused:
            raise ValueError(f"cannot change {object} {id}: {refused}") from None

    def row(self, object: str, id: Any) -> StoredRow:
        if object not in (WORKSPACES, NOTES):
            raise KeyError(f"Ideolve has no object {object!r} (workspaces, notes)")
        row = self.store.get(object, id) if isinstance(id, str) else None
        if row is None:
            raise KeyError(f"Ideolve has no {object[:-1]} {id}")
        return row

    def member(self, email: Any) -> str:
        found = self.org.user(email)
        if found is None:
            raise ValueError(f"the org has no user {email!r} ({', '.join(self.org.users)})")
        return found
