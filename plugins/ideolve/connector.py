"""The ideolve connector: Ideolve's v4 REST API (targets.md §4) for the object `notes` in the
configured workspace: create, update and get, and the actions `comment` and `attach` (the
file an event flow hands over, streamed). Ideolve lists no notes, so notes are not read:
an event flow keeps the source record → note id map in its own state.

The calls are in notes.py, the headers, auth check and refusals in api.py, the streamed
multipart body in upload.py, the settings (every path beyond the auth call a template) in
settings.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from integrate import (
    CREATE,
    GET,
    UPDATE,
    Condition,
    Connector,
    ConnectorContext,
    FieldInfo,
    ObjectInfo,
    Page,
    PluginError,
    Record,
    Unsupported,
    WriteItem,
    WriteResult,
)
from integrate_ideolve.api import IdeolveApi
from integrate_ideolve.notes import Notes, per_record
from integrate_ideolve.settings import CONFIG_SCHEMA, Settings

__version__ = "0.1.0"

OBJECTS = ("notes",)
VENDOR_DOMAINS = ("api.ideolve.com",)
WRITE_BATCH = 20  # records a write() call, each its own request (no batch endpoint)
ACTIONS = frozenset({"comment", "attach"})
NOTE_FIELDS: dict[str, FieldInfo] = {
    "noteid": FieldInfo("noteid", "text", "Note id", read_only=True),
    "subject": FieldInfo("subject", "text", "Subject (at most 255 characters)", required=True),
    "notehtmltext": FieldInfo("notehtmltext", "text", "Body (HTML)", required=True),
    "tags": FieldInfo("tags", "list", "Tags"),
    "users": FieldInfo("users", "object", "Sharing ({sharewith: [...]}; default share_with)"),
    "comments": FieldInfo("comments", "list", "Comments", read_only=True),
    "attachments": FieldInfo("attachments", "list", "Attachments", read_only=True),
}


class IdeolveConnector(Connector):
    """Ideolve notes, their comments and attachments."""

    plugin = "ideolve"
    version = __version__
    config_schema = CONFIG_SCHEMA
    known_objects = OBJECTS
    vendor_domains = VENDOR_DOMAINS
    description = "Ideolve (v4 API): notes in a workspace, with comments and attachments."

    def __init__(self, config: Mapping[str, Any], context: ConnectorContext):
        super().__init__(config, context)
        self.settings = Settings.of(config)
        self.api = IdeolveApi(self.settings, context)
        self.notes = Notes(self.api)

    # ---- describing ---------------------------------------------------------------------

    def objects(self) -> list[str]:
        return list(OBJECTS)

    @classmethod
    def offline_fields(
        cls, config: Mapping[str, Any], object: str
    ) -> Mapping[str, FieldInfo] | None:
        return NOTE_FIELDS if object == "notes" else None

    def describe(self, object: str) -> ObjectInfo:
        if object != "notes":
            raise KeyError(object)
        return ObjectInfo(
            name="notes",
            id_field="noteid",
            write_batch=WRITE_BATCH,
            operations=frozenset({CREATE, UPDATE, GET}),
            actions=ACTIONS,
            fields=NOTE_FIELDS,
            one_per_call=True,
            description=f"Ideolve notes of the workspace {self.settings.workspace!r}",
        )

    # ---- reading ------------------------------------------------------------------------

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        where: Condition | None = None,
    ) -> Iterator[Page]:
        if object != "notes":
            raise KeyError(object)
        raise Unsupported(
            "ideolve lists no notes (targets.md §4.4): notes are written, and read by id only"
        )

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record]:
        if object != "notes":
            raise KeyError(object)
        return self.notes.get(ids)

    # ---- writing ------------------------------------------------------------------------

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        if object != "notes" or operation not in (CREATE, UPDATE):
            raise PluginError(f"ideolve cannot {operation} {object}")
        return self.notes.each(per_record(self.notes, operation), items)

    def act(self, object: str, action: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        if object != "notes" or action not in ACTIONS:
            raise PluginError(
                f"ideolve has no action '{action}' on {object} (notes: comment, attach)"
            )
        return self.notes.each(per_record(self.notes, action), items)

    def write_concurrency(self) -> int:
        return self.api.http.concurrency

    def close(self) -> None:
        self.api.close()
