"""The reading methods of §2.6: contacts by email or id (`basic`, `basicById`, `list`,
`listById`, `hasContact`), the contacts modified or created in a time window
(`modifiedContacts`, `paginatedModifiedContacts`, `createdContacts`), and the asynchronous
export (`paginatedContactList/export`, then `job/status`, then the file).

Decided here (targets.md leaves it open; docs/salesmanago-plugin.md says so): `from` and
`to` are epoch millis, both included, `to` defaulting to now; listings are in the order of
that time, then by id; `page` counts from 1; `size` is 1 to 1000; the modified and created
listings cover every contact of the account, whichever user owns it; the id lists answer
only the contacts found, in the order asked; `listById` answers what `list` answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrate import page_of
from integrate_salesmanago.emulator.calls import Call, listed, number
from integrate_salesmanago.emulator.contacts import Refused, render
from integrate_salesmanago.emulator.store import CONTACTS, Contact

Body = Mapping[str, Any]


def has_contact(call: Call, body: Body) -> dict[str, Any]:
    """`result` true and the id when a contact has the email (keys ASSUMED, §2.6)."""
    contact = call.store.by_mail(body.get("email"))
    return {"result": contact is not None, "contactId": contact.id if contact else None}


def basic(call: Call, body: Body) -> dict[str, Any]:
    return _by_email(call, body, full=False)


def full_list(call: Call, body: Body) -> dict[str, Any]:
    return _by_email(call, body, full=True)


def basic_by_id(call: Call, body: Body) -> dict[str, Any]:
    return _by_id(call, body, "id", full=False)


def list_by_id(call: Call, body: Body) -> dict[str, Any]:
    return _by_id(call, body, "contactId", full=True)


def _by_email(call: Call, body: Body, *, full: bool) -> dict[str, Any]:
    found = (call.store.by_mail(e) for e in listed(body, "email", call.limits.ids))
    return {"contacts": _rendered(found, full)}


def _by_id(call: Call, body: Body, key: str, *, full: bool) -> dict[str, Any]:
    found = (call.store.contact(i) for i in listed(body, key, call.limits.ids))
    return {"contacts": _rendered(found, full)}


def _rendered(found: Any, full: bool) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for contact in found:
        if contact is not None and contact.id not in seen:
            seen.add(contact.id)
            out.append(render(contact, full=full))
    return out


def _window(call: Call, body: Body, *, created: bool) -> Sequence[Contact]:
    start = number(body, "from")
    end = number(body, "to", default=call.now)
    return call.store.between(CONTACTS, start, end, created=created)


def _item(contact: Contact) -> dict[str, Any]:
    return {"contactId": contact.id, "email": contact.values["email"]}


def modified(call: Call, body: Body) -> dict[str, Any]:
    """Every contact modified in the window, id and email (list key ASSUMED, §2.6)."""
    return {"modifiedContacts": [_item(c) for c in _window(call, body, created=False)]}


def created(call: Call, body: Body) -> dict[str, Any]:
    return {"createdContacts": [_item(c) for c in _window(call, body, created=True)]}


def paginated_modified(call: Call, body: Body) -> dict[str, Any]:
    """One page of the window's modified contacts, and whether more follow."""
    page, size = _paging(call, body)
    rows, more = page_of(_window(call, body, created=False), (page - 1) * size, size)
    return {
        "modifiedContacts": [_item(c) for c in rows],
        "page": page,
        "size": size,
        "hasMore": more,
    }


def _paging(call: Call, body: Body) -> tuple[int, int]:
    page = number(body, "page", default=1)
    size = number(body, "size", default=call.limits.page_size)
    if page < 1:
        raise Refused("Invalid page: pages are numbered from 1")
    if not 1 <= size <= call.limits.page_size:
        raise Refused(f"Invalid size: from 1 to {call.limits.page_size}")
    return page, size


def export(call: Call, body: Body) -> dict[str, Any]:
    """An export job for one page of all contacts (in creation order), done at once: its
    file holds `{"contacts": [...]}` in the `list` shape (ASSUMED, §2.6)."""
    page, size = _paging(call, body)
    rows, _more = page_of(call.store.between(CONTACTS, created=True), (page - 1) * size, size)
    request_id = call.jobs.start()
    token = call.jobs.keep([render(c, full=True) for c in rows])
    call.jobs.finish(request_id, {"fileUrl": f"{call.files_url}/{token}.json"})
    return {"requestId": request_id}


def job_status(call: Call, body: Body) -> dict[str, Any]:
    """A job's result: jobs are done on the first poll (`message` empty, `fileUrl` set)."""
    request_id = body.get("requestId")
    result = call.jobs.result(request_id) if isinstance(request_id, str) else None
    if result is None:
        raise Refused("Unknown requestId")
    return {"requestId": request_id, **result}
