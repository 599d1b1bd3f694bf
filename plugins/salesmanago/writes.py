"""Writing contacts: creates and updates go out as `batchupsert` calls (targets.md §2.6), one
per owner (a batch names one owner, and the owner a write names becomes the contact's), at
most `batch_size` contacts each.

An update first reads the contacts it changes (`listById`): SALESmanago finds a contact by
its email, not its id, so the email (and, for a partial address or a new list of tags, the
rest) comes from the contact as it is. The answer's `contactIds` (email: id) says which
contacts landed; one that did not fails alone with SALESmanago's message for it
(`upsertDetails[<i>]: ...`), or, when no message names it, is sent alone by `upsert` so its
own answer says why. Nothing refused is sent again later by this plugin: a refused record is
a failed record (the core tries it again on the next run).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import CREATE, UPDATE, Record, WriteItem, WriteResult
from integrate_salesmanago.api import messages
from integrate_salesmanago.records import Unwritable, owner_of, upsert_item

if TYPE_CHECKING:
    from integrate_salesmanago.api import SalesManagoApi
    from integrate_salesmanago.reads import Reads

ITEM = re.compile(r"^\s*upsertDetails\[(\d+)\]\s*:?\s*(.*)$", re.DOTALL)


class Writes:
    """Contact writes through `api`; `reads` fetches the contacts an update changes."""

    def __init__(self, api: SalesManagoApi, reads: Reads):
        self.api = api
        self.reads = reads
        self.settings = api.settings

    def write(self, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        current: dict[str, Record] = {}
        if operation == UPDATE:
            ids = [str(i.id) for i in items if i.id not in (None, "")]
            current = {str(r["id"]): r for r in self.reads.by_ids(list(dict.fromkeys(ids)))}
        groups: dict[str, tuple[str, list[tuple[WriteItem, dict[str, Any]]]]] = {}
        for item in items:
            found = None
            if operation == UPDATE:
                found = current.get(str(item.id)) if item.id not in (None, "") else None
                if found is None:
                    results[item.ref] = WriteResult.failure(
                        item.ref, f"SALESmanago has no contact with id {item.id!r}", "NOT_FOUND"
                    )
                    continue
            try:
                detail = upsert_item(item.values, found)
            except Unwritable as exc:
                results[item.ref] = WriteResult.failure(item.ref, str(exc), "INVALID_VALUE")
                continue
            owner = owner_of(item.values, found, self.settings.owner)
            groups.setdefault(owner.casefold(), (owner, []))[1].append((item, detail))
        for owner, group in groups.values():
            size = self.settings.batch_size
            for at in range(0, len(group), size):
                results.update(self._batch(operation, owner, group[at : at + size]))
        return [results[i.ref] for i in items]

    def _batch(
        self, operation: str, owner: str, batch: list[tuple[WriteItem, dict[str, Any]]]
    ) -> dict[int, WriteResult]:
        body = {"upsertDetails": [detail for _item, detail in batch]}
        answer = self.api.call(
            "contact/batchupsert",
            body,
            kind="write",
            owner=owner,
            what=f"writing {len(batch)} contacts",
        )
        if self.api.refused_owner(answer):
            why = "; ".join(messages(answer))
            return {
                item.ref: WriteResult.failure(
                    item.ref,
                    f"SALESmanago refused the owner {owner} ({why}): make that email a "
                    "SALESmanago user, or map another owner",
                    "OWNER",
                )
                for item, _detail in batch
            }
        landed = answer.get("contactIds")
        ids = (
            {str(k).casefold(): str(v) for k, v in landed.items()}
            if isinstance(landed, Mapping)
            else {}
        )
        named = _named(messages(answer))
        out: dict[int, WriteResult] = {}
        for index, (item, detail) in enumerate(batch):
            emails = [detail["contact"].get("email"), detail.get("newEmail")]
            id = next(
                (ids[e.casefold()] for e in emails if isinstance(e, str) and e.casefold() in ids),
                None,
            )
            if id is not None:
                out[item.ref] = WriteResult.success(item.ref, id, created=operation == CREATE)
            elif index in named:
                out[item.ref] = _refused(item, detail, named[index])
            else:
                out[item.ref] = self._alone(operation, owner, item, detail)
        return out

    def _alone(
        self, operation: str, owner: str, item: WriteItem, detail: dict[str, Any]
    ) -> WriteResult:
        """One contact sent by itself (`upsert`): its answer says why the batch left it out."""
        answer = self.api.call(
            "contact/upsert", detail, kind="write", owner=owner, what="writing a contact"
        )
        id = answer.get("contactId")
        if answer.get("success") is True and isinstance(id, str) and id:
            return WriteResult.success(item.ref, id, created=operation == CREATE)
        return _refused(item, detail, "; ".join(messages(answer)) or "no message")


def _named(texts: Sequence[str]) -> dict[int, str]:
    """The messages that name a batch item (`upsertDetails[3]: ...`), by its index."""
    out: dict[int, str] = {}
    for text in texts:
        match = ITEM.match(text)
        if match:
            index = int(match.group(1))
            out[index] = f"{out[index]}; {match.group(2)}" if index in out else match.group(2)
    return out


def _refused(item: WriteItem, detail: Mapping[str, Any], why: str) -> WriteResult:
    email = detail["contact"].get("email")
    who = f"the contact {email}" if email else "a contact without an email"
    return WriteResult.failure(item.ref, f"SALESmanago refused {who}: {why}", "REFUSED")
