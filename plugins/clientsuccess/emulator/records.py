"""Clients and contacts as ClientSuccess reads and writes them (targets.md §3.4): the write
body checked field by field, the values a create or a full replace (PUT) keeps, custom values
matched by `label`, and the read shapes (a list item or summary without `customFieldValues`,
a detail with them).

Decided here (ASSUMED, docs/clientsuccess-plugin.md lists them): a create without `active`
makes an active client and without `statusId` one of status 1 (Active); a contact's booleans
default to false on create; a PUT sets every writable field it omits to null (booleans too);
`id`, `uuid`, `createdDate`, `lastModifiedDate`, the derived `clientSegment`, `assignedCSM`
and a contact's `name`, and the server-kept `createdByEmployeeId`, `modifiedByEmployeeId`,
`lastEngagement`, `engagementCount` are ignored when sent; keys the API does not know are
ignored; `activeClient` is `active` on input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrate import StoredRow, int64, quoted
from integrate_clientsuccess.emulator.catalogue import Catalogue, CustomField, custom_values
from integrate_clientsuccess.emulator.refusals import (
    CONTACT_MOVED,
    CONTACT_NEEDS,
    EXTERNAL_ID_TAKEN,
    NAME_REQUIRED,
    CsError,
    bad_request,
)
from integrate_clientsuccess.emulator.store import Store
from integrate_clientsuccess.emulator.values import (
    NOTE_MAX,
    Field,
    boolean,
    date,
    iso_date,
    iso_time,
    read_fields,
    text,
    time_zone,
    whole,
)

URL_MAX = 2048

CLIENT_FIELDS = (
    Field("name", text()),
    Field("siteUrl", text(URL_MAX)),
    Field("clientSegmentId", whole()),
    Field("statusId", whole()),
    Field("active", boolean),
    Field("successScore", whole(0, 100)),
    Field("npsScore", whole(-100, 100)),
    Field("externalId", text(100)),
    Field("crmCustomerId", whole()),
    Field("crmCustomerUrl", text(URL_MAX)),
    Field("salesforceAccountId", text(18)),
    *(Field(name, text()) for name in ("zendeskId", "deskId", "freshdeskId", "uservoiceId")),
    *(Field(name, text()) for name in ("jiraId", "usageId", "street", "city", "state", "zip")),
    Field("country", text()),
    Field("timezone", time_zone),
    Field("note", text(NOTE_MAX)),
    Field("inceptionDate", date),
    Field("terminatedDate", date),
    Field("managedByEmployeeId", whole()),
    Field("assignedSalesRep", text()),
    *(Field(name, whole()) for name in ("assignedSalesRepId", "successCycleId")),
    *(Field(name, whole()) for name in ("activeClientSuccessCycleId", "keyContactId")),
    Field("currencyId", whole()),
    Field("linkedinUrl", text(URL_MAX)),
)
CONTACT_BOOLEANS = ("executiveSponsor", "advocate", "champion", "starred", "keyContact")
CONTACT_FIELDS = (
    Field("statusId", whole()),
    *(Field(name, text()) for name in ("firstName", "lastName", "preferredName", "email")),
    *(Field(name, text()) for name in ("phone", "mobile", "title")),
    Field("linkedinUrl", text(URL_MAX)),
    Field("note", text(NOTE_MAX)),
    *(Field(name, text()) for name in ("street", "city", "zip", "country")),
    Field("timezone", time_zone),
    Field("externalId", text(100)),
    Field("salesforceId", text(18)),
    Field("usageId", text()),
    *(Field(name, boolean) for name in CONTACT_BOOLEANS),
    Field("photoUrl", text(URL_MAX)),
    Field("contactState", text()),
)
Body = Mapping[str, Any]


# ---- custom values ------------------------------------------------------------------------


def sent_custom(
    store: Store, fields: tuple[CustomField, ...], items: Any, kept: Mapping[str, Any]
) -> dict[str, Any]:
    """A PUT's `customFieldValues`: the values of the items sent, matched by `label`; every
    definition not sent has no value. A value kept keeps its valueId."""
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise bad_request("customFieldValues must be a list of objects")
    by_label: dict[str, Any] = {}
    for item in items:
        label = item.get("label")
        if not isinstance(label, str):
            raise bad_request("Each item of customFieldValues needs its label")
        by_label[label] = item.get("value")
    return set_custom(store, fields, by_label, {}, kept)


def set_custom(
    store: Store,
    fields: tuple[CustomField, ...],
    by_label: Mapping[str, Any],
    base: Mapping[str, Any],
    kept: Mapping[str, Any],
) -> dict[str, Any]:
    """`base` with the values `by_label` gives (a null or empty value clears one); an
    unknown label is a 400, a value that is not text a 400."""
    labels = {f.label: f for f in fields}
    custom = dict(base)
    for label, value in by_label.items():
        field = labels.get(label)
        if field is None:
            raise bad_request(f"Unknown custom field: {quoted(label)}")
        key = str(field.id)
        if value is None or value == "":
            custom.pop(key, None)
            continue
        if not isinstance(value, str):
            raise bad_request(f"The value of custom field {quoted(label)} must be text")
        if len(value) > 2000:
            raise bad_request(f"The value of custom field {quoted(label)} is too long")
        before = kept.get(key)
        custom[key] = [before[0] if before else int(store.new_id()), value]
    return custom


# ---- clients ------------------------------------------------------------------------------


def client_values(
    store: Store,
    catalogue: Catalogue,
    body: Body,
    *,
    row: StoredRow | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """The values a client write keeps: a create (`row` None), a full replace of `row`, or
    (`partial`, a user's edit) the fields sent over the ones kept."""
    if "activeClient" in body and "active" not in body:
        body = {**body, "active": body["activeClient"]}
    sent = read_fields(body, CLIENT_FIELDS)
    kept = row.values if row is not None else {}
    if partial and row is not None:
        values = {**kept, **sent}
    else:
        values = {f.name: None for f in CLIENT_FIELDS}
        if row is None:
            values.update(active=True, statusId=1)
        values.update(sent)
        values["uuid"] = kept.get("uuid")
        values["custom"] = {}
        for server_set in ("createdByEmployeeId", "modifiedByEmployeeId"):
            values[server_set] = kept.get(server_set)
    name = values.get("name")
    if name is None or not name.strip():
        raise bad_request(NAME_REQUIRED)
    _check_references(catalogue, values)
    old_custom = kept.get("custom", {})
    if "customFieldValues" in body:
        values["custom"] = sent_custom(
            store, catalogue.client_fields, body["customFieldValues"], old_custom
        )
    external = values.get("externalId")
    holder = store.external(external) if external else None
    if holder is not None and holder is not row:
        raise CsError(417, EXTERNAL_ID_TAKEN)
    return values


def _check_references(catalogue: Catalogue, values: Mapping[str, Any]) -> None:
    status = values.get("statusId")
    if status is not None and status not in catalogue.status_ids():
        raise bad_request(f"Unknown client status: {status}")
    segment = values.get("clientSegmentId")
    if segment is not None and segment not in catalogue.segments:
        raise bad_request(f"Unknown client segment: {segment}")
    csm = values.get("managedByEmployeeId")
    if csm is not None and csm not in catalogue.employees:
        raise bad_request(f"Unknown employee: {csm}")


def client_shape(row: StoredRow, catalogue: Catalogue, *, detail: bool) -> dict[str, Any]:
    """A client as read: the list item, or (`detail`) with its `customFieldValues`."""
    v = row.values
    shape: dict[str, Any] = {"id": int(row.id), "uuid": v["uuid"]}
    for field in CLIENT_FIELDS:
        shape[field.name] = v.get(field.name)
    segment = v.get("clientSegmentId")
    shape["clientSegment"] = catalogue.segments.get(segment) if segment is not None else None
    shape["inceptionDate"] = iso_date(v.get("inceptionDate"))
    shape["terminatedDate"] = iso_date(v.get("terminatedDate"))
    shape["createdDate"] = iso_time(row.created)
    shape["lastModifiedDate"] = iso_time(row.modified)
    shape["createdByEmployeeId"] = v.get("createdByEmployeeId")
    shape["modifiedByEmployeeId"] = v.get("modifiedByEmployeeId")
    shape["assignedCSM"] = catalogue.employee_name(v.get("managedByEmployeeId"))
    if detail:
        shape["customFieldValues"] = custom_values(
            catalogue.client_fields, v.get("custom", {}), "clientId", int(row.id)
        )
    return shape


# ---- contacts -----------------------------------------------------------------------------


def contact_values(
    store: Store,
    catalogue: Catalogue,
    body: Body,
    client: StoredRow,
    *,
    row: StoredRow | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """The values a contact write keeps (as `client_values`); it stays with `client`."""
    sent = read_fields(body, CONTACT_FIELDS)
    kept = row.values if row is not None else {}
    moved = body.get("clientId") is not None and int64(body["clientId"]) != int(client.id)
    if row is not None and moved:
        raise bad_request(CONTACT_MOVED)
    if partial and row is not None:
        values = {**kept, **sent}
    else:
        values = {f.name: None for f in CONTACT_FIELDS}
        if row is None:
            values.update(dict.fromkeys(CONTACT_BOOLEANS, False))
        values.update(sent)
        values["uuid"] = kept.get("uuid")
        values["custom"] = {}
        values["lastEngagement"] = kept.get("lastEngagement")
        values["engagementCount"] = kept.get("engagementCount", 0)
    values["clientId"] = int(client.id)
    if not any(values.get(k) for k in ("firstName", "lastName", "email")):
        raise bad_request(CONTACT_NEEDS)
    if "customFieldValues" in body:
        values["custom"] = sent_custom(
            store, catalogue.contact_fields, body["customFieldValues"], kept.get("custom", {})
        )
    return values


def contact_shape(row: StoredRow, catalogue: Catalogue, *, detail: bool) -> dict[str, Any]:
    """A contact as read: the summary, or (`detail`) with its `customFieldValues`."""
    v = row.values
    names = [v.get("firstName"), v.get("lastName")]
    shape: dict[str, Any] = {"id": int(row.id), "uuid": v["uuid"], "clientId": v["clientId"]}
    for field in CONTACT_FIELDS:
        shape[field.name] = v.get(field.name)
    shape["name"] = " ".join(n for n in names if n) or None
    shape["lastEngagement"] = v.get("lastEngagement")
    shape["engagementCount"] = v.get("engagementCount", 0)
    if detail:
        shape["customFieldValues"] = custom_values(
            catalogue.contact_fields, v.get("custom", {}), "contactId", int(row.id)
        )
    return shape
