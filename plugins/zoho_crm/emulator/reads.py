"""Reading: Get Records, one record, related lists, attachments, deleted records, search,
count and users (§2, §5, §6)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import orjson

from integrate import Reply, Window
from integrate_zoho_crm.emulator.catalogue import Module
from integrate_zoho_crm.emulator.errors import RELATED_ID, RELATION_NAME, ZohoError
from integrate_zoho_crm.emulator.org import Call, Org
from integrate_zoho_crm.emulator.paging import (
    MAX_PER_PAGE,
    Sorting,
    fields_param,
    modified_since,
    paginate,
    positive,
    signature,
    simple_page,
    sort_rows,
    sorting,
)
from integrate_zoho_crm.emulator.search import matcher
from integrate_zoho_crm.emulator.store import Row
from integrate_zoho_crm.emulator.values import iso

SEARCH_ROWS = 2_000
JSON = "application/json;charset=UTF-8"
ATTACHMENT_KEYS = {
    "id",
    "File_Name",
    "Size",
    "Parent_Id",
    "Owner",
    "Created_By",
    "Modified_By",
    "Created_Time",
    "Modified_Time",
    "$file_id",
    "$se_module",
    "$type",
    "$attachment_type",
    "$link_url",
    "$editable",
    "$state",
    "$sharing_permission",
}


def converted_filter(module: Module, args: Mapping[str, str]) -> str:
    value = args.get("converted", "false").lower()
    if value not in ("true", "false", "both"):
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "converted"})
    return value if module.convertable else "both"


def _keep(row: Row, converted: str) -> bool:
    if converted == "both":
        return True
    return bool(row.values.get("Converted__s")) == (converted == "true")


def _empty(since: int | None) -> Reply:
    """No rows: 304 when If-Modified-Since was given, else 204 (§2)."""
    return Reply(304 if since is not None else 204)


def _ids(args: Mapping[str, str]) -> set[str] | None:
    raw = args.get("ids")
    return {i.strip() for i in raw.split(",") if i.strip()} if raw else None


def _records(org: Org, rows: list[Row], names: list[str] | None) -> list[dict[str, Any]]:
    store = org.store
    return [store.render(r, names) | store.system_keys(r) for r in rows]


def list_records(org: Org, module: Module, call: Call) -> Reply:
    """GET /{module}."""
    args = call.args
    names = fields_param(module, args, required=True)
    converted = converted_filter(module, args)
    sort = sorting(args)
    if "cvid" in args:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "cvid"})
    since = modified_since(call.headers)
    wanted = _ids(args)
    bound = signature(
        module.api_name,
        args.get("fields"),
        args.get("per_page"),
        sort.by,
        sort.order,
        converted,
        args.get("ids"),
        since,
        call.user.id,
    )

    def ordered() -> list[Row]:
        rows = [
            r
            for r in org.store.rows[module.api_name].values()
            if (wanted is None or r.id in wanted) and _keep(r, converted)
        ]
        return sort_rows(rows, sort)

    # The sorted listing is kept per store version whatever If-Modified-Since asks (a read by
    # key asks from a new second every page); the filter then takes a window on it.
    base = signature(module.api_name, sort.by, sort.order, converted, args.get("ids"))
    rows = _since(org.listing(base, ordered), since, sort)
    page = paginate(rows, args, tokens=org.pages, signature=bound, now=call.now, sort=sort)
    if not page.rows:
        return _empty(since)
    org.count_answered("list", len(page.rows))
    data = org.encode_rows(module.api_name, list(page.rows), names or [])
    body = b'{"data":' + data + b',"info":' + orjson.dumps(page.info) + b"}"
    return Reply(200, raw=body, content_type=JSON)


def _since(rows: list[Row], since: int | None, sort: Sorting) -> Sequence[Row]:
    """The rows modified at or after `since` (If-Modified-Since), in the listing's order.
    Sorted by Modified_Time, a window on the listing rather than a copy of it: a read by key
    asks from a new second every page, and copying the rest of a big listing for each page
    would cost more than the page."""
    if since is None:
        return rows
    if sort.by != "Modified_Time":
        return [r for r in rows if r.modified >= since]
    if sort.order == "asc":
        return Window(rows, bisect.bisect_left(rows, since, key=lambda r: r.modified), len(rows))
    return Window(rows, 0, bisect.bisect_right(rows, -since, key=lambda r: -r.modified))


def get_record(org: Org, module: Module, record_id: str, call: Call) -> Reply:
    """GET /{module}/{id}: every field; 204 when there is no such record (ASSUMED)."""
    names = fields_param(module, call.args, required=False)
    row = org.store.get(module.api_name, record_id)
    if row is None:
        if not record_id.isdigit():
            raise ZohoError(
                400, "INVALID_DATA", "the id given seems to be invalid", {"resource_path_index": 1}
            )
        return Reply(204)
    since = modified_since(call.headers)
    if since is not None and row.modified < since:
        return Reply(304)
    return Reply(200, {"data": _records(org, [row], names)})


def parent_of(org: Org, module: Module, record_id: str) -> Row:
    row = org.store.get(module.api_name, record_id)
    if row is None:
        raise ZohoError(400, "INVALID_DATA", RELATED_ID, {"resource_path_index": 1})
    return row


def related_records(org: Org, module: Module, record_id: str, name: str, call: Call) -> Reply:
    """GET /{module}/{id}/{related list}."""
    related = module.related_list(name)
    if related is None or related.api_name == "Attachments":
        raise ZohoError(400, "INVALID_DATA", RELATION_NAME, {"resource_path_index": 2})
    parent = parent_of(org, module, record_id)
    child = org.module(related.module)
    args = call.args
    names = fields_param(child, args, required=True)
    converted = converted_filter(child, args)
    sort = sorting(args)
    since = modified_since(call.headers)
    rows = [
        r
        for r in org.store.related(parent, related.module, related.field)
        if (since is None or r.modified >= since) and _keep(r, converted)
    ]
    bound = signature(
        module.api_name,
        parent.id,
        related.api_name,
        args.get("fields"),
        args.get("per_page"),
        sort.by,
        sort.order,
        converted,
        since,
        call.user.id,
    )
    page = paginate(
        sort_rows(rows, sort), args, tokens=org.pages, signature=bound, now=call.now, sort=sort
    )
    if not page.rows:
        return _empty(since)
    return Reply(200, {"data": _records(org, list(page.rows), names), "info": page.info})


def attachments(org: Org, module: Module, record_id: str, call: Call) -> Reply:
    """GET /{module}/{id}/Attachments: every key of each attachment, whatever `fields` asks
    (ASSUMED); `fields` is still required."""
    if module.related_list("Attachments") is None:
        raise ZohoError(400, "INVALID_DATA", RELATION_NAME, {"resource_path_index": 2})
    parent = parent_of(org, module, record_id)
    raw = call.args.get("fields", "")
    if not raw.strip():
        raise ZohoError(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param_name": "fields", "param": "fields"},
        )
    for name in (n.strip() for n in raw.split(",") if n.strip()):
        if name not in ATTACHMENT_KEYS:
            raise ZohoError(
                400, "INVALID_DATA", "invalid data", {"api_name": name, "param_name": "fields"}
            )
    rows = org.store.related(parent, "Attachments", "Parent_Id")[::-1]
    chunk, info = simple_page(rows, call.args)
    if not chunk:
        return Reply(204)
    return Reply(200, {"data": [org.store.attachment(r) for r in chunk], "info": info})


def download(org: Org, module: Module, record_id: str, attachment_id: str) -> Reply:
    """GET /{module}/{id}/Attachments/{attachment id}: the file's bytes."""
    parent = parent_of(org, module, record_id)
    row = org.store.get("Attachments", attachment_id)
    if row is None or row.values.get("Parent_Id") != parent.id:
        raise ZohoError(
            400,
            "INVALID_DATA",
            RELATED_ID,
            {"related_status": "invalid", "resource_path_index": 3},
        )
    name = str(row.values.get("File_Name") or "attachment")
    return Reply(
        200,
        raw=org.store.content(row.id),
        content_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def deleted_records(org: Org, module: Module, call: Call) -> Reply:
    """GET /{module}/deleted?type=all|recycle|permanent."""
    kind = call.args.get("type", "all")
    if kind not in ("all", "recycle", "permanent"):
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "type"})
    since = modified_since(call.headers)
    entries = [
        (t, e)
        for t, e in org.store.deleted_entries(module.api_name, call.now)
        if (kind == "all" or t == kind) and (since is None or e.deleted_time >= since)
    ]
    chunk, info = simple_page(entries, call.args)
    if not chunk:
        return _empty(since)
    store = org.store
    data = []
    for t, entry in chunk:
        recycled = t == "recycle"
        data.append(
            {
                "id": entry.id,
                "display_name": entry.display_name if recycled else None,
                "type": t,
                "deleted_time": iso(entry.deleted_time),
                "deleted_by": store.user_ref(entry.deleted_by) if recycled else None,
                "created_by": store.user_ref(entry.created_by) if recycled else None,
            }
        )
    return Reply(200, {"data": data, "info": info})


