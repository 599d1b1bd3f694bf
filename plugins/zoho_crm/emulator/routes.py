"""The API's paths: for each path under /crm/v8 (a pattern of the kit's `Router`), the call
kind, handler and scope of each HTTP method it answers. The patterns are tried in order;
record modules are looked up in the org's catalogue when a path names one."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from integrate import Reply, Router
from integrate_zoho_crm.emulator import convert, coql, metadata, reads, writes
from integrate_zoho_crm.emulator.catalogue import RECORD_MODULES, Module, module_named
from integrate_zoho_crm.emulator.errors import INVALID_MODULE, ZohoError
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


Table = dict[str, Action]  # HTTP method -> action
Builder = Callable[[Org, Mapping[str, str]], Table]
API = "/crm/v8"
ROUTER: Router[Builder] = Router()


def resolve(org: Org, path: str) -> Table:
    """method -> action for a request path (`/crm/v8/...`); {} when there is no such path."""
    found = ROUTER.match(path)
    return found.target(org, found.params) if found is not None else {}


def _users(org: Org, params: Mapping[str, str]) -> Table:
    user_id = params.get("user")
    return {"GET": Action("users", lambda c: reads.users(org, c, user_id), Need("users"))}


def _modules(org: Org, params: Mapping[str, str]) -> Table:
    name, catalogue = params.get("name"), org.store.modules
    return {"GET": Action("modules", lambda c: metadata.modules(name, catalogue), SETTINGS)}


def _fields(org: Org, params: Mapping[str, str]) -> Table:
    fid = params.get("field")
    return {"GET": Action("fields", lambda c: metadata.fields(c.args, org, fid), SETTINGS)}


def _related_lists(org: Org, params: Mapping[str, str]) -> Table:
    run: Handler = lambda c: metadata.related_lists(c.args, org.store.modules)  # noqa: E731
    return {"GET": Action("related_lists", run, SETTINGS)}


def _coql(org: Org, params: Mapping[str, str]) -> Table:
    return {"POST": Action("coql", lambda c: coql.query(org, c), Need("coql"))}


def _nothing(org: Org, params: Mapping[str, str]) -> Table:
    return {}


SETTINGS = Need("settings")
for _pattern, _builder in (
    ("/users", _users),
    ("/users/{user}", _users),
    ("/settings/modules", _modules),
    ("/settings/modules/{name}", _modules),
    ("/settings/fields", _fields),
    ("/settings/fields/{field}", _fields),
    ("/settings/related_lists", _related_lists),
    ("/settings/{what}/{more*}", _nothing),
    ("/actions/watch", lambda org, params: _watch_actions(org.watch)),
    ("/coql", _coql),
    ("/coql/{more*}", _nothing),  # no such path: INVALID_URL_PATTERN, as Zoho answers
):
    ROUTER.add(API + _pattern, _builder)


def _watch_actions(watch: Watch) -> Table:
    read, write = Need("notifications"), Need("notifications", write=True)
    return {
        "GET": Action("watch", lambda c: watch.details(c.args), read),
        "POST": Action("watch", lambda c: watch.subscribe(c.json()), write),
        "PUT": Action("watch", lambda c: watch.update(c.json(), replace=True), write),
        "PATCH": Action("watch", lambda c: watch.update(c.json(), replace=False), write),
        "DELETE": Action("watch", lambda c: watch.disable(c.args.get("channel_ids")), write),
    }


RecordBuilder = Callable[[Org, Module, Mapping[str, str]], Table]


def _records(pattern: str, short: bool = True) -> Callable[[RecordBuilder], RecordBuilder]:
    """A path of a record module: an unknown module is refused as INVALID_MODULE on paths of
    up to three segments (`short`), and is no path at all on longer ones."""

    def add(build: RecordBuilder) -> RecordBuilder:
        def builder(org: Org, params: Mapping[str, str]) -> Table:
            module = module_named(params["module"], org.store.modules)
            if module is None or module.api_name not in RECORD_MODULES:
                return _refusing() if short else {}
            return build(org, module, params)

        ROUTER.add(API + pattern, builder)
        return build

    return add


def _refusing() -> Table:
    methods = ("GET", "POST", "PUT", "PATCH", "DELETE")
    return {m: Action("other", _refuse_module, Need("modules")) for m in methods}


def _named(module: Module, kind: str) -> str:
    return "notes" if module.api_name == "Notes" else kind


def _read(module: Module) -> Need:
    return Need("modules", module.api_name)


def _write(module: Module) -> Need:
    return Need("modules", module.api_name, write=True)


@_records("/{module}")
def _module(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    read, write = _read(module), _write(module)
    return {
        "GET": Action(_named(module, "list"), lambda c: reads.list_records(org, module, c), read),
        "POST": Action(_named(module, "insert"), lambda c: writes.insert(org, module, c), write),
        "PUT": Action(_named(module, "update"), lambda c: writes.update(org, module, c), write),
        "DELETE": Action(_named(module, "delete"), lambda c: writes.delete(org, module, c), write),
    }


@_records("/{module}/upsert")
def _upsert(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    return {"POST": Action("upsert", lambda c: writes.upsert(org, module, c), _write(module))}


@_records("/{module}/search")
def _search(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    return {"GET": Action("search", lambda c: reads.search(org, module, c), _read(module))}


@_records("/{module}/deleted")
def _deleted(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    run: Handler = lambda c: reads.deleted_records(org, module, c)  # noqa: E731
    return {"GET": Action("deleted", run, _read(module))}


@_records("/{module}/{id}")
def _record(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    id, read, write = params["id"], _read(module), _write(module)
    return {
        "GET": Action(_named(module, "get"), lambda c: reads.get_record(org, module, id, c), read),
        "PUT": Action(_named(module, "update"), lambda c: writes.update(org, module, c, id), write),
        "DELETE": Action(
            _named(module, "delete"), lambda c: writes.delete(org, module, c, id), write
        ),
    }


@_records("/{module}/actions/count")
def _count(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    return {"GET": Action("count", lambda c: reads.count(org, module, c), _read(module))}


@_records("/{module}/{id}/Attachments")
def _attachments(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    id = params["id"]
    run: Handler = lambda c: reads.attachments(org, module, id, c)  # noqa: E731
    return {"GET": Action("attachments", run, Need("modules", "attachments"))}


@_records("/{module}/{id}/{related}")
def _related(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    id, related = params["id"], params["related"]
    run: Handler = lambda c: reads.related_records(org, module, id, related, c)  # noqa: E731
    actions = {"GET": Action("related", run, _read(module))}
    if related == "Notes":
        actions["POST"] = Action(
            "notes",
            lambda c: _note_under(org, module.api_name, id, c),
            Need("modules", "notes", write=True),
        )
    return actions


@_records("/{module}/{id}/actions/convert", short=False)
def _convert(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    if module.api_name != "Leads":
        return {}
    id = params["id"]
    return {"POST": Action("convert", lambda c: convert.convert(org, id, c), _write(module))}


@_records("/{module}/{id}/Attachments/{attachment}", short=False)
def _download(org: Org, module: Module, params: Mapping[str, str]) -> Table:
    id, attachment = params["id"], params["attachment"]
    run: Handler = lambda c: reads.download(org, module, id, attachment)  # noqa: E731
    return {"GET": Action("download", run, Need("modules", "attachments"))}


ROUTER.add(API + "/{module}/{more*}", _nothing)  # four segments or more, none of the above


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
