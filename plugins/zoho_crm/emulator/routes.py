"""The API's paths: for each path under /crm/v8, the call kind, handler and scope of each
HTTP method it answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrate_zoho_crm.emulator import convert, metadata, reads, writes
from integrate_zoho_crm.emulator.catalogue import RECORD_MODULES, Module, module_named
from integrate_zoho_crm.emulator.errors import INVALID_MODULE, Reply, ZohoError
from integrate_zoho_crm.emulator.org import Call, Org
from integrate_zoho_crm.emulator.watch import Watch

Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Need:
    """The scope a call needs (§1.7)."""

    area: str
    item: str = ""
    write: bool = False


@dataclass
class Action:
    kind: str
    run: Handler
    need: Need


def resolve(org: Org, parts: list[str]) -> dict[str, Action]:
    """method -> action for an API path (after /crm/v8); {} when there is no such path."""
    if not parts:
        return {}
    head, n = parts[0], len(parts)
    settings = Need("settings")
    if head == "users" and n <= 2:
        user_id = parts[1] if n == 2 else None
        return {"GET": Action("users", lambda c: reads.users(org, c, user_id), Need("users"))}
    if head == "settings" and n >= 2:
        what = parts[1]
        if what == "modules" and n <= 3:
            name = parts[2] if n == 3 else None
            catalogue = org.store.modules
            return {"GET": Action("modules", lambda c: metadata.modules(name, catalogue), settings)}
        if what == "fields" and n <= 3:
            fid = parts[2] if n == 3 else None
            run: Handler = lambda c: metadata.fields(c.args, org, fid)  # noqa: E731
            return {"GET": Action("fields", run, settings)}
        if what == "related_lists" and n == 2:
            run = lambda c: metadata.related_lists(c.args, org.store.modules)  # noqa: E731
            return {"GET": Action("related_lists", run, settings)}
        return {}
    if head == "actions" and parts[1:] == ["watch"]:
        return _watch_actions(org.watch)
    module = module_named(head, org.store.modules)
    if module is None or module.api_name not in RECORD_MODULES:
        if n > 3:
            return {}
        return {
            m: Action("other", _refuse_module, Need("modules"))
            for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
        }
    return _record_actions(org, module, parts[1:])


def _watch_actions(watch: Watch) -> dict[str, Action]:
    read, write = Need("notifications"), Need("notifications", write=True)
    return {
        "GET": Action("watch", lambda c: watch.details(c.args), read),
        "POST": Action("watch", lambda c: watch.subscribe(c.json()), write),
        "PUT": Action("watch", lambda c: watch.update(c.json(), replace=True), write),
        "PATCH": Action("watch", lambda c: watch.update(c.json(), replace=False), write),
        "DELETE": Action("watch", lambda c: watch.disable(c.args.get("channel_ids")), write),
    }


def _record_actions(org: Org, module: Module, rest: list[str]) -> dict[str, Action]:
    n = len(rest)
    item = module.api_name
    read, write = Need("modules", item), Need("modules", item, write=True)
    notes = item == "Notes"

    def named(kind: str) -> str:
        return "notes" if notes else kind

    if n == 0:
        return {
            "GET": Action(named("list"), lambda c: reads.list_records(org, module, c), read),
            "POST": Action(named("insert"), lambda c: writes.insert(org, module, c), write),
            "PUT": Action(named("update"), lambda c: writes.update(org, module, c), write),
            "DELETE": Action(named("delete"), lambda c: writes.delete(org, module, c), write),
        }
    first = rest[0]
    if n == 1 and first == "upsert":
        return {"POST": Action("upsert", lambda c: writes.upsert(org, module, c), write)}
    if n == 1 and first == "search":
        return {"GET": Action("search", lambda c: reads.search(org, module, c), read)}
    if n == 1 and first == "deleted":
        return {"GET": Action("deleted", lambda c: reads.deleted_records(org, module, c), read)}
    if n == 2 and rest == ["actions", "count"]:
        return {"GET": Action("count", lambda c: reads.count(org, module, c), read)}
    if n == 1:
        return {
            "GET": Action(named("get"), lambda c: reads.get_record(org, module, first, c), read),
            "PUT": Action(named("update"), lambda c: writes.update(org, module, c, first), write),
            "DELETE": Action(
                named("delete"), lambda c: writes.delete(org, module, c, first), write
            ),
        }
    related = rest[1]
    if n == 2 and related == "Attachments":
        files = Need("modules", "attachments")
        run: Handler = lambda c: reads.attachments(org, module, first, c)  # noqa: E731
        return {"GET": Action("attachments", run, files)}
    if n == 2:
        actions = {
            "GET": Action(
                "related", lambda c: reads.related_records(org, module, first, related, c), read
            )
        }
        if related == "Notes":
            actions["POST"] = Action(
                "notes",
                lambda c: _note_under(org, module.api_name, first, c),
                Need("modules", "notes", write=True),
            )
        return actions
    if n == 3 and rest[1:] == ["actions", "convert"] and item == "Leads":
        return {"POST": Action("convert", lambda c: convert.convert(org, first, c), write)}
    if n == 3 and related == "Attachments":
        attachment = rest[2]
        return {
            "GET": Action(
                "download",
                lambda c: reads.download(org, module, first, attachment),
                Need("modules", "attachments"),
            )
        }
    return {}


def _note_under(org: Org, module: str, record_id: str, call: Call) -> Reply:
    """POST /{module}/{id}/Notes: notes whose Parent_Id is that record."""
    body = call.json()
    rows = writes.rows_of(body)
    parent = {"module": {"api_name": module}, "id": record_id}
    body = dict(body) | {
        "data": [({"Parent_Id": parent} | r) if isinstance(r, dict) else r for r in rows]
    }
    call.body = json_bytes(body)
    return writes.insert(org, org.module("Notes"), call)


def _refuse_module(call: Call) -> Reply:
    raise ZohoError(400, "INVALID_MODULE", INVALID_MODULE, {"resource_path_index": 0})


def json_bytes(body: Any) -> bytes:
    return json.dumps(body).encode()
