"""The v1 endpoints of targets.md §3.3 the emulator serves: clients (list, lookup by
externalId, detail, create, full replace, delete), their custom values (PATCH), their
contacts (summaries, detail, create, full replace, delete), the contact lookup by client
externalId and email, the contact search, and the reference data.

Decided here (ASSUMED, docs/clientsuccess-plugin.md lists them): a create answers 201 for a
client and 200 for a contact, a delete 204 with no body (as C4's recorded calls show);
deleting a client deletes its contacts; lists are in id order; `activeOnly` takes `true` or
`false` (any case); the externalId lookup ignores `activeOnly`; the contact lookup needs both
`clientExternalId` and `email` and answers the first match by id; `/contacts/search` needs a
non-empty `term` and answers summaries; a PATCH of custom values changes only the labels sent
(an empty or null value clears one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from integrate import Reply, StoredRow, int64
from integrate_clientsuccess.emulator.auth import User
from integrate_clientsuccess.emulator.catalogue import STATUSES, Catalogue
from integrate_clientsuccess.emulator.records import (
    client_shape,
    client_values,
    contact_shape,
    contact_values,
    set_custom,
)
from integrate_clientsuccess.emulator.refusals import (
    CLIENT_NOT_FOUND,
    CONTACT_NOT_FOUND,
    UPDATED,
    CsError,
    bad_request,
)
from integrate_clientsuccess.emulator.store import CLIENTS, CONTACTS, Store

Params = Mapping[str, str]


@dataclass(frozen=True)
class Call:
    """What a handler works with: the account, the caller, the clock (epoch millis), the
    query string and the request's JSON body (read on demand, refused as a 400)."""

    store: Store
    catalogue: Catalogue
    user: User
    now: int
    args: Mapping[str, str]
    body: Callable[[], dict[str, Any]]


Handler = Callable[[Call, Params], Reply]


# ---- clients ------------------------------------------------------------------------------


def list_clients(call: Call, params: Params) -> Reply:
    """Every client (`activeOnly`, default true; `assignedCsmId`), or with `externalId` the
    one client that holds it."""
    if "externalId" in call.args:
        found = call.store.external(call.args["externalId"])
        if found is None:
            raise CsError(404, CLIENT_NOT_FOUND)
        return Reply(200, client_shape(found, call.catalogue, detail=True))
    active_only = _flag(call.args, "activeOnly", default=True)
    csm = call.args.get("assignedCsmId")
    csm_id = int64(csm) if csm not in (None, "") else None
    if csm not in (None, "") and csm_id is None:
        raise bad_request("assignedCsmId must be a whole number")
    rows = [
        r
        for r in call.store.clients()
        if (not active_only or r.values.get("active") is True)
        and (csm_id is None or r.values.get("managedByEmployeeId") == csm_id)
    ]
    return Reply(200, [client_shape(r, call.catalogue, detail=False) for r in rows])


