"""The org's data: its users and groups (fixed when the emulator is made), and the kit's record
store with two modules, `workspaces` (name, description, owner, members) and `notes` (their
workspace, subject, HTML, tags, sharing, and their comments and attachments kept inside the
note, in the order they came).

Ids are a prefix (`ws_`, `nt_`, `cm_`, `at_`) and 16 hex digits drawn from the seed and one
counter, so the same seed gives the same ids. Times are epoch milliseconds."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from integrate import RecordStore, StoredRow

WORKSPACES = "workspaces"
NOTES = "notes"
PREFIXES = {"workspace": "ws_", "note": "nt_", "comment": "cm_", "attachment": "at_"}
ACTING_USER = "sales.bot@example.com"
EXPERTS = ("anna.expert@example.com", "raj.expert@example.com")


@dataclass(frozen=True)
class Org:
    """The org's users (e-mail addresses) and groups (name to members); both are found without
    case and answered in the org's own spelling."""

    users: tuple[str, ...]
    groups: Mapping[str, tuple[str, ...]]

    @classmethod
    def default(cls, acting_user: str = ACTING_USER) -> Org:
        return cls(
            (acting_user, *EXPERTS),
            {"presales-experts": EXPERTS, "sales": (acting_user,)},
        )

    def user(self, email: Any) -> str | None:
        if not isinstance(email, str):
            return None
        folded = email.casefold()
        return next((u for u in self.users if u.casefold() == folded), None)

    def group(self, name: Any) -> str | None:
        if not isinstance(name, str):
            return None
        folded = name.casefold()
        return next((g for g in self.groups if g.casefold() == folded), None)


class Store(RecordStore):
    """Workspaces and notes by id; a note's comments and attachments are lists in its values."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__((WORKSPACES, NOTES))
        self.seed = seed

    def make_id(self, kind: str) -> str:
        """The next id of a `kind` (workspace, note, comment, attachment)."""
        while True:
            self.counter += 1
            key = f"ideolve:{self.seed}:{self.counter}".encode()
            made = PREFIXES[kind] + hashlib.blake2b(key, digest_size=8).hexdigest()
            if made not in self.by_id:
                return made

    def make(self, module: str, values: dict[str, Any], now: int) -> StoredRow:
        kind = "workspace" if module == WORKSPACES else "note"
        return self.put(StoredRow(self.make_id(kind), module, values, now, now))

    def workspaces_of(self, user: str) -> list[StoredRow]:
        """The workspaces `user` (the org's spelling) belongs to, in the order made."""
        return [r for r in self.rows[WORKSPACES].values() if user in r.values["members"]]

    def named(self, user: str, name: str) -> StoredRow | None:
        """The workspace of `user`'s named `name`, without case."""
        folded = name.casefold()
        return next(
            (r for r in self.workspaces_of(user) if r.values["name"].casefold() == folded), None
        )

    def workspace(self, user: str, id: str) -> StoredRow | None:
        """The workspace `id` if `user` belongs to it (else None: not even its existence shows)."""
        row = self.rows[WORKSPACES].get(id)
        return row if row is not None and user in row.values["members"] else None

    def note(self, workspace: StoredRow, id: str) -> StoredRow | None:
        """The note `id` if it is in `workspace`."""
        row = self.rows[NOTES].get(id)
        return row if row is not None and row.values["workspaceid"] == workspace.id else None


def stamp(millis: int) -> str:
    """An epoch-millisecond time as the API answers it: ISO 8601 in UTC, `...T10:00:00.000Z`."""
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"
