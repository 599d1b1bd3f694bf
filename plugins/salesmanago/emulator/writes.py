"""The writing methods of §2.6: `upsert` (by `contact.email`), `insert` (only new),
`update` (by the top-level `email`), `batchupsert` (one owner, `upsertDetails[]`, at most
`Limits.batch` items), `batchupsertv2` (the same as a job), `delete`, and consent
(`optin`/`optout` by email or id, `batchoptin`/`batchoptout` by emails).

Decided here (docs/salesmanago-plugin.md says so): the owner a write names becomes the
contact's owner; an upsert that changes nothing leaves modifiedOn alone; a batch carries out
every item it can and answers `success: false` when any was refused, with one message per
refused item, `upsertDetails[<index>]: <why>`, and `contactIds` keyed by each landed item's
`contact.email` as sent; a deleted contact (not `permanently`) stays, marked `deleted`, and
an upsert brings it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrate import quoted
from integrate_salesmanago.emulator import contacts
from integrate_salesmanago.emulator.calls import Call, listed
from integrate_salesmanago.emulator.contacts import Refused, Upsert, email_of
from integrate_salesmanago.emulator.store import Contact

Body = Mapping[str, Any]
EXISTS = "Contact with given email already exists"
MISSING = "Contact with given email does not exist"


def _write(call: Call, upsert: Upsert, found: Contact | None) -> Contact:
    """Create or change one contact; a newEmail already held by another is refused first."""
    new_email = upsert.new_email
    if new_email is not None:
        holder = call.store.by_mail(new_email)
        if holder is not None and holder is not found:
            raise Refused(EXISTS, contactId=None)
    if found is None:
        if new_email is not None:
            upsert.email = new_email
        return contacts.create(call.store, upsert, call.owner, call.now)
    values = contacts.applied(found.values, upsert, call.owner, call.now)
    if new_email is not None:
        values["email"] = new_email
    if values != found.values:  # an upsert that changes nothing leaves modifiedOn alone
        call.store.replace(found, values, call.now)
    return found


def _parsed(call: Call, body: Body, *, needs_email: bool = True) -> Upsert:
    try:
        return contacts.parse(
            body, property_max=call.limits.property_length, needs_email=needs_email
        )
    except Refused as refused:
        raise Refused(refused.message, contactId=None) from None


def upsert(call: Call, body: Body) -> dict[str, Any]:
    given = _parsed(call, body)
    contact = _write(call, given, call.store.by_mail(given.email))
    return {"contactId": contact.id}


def insert(call: Call, body: Body) -> dict[str, Any]:
    given = _parsed(call, body)
    if call.store.by_mail(given.email) is not None:
        raise Refused(EXISTS, contactId=None)
    return {"contactId": _write(call, given, None).id}


def update(call: Call, body: Body) -> dict[str, Any]:
    """The contact named by the top-level `email` (§2.8 gotcha 4), never a new one."""
    found = _by_email(call, body)
    given = _parsed(call, body, needs_email=False)
    return {"contactId": _write(call, given, found).id}


def batch_upsert(call: Call, body: Body) -> dict[str, Any]:
    """Every item that can be written is; each refused one is named in `message`."""
    details = body.get("upsertDetails")
    if not isinstance(details, list):
        raise Refused("Invalid upsertDetails: expected a list", contactIds=None)
    if len(details) > call.limits.batch:
        raise Refused(
            f"Too many contacts in one request (at most {call.limits.batch})", contactIds=None
        )
    ids: dict[str, str] = {}
    messages: list[str] = []
    for index, item in enumerate(details):
        try:
            given = contacts.parse(item, property_max=call.limits.property_length)
            sent = given.email
            contact = _write(call, given, call.store.by_mail(given.email))
        except Refused as refused:
            messages.append(f"upsertDetails[{index}]: {refused.message}")
            continue
        assert sent is not None
        ids[sent] = contact.id
    return {"success": not messages, "message": messages, "contactIds": ids}


def batch_upsert_job(call: Call, body: Body) -> dict[str, Any]:
    """batchupsertv2: the batch is carried out at once; `job/status` gives its outcome."""
    outcome = batch_upsert(call, body)
    request_id = call.jobs.start()
    call.jobs.finish(
        request_id, {"contactIds": outcome["contactIds"], "refused": outcome["message"]}
    )
    return {"requestId": request_id}


def delete(call: Call, body: Body) -> dict[str, Any]:
    found = call.store.by_mail(email_of(body.get("email")))
    if found is None:
        raise Refused(MISSING)
    permanently = body.get("permanently", False)
    if not isinstance(permanently, bool):
        raise Refused("Invalid permanently: expected true or false")
    if permanently:
        call.store.remove(found)
    elif not found.values["deleted"]:
        call.store.replace(found, {**found.values, "deleted": True}, call.now)
    return {}


def opt_in(call: Call, body: Body) -> dict[str, Any]:
    return _consent(call, _one(call, body), opted_out=False)


def opt_out(call: Call, body: Body) -> dict[str, Any]:
    return _consent(call, _one(call, body), opted_out=True)


def _one(call: Call, body: Body) -> Contact:
    """The contact named by `contactId`, else by `email`."""
    if body.get("contactId") not in (None, ""):
        found = call.store.contact(body.get("contactId"))
        if found is None:
            raise Refused("Contact with given id does not exist", contactId=None)
        return found
    return _by_email(call, body)


def _by_email(call: Call, body: Body) -> Contact:
    """The contact named by the body's top-level `email` (refused when there is none)."""
    try:
        email = email_of(body.get("email"))
    except Refused as refused:
        raise Refused(refused.message, contactId=None) from None
    found = call.store.by_mail(email)
    if found is None:
        raise Refused(MISSING, contactId=None)
    return found


def _consent(call: Call, contact: Contact, *, opted_out: bool) -> dict[str, Any]:
    if contact.values["optedOut"] != opted_out:
        call.store.replace(contact, {**contact.values, "optedOut": opted_out}, call.now)
    return {"contactId": contact.id}


def batch_opt_in(call: Call, body: Body) -> dict[str, Any]:
    return _batch_consent(call, body, opted_out=False)


def batch_opt_out(call: Call, body: Body) -> dict[str, Any]:
    return _batch_consent(call, body, opted_out=True)


def _batch_consent(call: Call, body: Body, *, opted_out: bool) -> dict[str, Any]:
    ids: dict[str, str] = {}
    messages: list[str] = []
    for email in listed(body, "emails", call.limits.batch):
        found = call.store.by_mail(email)
        if found is None:
            messages.append(f"{quoted(email)}: {MISSING}")
            continue
        _consent(call, found, opted_out=opted_out)
        ids[str(email)] = found.id
    return {"success": not messages, "message": messages, "contactIds": ids}