def search(org: Org, module: Module, call: Call) -> Reply:
    """GET /{module}/search?criteria=|email=|phone=|word= (§2.2): 2,000 rows at most."""
    args = call.args
    names = fields_param(module, args, required=False)
    match = matcher(module, args, org.store)
    converted = converted_filter(module, args)
    rows = [r for r in org.store.rows[module.api_name].values() if _keep(r, converted) and match(r)]
    per_page = positive(args, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
    if positive(args, "page", 1) * per_page > SEARCH_ROWS:
        raise ZohoError(400, "LIMIT_REACHED", "Record count exceeded", {"limit": SEARCH_ROWS})
    chunk, info = simple_page(rows[::-1][:SEARCH_ROWS], args)
    if not chunk:
        return Reply(204)
    return Reply(200, {"data": _records(org, list(chunk), names), "info": info})


def count(org: Org, module: Module, call: Call) -> Reply:
    """GET /{module}/actions/count: Zoho's file types the count as a string."""
    args = call.args
    match = matcher(module, args, org.store, optional=True)
    converted = converted_filter(module, args)
    total = sum(
        1 for r in org.store.rows[module.api_name].values() if _keep(r, converted) and match(r)
    )
    return Reply(200, {"count": str(total)})


USER_TYPES = (
    "AllUsers",
    "ActiveUsers",
    "DeactiveUsers",
    "ConfirmedUsers",
    "NotConfirmedUsers",
    "DeletedUsers",
    "ActiveConfirmedUsers",
    "AdminUsers",
    "ActiveConfirmedAdmins",
    "CurrentUser",
)


def users(org: Org, call: Call, user_id: str | None = None) -> Reply:
    """GET /users?type=AllUsers&page&per_page, GET /users/{id}."""
    kind = call.args.get("type", "AllUsers")
    if kind not in USER_TYPES:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "type"})
    everyone = org.store.users
    chosen = {
        "AllUsers": everyone,
        "ActiveUsers": [u for u in everyone if u.status == "active"],
        "DeactiveUsers": [u for u in everyone if u.status != "active"],
        "ConfirmedUsers": everyone,
        "NotConfirmedUsers": [],
        "DeletedUsers": [],
        "ActiveConfirmedUsers": [u for u in everyone if u.status == "active"],
        "AdminUsers": [u for u in everyone if u.admin],
        "ActiveConfirmedAdmins": [u for u in everyone if u.admin and u.status == "active"],
        "CurrentUser": [call.user],
    }[kind]
    if user_id is not None:
        chosen = [u for u in everyone if u.id == user_id]
    chunk, info = simple_page(chosen, call.args)
    if not chunk:
        return Reply(204)
    body = [
        {
            "id": u.id,
            "first_name": u.first_name,
            "last_name": u.last_name,
            "full_name": u.full_name,
            "email": u.email,
            "status": u.status,
            "confirm": True,
            "zuid": str(10_000_000 + int(u.id[-3:])),
            "role": {"name": "CEO" if u.admin else "Manager", "id": f"{u.id[:7]}000000031154"},
            "profile": {
                "name": "Administrator" if u.admin else "Standard",
                "id": f"{u.id[:7]}00000003115{'1' if u.admin else '7'}",
            },
            "created_time": iso(u.created),
            "Modified_Time": iso(u.created),
            "Isonline": False,
            "country_locale": "en_US",
            "locale": "en_US",
            "language": "en_US",
            "category": "regular_user",
            "Currency": "EUR",
        }
        for u in chunk
    ]
    return Reply(200, {"users": body, "info": info})
