"""The emulated org's data: the kit's record store with Zoho's ids, plus users, the deleted-
records log, attachment contents and the reverse indexes related lists need.

Records are kept as `Row`s whose values hold lookups as bare ids (and `$se_module` for the
multi-module ones); `render` turns a row into what the API shows, with lookup names as they
are now.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from integrate import RecordStore, StoredRow
from integrate_zoho_crm.emulator.catalogue import LAYOUT, MODULES, ORG, Field, Module
from integrate_zoho_crm.emulator.values import iso

RECYCLE_DAYS = 60  # recycle-bin entries are listed this long (§6)
PERMANENT_DAYS = 120  # permanently deleted ids are listed this long
DAY = 86_400
Row = StoredRow


@dataclass
class User:
    id: str
    first_name: str
    last_name: str
    email: str
    status: str = "active"
    admin: bool = False
    created: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def minified(self) -> dict[str, Any]:
        return {"name": self.full_name, "id": self.id, "email": self.email}


@dataclass
class Deleted:
    id: str
    module: str
    display_name: str | None
    deleted_time: int
    deleted_by: str
    created_by: str


class Store(RecordStore):
    def __init__(self, users: list[User]):
        super().__init__(MODULES, last_id=1_000_000)  # ids count on after the org prefix
        self.users = users
        self.user_by_id = {u.id: u for u in users}
        # the org's own catalogue: the default one, plus the custom fields an admin adds
        self.modules: dict[str, Module] = dict(MODULES)
        # (child module, lookup field) -> parent id -> child ids (an ordered set)
        self.children: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        self.deleted: dict[str, list[Deleted]] = {name: [] for name in MODULES}
        self.blobs: dict[str, bytes | int] = {}  # attachment id -> bytes, or a content seed

    # ---- ids and names ------------------------------------------------------------------

    def add_field(self, module: str, added: Field) -> Field:
        """A custom field made in the org's setup: listed, written and read from now on."""
        self.changed()
        changed = self.modules[module].with_field(added)
        self.modules[module] = changed
        return changed.fields[-1]

    def id_for(self, number: int) -> str:
        return f"{ORG}{number:012d}"

    def display_name(self, row: Row) -> str | None:
        name = row.values.get(self.modules[row.module].display_field)
        return name if isinstance(name, str) else None

    # ---- changes --------------------------------------------------------------------------

    def delete(self, row: Row, at: int, by: str) -> None:
        """A record deleted by user `by` at `at`: gone, and in the recycle bin."""
        self.remove(row)
        self.blobs.pop(row.id, None)
        self.deleted[row.module].append(
            Deleted(
                row.id,
                row.module,
                self.display_name(row),
                at,
                by,
                str(row.values.get("Created_By", by)),
            )
        )

    def index(self, row: Row) -> None:
        for name in self.modules[row.module].lookups:
            target = row.values.get(name)
            if isinstance(target, str):
                index = self.children.setdefault((row.module, name), {})
                index.setdefault(target, {})[row.id] = None

    def unindex(self, row: Row) -> None:
        for name in self.modules[row.module].lookups:
            target = row.values.get(name)
            if isinstance(target, str):
                self.children.get((row.module, name), {}).get(target, {}).pop(row.id, None)

    def clear_indexes(self) -> None:
        self.children.clear()

    # ---- reads ----------------------------------------------------------------------------

    def related(self, parent: Row, child_module: str, field: str) -> list[Row]:
        ids = self.children.get((child_module, field), {}).get(parent.id, {})
        rows = []
        for child_id in ids:
            row = self.by_id.get(child_id)
            if row is None:
                continue
            se = row.values.get("$se_module")
            if field in ("What_Id", "Parent_Id") and se != parent.module:
                continue
            rows.append(row)
        return rows

    def deleted_entries(self, module: str, now: float) -> Iterator[tuple[str, Deleted]]:
        """(type, entry), newest first; recycle-bin entries older than 60 days read as
        permanent deletions, which drop out after 120 days (§6)."""
        for entry in reversed(self.deleted[module]):
            age = now - entry.deleted_time
            if age <= RECYCLE_DAYS * DAY:
                yield "recycle", entry
            elif age <= PERMANENT_DAYS * DAY:
                yield "permanent", entry

    # ---- rendering ------------------------------------------------------------------------

    def user_ref(self, user_id: Any) -> dict[str, Any] | None:
        user = self.user_by_id.get(str(user_id)) if user_id is not None else None
        return user.minified() if user else None

    def lookup_ref(self, target_id: Any) -> dict[str, Any] | None:
        target = self.by_id.get(target_id) if isinstance(target_id, str) else None
        if target is None:
            return None  # a lookup whose record is gone reads as empty (ASSUMED)
        return {"name": self.display_name(target), "id": target.id}

    def render(self, row: Row, names: Iterable[str] | None = None) -> dict[str, Any]:
        """The record as the API shows it: the fields asked for (all when None) and id."""
        values = row.values
        out: dict[str, Any] = {}
        module = self.modules[row.module]
        for name, kind in _plan(module, None if names is None else tuple(names)):
            if kind is _PLAIN:
                out[name] = values.get(name)
            elif kind is _MODIFIED:
                out[name] = iso(row.modified)
            elif kind is _CREATED:
                out[name] = iso(row.created)
            elif kind is _USER:
                out[name] = self.user_ref(values.get(name))
            elif kind is _BOOLEAN:
                out[name] = bool(values.get(name))  # Zoho booleans are never null
            elif kind is _LAYOUT:
                out[name] = dict(LAYOUT)
            elif kind is _TAG:
                out[name] = list(values.get(name) or [])
            else:
                ref = self.lookup_ref(values.get(name))
                if kind is _ANY_LOOKUP and ref is not None:
                    se_module = str(values.get("$se_module"))
                    if name == "Parent_Id":
                        ref["module"] = {"api_name": se_module, "id": MODULES[se_module].id}
                    out["$se_module"] = se_module
                out[name] = ref
        out["id"] = row.id
        return out

    def system_keys(self, row: Row) -> dict[str, Any]:
        """The `$`-keys Zoho adds to every record it lists whatever `fields` asked for."""
        keys: dict[str, Any] = {"$editable": True, "$state": "save"}
        if row.module == "Notes":
            keys.update(
                {
                    "$attachments": [],
                    "$is_shared_to_client": False,
                    "$size": str(len(str(row.values.get("Note_Content") or ""))),
                    "$voice_note": False,
                    "$sharing_permission": "full_access",
                    "$se_module": row.values.get("$se_module"),
                }
            )
        return keys

    def attachment(self, row: Row) -> dict[str, Any]:
        """An attachment as the Attachments related list shows it (all keys, §5)."""
        values = row.values
        parent = self.lookup_ref(values.get("Parent_Id"))
        se_module = str(values.get("$se_module"))
        if parent is not None:
            parent["module"] = {"api_name": se_module, "id": MODULES[se_module].id}
        return {
            "id": row.id,
            "File_Name": values.get("File_Name"),
            "Size": str(values.get("Size")),
            "$file_id": file_id(row.id),
            "$se_module": se_module,
            "$type": "Attachment",
            "$attachment_type": 1,
            "$link_url": None,
            "$editable": True,
            "$state": "save",
            "$sharing_permission": "full_access",
            "Parent_Id": parent,
            "Owner": self.user_ref(values.get("Owner")),
            "Created_By": self.user_ref(values.get("Created_By")),
            "Modified_By": self.user_ref(values.get("Modified_By")),
            "Created_Time": iso(row.created),
            "Modified_Time": iso(row.modified),
        }

    def content(self, attachment_id: str) -> bytes:
        blob = self.blobs.get(attachment_id, b"")
        if isinstance(blob, bytes):
            return blob
        row = self.by_id[attachment_id]
        size = int(row.values.get("Size") or 0)
        return blob_bytes(blob, size)

    # ---- save and restore -----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The records and id counter, users, the deleted log and file contents."""
        blobs = {
            key: {"seed": blob}
            if isinstance(blob, int)
            else {"bytes": base64.b64encode(blob).decode()}
            for key, blob in self.blobs.items()
        }
        return super().snapshot() | {
            "users": [asdict(u) for u in self.users],
            "deleted": [asdict(d) for entries in self.deleted.values() for d in entries],
            "blobs": blobs,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.users[:] = [User(**u) for u in state["users"]]
        self.user_by_id.clear()
        self.user_by_id.update({u.id: u for u in self.users})
        super().restore(state)
        for entries in self.deleted.values():
            entries.clear()
        for entry in state["deleted"]:
            self.deleted[entry["module"]].append(Deleted(**entry))
        self.blobs = {
            key: blob["seed"] if "seed" in blob else base64.b64decode(blob["bytes"])
            for key, blob in state["blobs"].items()
        }


def file_id(attachment_id: str) -> str:
    return hashlib.sha256(f"file:{attachment_id}".encode()).hexdigest()[:48]


def blob_bytes(seed: int, size: int) -> bytes:
    """Deterministic file contents of a size, made on demand (so big orgs stay small)."""
    return hashlib.shake_256(f"attachment:{seed}".encode()).digest(size)


_PLAIN, _CREATED, _MODIFIED, _USER, _BOOLEAN, _LAYOUT, _TAG, _LOOKUP, _ANY_LOOKUP = (
    "plain",
    "created",
    "modified",
    "user",
    "boolean",
    "layout",
    "tag",
    "lookup",
    "any-lookup",
)


def _plan(module: Module, names: tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
    """How each asked-for field of a module is rendered, worked out once per field list (a
    list call renders the same fields for every row of every page)."""
    plan = module.plans.get(names)
    if plan is None:
        if len(module.plans) >= 256:
            module.plans.clear()
        plan = module.plans[names] = _work_out(module, names)
    return plan


def _work_out(module: Module, names: tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
    wanted = [f.api_name for f in module.fields] if names is None else names
    plan = []
    for name in wanted:
        field = module.by_name.get(name)
        if field is None or name == "id":
            continue
        if name == "Created_Time":
            kind = _CREATED
        elif name in ("Modified_Time", "Last_Activity_Time", "Change_Log_Time__s"):
            kind = _MODIFIED
        elif field.data_type in ("ownerlookup", "userlookup"):
            kind = _USER
        elif field.data_type == "boolean":
            kind = _BOOLEAN
        elif field.data_type == "layout":
            kind = _LAYOUT
        elif field.data_type == "lookup":
            kind = _ANY_LOOKUP if field.lookup == "*" else _LOOKUP
        elif field.data_type == "tag":
            kind = _TAG
        else:
            kind = _PLAIN
        plan.append((name, kind))
    return tuple(plan)
