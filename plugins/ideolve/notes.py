"""Notes in the configured workspace, and their comments and attachments (targets.md §4.4,
every path a template setting). Ideolve has no batch endpoint: each record is its own call,
sent as many at once as the connection's `concurrency` allows.

- the workspace: found by name (without case) in `GET workspaces` once a connection, and
  made with `POST workspace` when missing and `create_workspace` is on (2 calls the first
  time, 1 after);
- create: `POST note` with subject, notehtmltext (and tags), shared as `share_with` says;
- update: `PUT note/{noteid}` with the fields given;
- get: `GET note/{noteid}` (its comments and attachments included);
- comment: `POST note/{noteid}/comment` with commenthtmltext;
- attach: `POST note/{noteid}/attachment`, the item's FileStream sent as the multipart part
  `file`, streamed and counted against `max_attachment_bytes`.

Each record answers for itself: a refusal fails it with Ideolve's reason; a create answered
with a 5xx (not resent: it may have been made) is ambiguous."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from integrate import (
    ATTACHMENT_FIELD,
    CREATE,
    AuthError,
    ConnectorError,
    FileStream,
    PluginError,
    Record,
    WriteItem,
    WriteResult,
    path_segment,
)
from integrate_ideolve.api import Refused
from integrate_ideolve.upload import MultipartFile, TooLarge

if TYPE_CHECKING:
    from integrate_ideolve.api import IdeolveApi

CODES = {400: "INVALID", 401: "UNAUTHORIZED", 404: "NOT_FOUND", 413: "ATTACHMENT_TOO_LARGE"}
NOTE_FIELDS = ("subject", "notehtmltext", "tags", "users")


def refused(ref: int, exc: Refused, what: str) -> WriteResult:
    """One record's failure from Ideolve's refusal, its reason kept."""
    return WriteResult.failure(
        ref,
        f"Ideolve refused {what} ({exc.status}): {exc.reason}",
        CODES.get(exc.status, str(exc.status)),
        retriable=exc.status >= 500 or exc.status == 429,
    )


class Notes:
    """Notes of one workspace through `api`."""

    def __init__(self, api: IdeolveApi):
        self.api = api
        self.settings = api.settings
        self._lock = threading.Lock()
        self._workspace: str | None = None

    # ---- the workspace ------------------------------------------------------------------

    def workspace(self) -> str:
        """The configured workspace's id (found once; made when missing and allowed)."""
        if self._workspace is not None:
            return self._workspace
        with self._lock:
            if self._workspace is None:
                self._workspace = self._find_workspace()
            return self._workspace

    def _find_workspace(self) -> str:
        settings, api = self.settings, self.api
        name = settings.workspace
        listed = api.call(
            "GET",
            settings.path("workspaces", user=api.user),
            kind="read",
            label="workspaces",
            what="listing the user's workspaces",
        )
        for space in listed.get("workspaces") or []:
            if isinstance(space, dict) and str(space.get("name", "")).casefold() == name.casefold():
                return str(space["workspaceid"])
        connection = api.context.connection
        if not settings.create_workspace:
            raise PluginError(
                f"{connection}: {settings.user} has no Ideolve workspace named {name!r}; "
                "create it in Ideolve, or set create_workspace: true"
            )
        if api.context.read_only:
            raise PluginError(
                f"{connection}: the workspace {name!r} does not exist yet; a dry run does "
                "not create it (a real run does)"
            )
        body: dict[str, Any] = {"name": name}
        if settings.workspace_description:
            body["description"] = settings.workspace_description
        made = api.call(
            "POST",
            settings.path("create_workspace", user=api.user),
            kind="write",
            label="create workspace",
            what=f"creating the workspace {name!r}",
            json=body,
        )
        if not made.get("workspaceid"):
            raise ConnectorError(
                f"{connection}: Ideolve made the workspace {name!r} but answered no workspaceid",
                code="NO_ID",
            )
        return str(made["workspaceid"])

    def _note_path(self, key: str, noteid: str | None = None) -> str:
        values = {"user": self.api.user, "workspaceid": path_segment(self.workspace())}
        if noteid is not None:
            values["noteid"] = path_segment(noteid)
        return self.settings.path(key, **values)

    # ---- writes -------------------------------------------------------------------------

    def each(
        self, one: Callable[[WriteItem], WriteResult], items: Sequence[WriteItem]
    ) -> list[WriteResult]:
        """One call (or two) a record, as many at once as the connection allows."""
        self.workspace()  # found once, before the records fan out
        workers = min(len(items), self.api.http.concurrency)
        if workers <= 1:
            return [self._guarded(one, item) for item in items]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda item: self._guarded(one, item), items))

    def _guarded(self, one: Callable[[WriteItem], WriteResult], item: WriteItem) -> WriteResult:
        try:
            return one(item)
        except AuthError:
            raise
        except Refused as exc:
            return refused(item.ref, exc, "the write")
        except ConnectorError as exc:
            return WriteResult.failure(item.ref, str(exc), exc.code or "FAILED")

    def create(self, item: WriteItem) -> WriteResult:
        body = {k: v for k, v in item.values.items() if k in NOTE_FIELDS}
        missing = [f for f in ("subject", "notehtmltext") if body.get(f) in (None, "")]
        if missing:
            return WriteResult.failure(
                item.ref, f"a note needs {' and '.join(missing)}", "MISSING_FIELD"
            )
        if "users" not in body and self.settings.share_with:
            body["users"] = {"sharewith": [s.as_body() for s in self.settings.share_with]}
        try:
            made = self.api.call(
                "POST",
                self._note_path("create_note"),
                kind="write",
                label="create note",
                what="creating a note",
                json=body,
            )
        except Refused as exc:
            if exc.status >= 500:
                return WriteResult.ambiguous(
                    item.ref, f"Ideolve answered {exc.status}: {exc.reason}"
                )
            return refused(item.ref, exc, "the note")
        if not made.get("noteid"):
            return WriteResult.ambiguous(item.ref, "Ideolve answered no noteid")
        return WriteResult.success(item.ref, str(made["noteid"]))

    def update(self, item: WriteItem) -> WriteResult:
        noteid = self._id(item)
        body = {k: v for k, v in item.values.items() if k in NOTE_FIELDS and k != "users"}
        try:
            self.api.call(
                "PUT",
                self._note_path("note", noteid),
                kind="write",
                label="update note",
                what=f"updating note {noteid}",
                json=body,
            )
        except Refused as exc:
            return refused(item.ref, exc, f"the update of note {noteid}")
        return WriteResult.success(item.ref, noteid)

    def comment(self, item: WriteItem) -> WriteResult:
        noteid = self._id(item)
        text = item.values.get("commenthtmltext")
        if text in (None, ""):
            return WriteResult.failure(item.ref, "a comment needs commenthtmltext", "MISSING_FIELD")
        try:
            made = self.api.call(
                "POST",
                self._note_path("comment", noteid),
                kind="write",
                label="comment",
                what=f"commenting on note {noteid}",
                json={"commenthtmltext": text},
            )
        except Refused as exc:
            return refused(item.ref, exc, f"the comment on note {noteid}")
        return WriteResult.success(item.ref, noteid, record={"commentid": made.get("commentid")})

    def attach(self, item: WriteItem) -> WriteResult:
        """The item's file (its FileStream under ATTACHMENT_FIELD) uploaded to the note."""
        noteid = self._id(item)
        file = item.values.get(ATTACHMENT_FIELD)
        if not isinstance(file, FileStream):
            return WriteResult.failure(
                item.ref,
                "no file to attach: the flow's source cannot download attachments "
                "(its plugin has no download)",
                "NO_FILE",
            )
        limit = self.settings.max_attachment_bytes
        if file.size is not None and file.size > limit:
            too = TooLarge(file.name, limit, declared=file.size)
            return WriteResult.failure(item.ref, str(too), too.code)
        body = MultipartFile(file.name, file, limit)
        try:
            made = self.api.call(
                "POST",
                self._note_path("attachment", noteid),
                kind="write",
                label="attach",
                what=f"attaching {file.name!r} to note {noteid}",
                content=body,
                headers={"Content-Type": body.content_type},
            )
        except Refused as exc:
            return refused(item.ref, exc, f"the attachment {file.name!r} on note {noteid}")
        except TooLarge as exc:
            return WriteResult.failure(item.ref, str(exc), exc.code)
        except ConnectorError as exc:  # its download failed (or was cut at its limit)
            return WriteResult.failure(
                item.ref, f"attachment {file.name!r}: {exc}", exc.code or "FAILED"
            )
        return WriteResult.success(
            item.ref,
            noteid,
            record={k: made.get(k) for k in ("attachmentid", "filename", "size")},
        )

    @staticmethod
    def _id(item: WriteItem) -> str:
        if item.id in (None, ""):
            raise ConnectorError("no note id to write to", code="NO_ID")
        return str(item.id)

    # ---- reads ------------------------------------------------------------------------

    def get(self, ids: Sequence[str]) -> list[Record]:
        """The notes with these ids (an unknown or foreign id is left out)."""
        found: list[Record] = []
        for noteid in ids:
            if str(noteid) == "":
                continue
            try:
                body = self.api.call(
                    "GET",
                    self._note_path("note", str(noteid)),
                    kind="read",
                    label="get note",
                    what=f"reading note {noteid}",
                )
            except Refused as exc:
                if exc.status == 404:
                    continue
                raise
            note = body.get("note")
            if isinstance(note, dict):
                found.append(note)
        return found


def per_record(notes: Notes, op: str) -> Callable[[WriteItem], WriteResult]:
    """The per-record call of a write or action."""
    table = {
        CREATE: notes.create,
        "update": notes.update,
        "comment": notes.comment,
        "attach": notes.attach,
    }
    return table[op]