def _flag(args: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = args.get(name)
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise bad_request(f"{name} must be true or false")
    return value.lower() == "true"


def get_client(call: Call, params: Params) -> Reply:
    return Reply(200, client_shape(_client(call, params), call.catalogue, detail=True))


def create_client(call: Call, params: Params) -> Reply:
    values = client_values(call.store, call.catalogue, call.body())
    values["createdByEmployeeId"] = values["modifiedByEmployeeId"] = call.user.employee_id
    row = call.store.make(CLIENTS, values, call.now)
    return Reply(201, client_shape(row, call.catalogue, detail=True))


def replace_client(call: Call, params: Params) -> Reply:
    """PUT: the whole client; what the body omits becomes null (§3.3)."""
    row = _client(call, params)
    values = client_values(call.store, call.catalogue, call.body(), row=row)
    values["modifiedByEmployeeId"] = call.user.employee_id
    call.store.replace(row, values, call.now)
    return Reply(200, client_shape(row, call.catalogue, detail=True))


def delete_client(call: Call, params: Params) -> Reply:
    row = _client(call, params)
    for contact in call.store.contacts(row):
        call.store.remove(contact)
    call.store.remove(row)
    return Reply(204)


def patch_custom_values(call: Call, params: Params) -> Reply:
    """`{"<label>": "<value>"}`: those custom values set, answered as plain text (§3.3)."""
    row = _client(call, params)
    body = call.body()
    kept = row.values.get("custom", {})
    custom = set_custom(call.store, call.catalogue.client_fields, body, kept, kept)
    values = {**row.values, "custom": custom, "modifiedByEmployeeId": call.user.employee_id}
    call.store.replace(row, values, call.now)
    return Reply(200, raw=UPDATED.encode(), content_type="text/plain;charset=UTF-8")


def _client(call: Call, params: Params) -> StoredRow:
    found = call.store.client(params["id"])
    if found is None:
        raise CsError(404, CLIENT_NOT_FOUND)
    return found


# ---- contacts -----------------------------------------------------------------------------


def list_contacts(call: Call, params: Params) -> Reply:
    client = _client(call, params)
    rows = call.store.contacts(client)
    return Reply(200, [contact_shape(r, call.catalogue, detail=False) for r in rows])


def create_contact(call: Call, params: Params) -> Reply:
    client = _client(call, params)
    values = contact_values(call.store, call.catalogue, call.body(), client)
    row = call.store.make(CONTACTS, values, call.now)
    return Reply(200, contact_shape(row, call.catalogue, detail=True))


def get_contact(call: Call, params: Params) -> Reply:
    return Reply(200, contact_shape(_contact(call, params), call.catalogue, detail=False))


def contact_details(call: Call, params: Params) -> Reply:
    return Reply(200, contact_shape(_contact(call, params), call.catalogue, detail=True))


def replace_contact(call: Call, params: Params) -> Reply:
    """PUT details: the whole contact; it stays with its client (§3.3)."""
    row = _contact(call, params)
    client = _client(call, params)
    values = contact_values(call.store, call.catalogue, call.body(), client, row=row)
    call.store.replace(row, values, call.now)
    return Reply(200, contact_shape(row, call.catalogue, detail=True))


def delete_contact(call: Call, params: Params) -> Reply:
    call.store.remove(_contact(call, params))
    return Reply(204)


def _contact(call: Call, params: Params) -> StoredRow:
    """The contact of the path's client; one of another client is not found."""
    client = _client(call, params)
    found = call.store.contact(params["cid"])
    if found is None or found.values["clientId"] != int(client.id):
        raise CsError(404, CONTACT_NOT_FOUND)
    return found


def lookup_contact(call: Call, params: Params) -> Reply:
    """The contact of the client holding `clientExternalId` (exact) whose email is `email`
    (without case)."""
    external, email = call.args.get("clientExternalId"), call.args.get("email")
    if not external or not email:
        raise bad_request("clientExternalId and email are required")
    client = call.store.external(external)
    wanted = email.casefold()
    for row in call.store.contacts(client) if client is not None else []:
        if (row.values.get("email") or "").casefold() == wanted:
            return Reply(200, contact_shape(row, call.catalogue, detail=False))
    raise CsError(404, CONTACT_NOT_FOUND)


def search_contacts(call: Call, params: Params) -> Reply:
    """Contacts whose name or email contains `term`, without case."""
    term = (call.args.get("term") or "").strip().casefold()
    if not term:
        raise bad_request("term is required")
    found = []
    for row in sorted(call.store.rows[CONTACTS].values(), key=lambda r: int(r.id)):
        v = row.values
        names = (v.get("firstName"), v.get("lastName"), v.get("email"))
        whole = " ".join(n for n in (v.get("firstName"), v.get("lastName")) if n)
        if any(term in n.casefold() for n in (*names, whole) if n):
            found.append(contact_shape(row, call.catalogue, detail=False))
    return Reply(200, found)


# ---- reference data -----------------------------------------------------------------------


def contact_custom_fields(call: Call, params: Params) -> Reply:
    fields = call.catalogue.contact_fields
    return Reply(200, [{"id": f.id, "label": f.label, "type": f.type} for f in fields])


def client_statuses(call: Call, params: Params) -> Reply:
    return Reply(200, [dict(s) for s in STATUSES])


def client_segments(call: Call, params: Params) -> Reply:
    segments = call.catalogue.segments.items()
    return Reply(200, [{"id": id, "title": title} for id, title in segments])


def employees(call: Call, params: Params) -> Reply:
    return Reply(200, [dict(e) for e in call.catalogue.employees.values()])
