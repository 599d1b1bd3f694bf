"""Writing clients and contacts. ClientSuccess has no batch endpoint (§3.6), so each record
is its own call(s), sent as many at once as the connection's `concurrency` allows.

- create: `POST /clients` (or `POST /clients/{clientId}/contacts`); custom fields then go
  out by label: a client's through `PATCH /customfield/value/client/{id}`, a contact's
  (no such endpoint) through a `PUT .../details` of the new contact's detail.
- update: `GET` the detail, write the mapped fields over it, `PUT` the whole record back
  with its whole customFieldValues array (PUT replaces the record: see records.py). Custom
  fields ride in the same PUT, so an update is two calls whatever it changes.
- upsert (clients, on `externalId`): `GET /clients?externalId=X`; found, it is updated from
  that answer (a PUT: two calls); not found, created.

Each record answers for itself: a refusal fails it with ClientSuccess's userMessage; a create
answered 503 (not resent: it may have been carried out) is ambiguous. A user without admin
rights stops the writes with one AuthError (CS-8, api.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from integrate import (
    AMBIGUOUS,
    CREATE,
    UPDATE,
    ConnectorError,
    WriteItem,
    WriteResult,
    path_segment,
)
from integrate_clientsuccess.api import Refused
from integrate_clientsuccess.records import (
    CLIENT_FIELDS,
    CONTACT_FIELDS,
    Unwritable,
    as_read,
    labels_of,
    patch_body,
    replacement,
    split,
)
from integrate_clientsuccess.settings import custom_name

if TYPE_CHECKING:
    from integrate_clientsuccess.api import ClientSuccessApi
    from integrate_clientsuccess.reads import Reads

CODES = {400: "INVALID", 404: "NOT_FOUND", 417: "EXPECTATION_FAILED"}


def refused(ref: int, exc: Refused, what: str) -> WriteResult:
    """One record's failure from ClientSuccess's refusal, its userMessage kept."""
    code = CODES.get(exc.status, str(exc.status))
    return WriteResult.failure(
        ref,
        f"ClientSuccess refused {what} ({exc.status}): {exc.user_message}",
        code,
        retriable=exc.status >= 500 or exc.status == 429,
    )


class Writes:
    """Client and contact writes through `api`; `reads` fetches what an update changes."""

    def __init__(self, api: ClientSuccessApi, reads: Reads):
        self.api = api
        self.reads = reads
        self.client_labels: dict[str, str] = {}  # custom field name: label, as found

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        one: Callable[[WriteItem], WriteResult]
        if object == "clients":
            one = {CREATE: self.create_client, UPDATE: self.update_client}.get(
                operation, self.upsert_client
            )
        else:
            one = self.create_contact if operation == CREATE else self.update_contact
        if len(items) <= 1 or self.api.http.concurrency <= 1:
            return [self._guarded(one, item) for item in items]
        with ThreadPoolExecutor(
            max_workers=min(self.api.http.concurrency, len(items)),
            thread_name_prefix="clientsuccess-write",
        ) as pool:
            return list(pool.map(lambda item: self._guarded(one, item), items))

    @staticmethod
    def _guarded(one: Callable[[WriteItem], WriteResult], item: WriteItem) -> WriteResult:
        """One record's write: its own refusals are its result; a cut-off create is
        ambiguous; anything that stops the connection (AuthError, retries spent) is raised."""
        try:
            return one(item)
        except Unwritable as exc:
            return WriteResult.failure(item.ref, str(exc), "INVALID_VALUE")
        except ConnectorError as exc:
            if exc.code == AMBIGUOUS:
                return WriteResult.ambiguous(item.ref, str(exc))
            raise

    # ---- clients --------------------------------------------------------------------------

    def create_client(self, item: WriteItem) -> WriteResult:
        plain, custom = split(item.values, CLIENT_FIELDS)
        created = self._post(item, "/clients", "create client", "a new client", plain)
        if isinstance(created, WriteResult):
            return created
        answer, id = created
        record = as_read(answer) if isinstance(answer, dict) else None
        if custom:
            self.learn_labels(labels_of(answer) if isinstance(answer, dict) else [])
            try:
                body = patch_body(self.client_labels, custom)
                self.api.call(
                    "PATCH",
                    f"/customfield/value/client/{path_segment(id)}",
                    kind="write",
                    label="client custom fields",
                    what=f"the custom fields of client {id}",
                    json=body,
                    text=True,
                )
            except (Refused, Unwritable) as exc:
                why = exc.user_message if isinstance(exc, Refused) else str(exc)
                return WriteResult(
                    ref=item.ref,
                    ok=False,
                    id=id,
                    error=f"ClientSuccess created client {id} but refused its custom fields: {why}",
                    code="CUSTOM_FIELDS",
                )
            if record is not None:
                record.update({k: (None if v is None else str(v)) for k, v in custom.items()})
        return WriteResult.success(item.ref, id, record=record, created=True)

    def learn_labels(self, labels: Sequence[str]) -> None:
        for label in labels:
            self.client_labels.setdefault(custom_name(label), label)

    def update_client(self, item: WriteItem) -> WriteResult:
        plain, custom = split(item.values, CLIENT_FIELDS)
        id = str(item.id or "")
        current = self.reads.client(id) if id else None
        if current is None or str(current.get("id")) != id:
            return WriteResult.failure(item.ref, f"ClientSuccess has no client {id!r}", "NOT_FOUND")
        return self._put_client(item, current, plain, custom, created=None)

    def upsert_client(self, item: WriteItem) -> WriteResult:
        if tuple(item.keys) != ("externalId",):
            return WriteResult.failure(
                item.ref,
                "ClientSuccess finds a client by externalId only: upsert_on must be [externalId]",
                "UNSUPPORTED_KEY",
            )
        external = item.values.get("externalId")
        if not isinstance(external, str | int) or str(external) == "":
            return WriteResult.failure(item.ref, "the upsert has no externalId", "NO_KEY")
        plain, custom = split(item.values, CLIENT_FIELDS)
        current = self.reads.client_by_external_id(str(external))
        if current is None:
            return self.create_client(item)
        return self._put_client(item, current, plain, custom, created=False)

    def _put_client(
        self,
        item: WriteItem,
        current: Mapping[str, Any],
        plain: Mapping[str, Any],
        custom: Mapping[str, Any],
        *,
        created: bool | None,
    ) -> WriteResult:
        id = str(current["id"])
        self.learn_labels(labels_of(current))
        body = replacement(current, plain, custom)
        path = f"/clients/{path_segment(id)}"
        return self._put(item, id, path, "update client", f"client {id}", body, created)

    def _post(
        self, item: WriteItem, path: str, label: str, what: str, body: Mapping[str, Any]
    ) -> tuple[Any, str] | WriteResult:
        """POST a new record: its answer and id, or the record's result when ClientSuccess
        refused it (a 503, or an answer without an id, leaves it ambiguous)."""
        try:
            answer = self.api.call("POST", path, kind="write", label=label, what=what, json=body)
        except Refused as exc:
            if exc.status == 503:
                return WriteResult.ambiguous(item.ref, str(exc))
            return refused(item.ref, exc, what)
        id = _id(answer)
        if id is None:
            return WriteResult.ambiguous(item.ref, "ClientSuccess answered a create without an id")
        return answer, id

    def _put(
        self,
        item: WriteItem,
        id: str,
        path: str,
        label: str,
        what: str,
        body: Mapping[str, Any],
        created: bool | None,
    ) -> WriteResult:
        """PUT the whole record `id` at `path`: its result, with the record as answered."""
        try:
            answer = self.api.call("PUT", path, kind="write", label=label, what=what, json=body)
        except Refused as exc:
            return refused(item.ref, exc, what)
        record = as_read(answer) if isinstance(answer, dict) and _id(answer) == id else None
        return WriteResult.success(item.ref, id, record=record, created=created)

    # ---- contacts -------------------------------------------------------------------------

    def create_contact(self, item: WriteItem) -> WriteResult:
        plain, custom = split(item.values, CONTACT_FIELDS)
        client_id = plain.get("clientId")
        if client_id in (None, ""):
            return WriteResult.failure(
                item.ref,
                "a ClientSuccess contact lives under a client: map clientId (the client's id)",
                "NO_CLIENT",
            )
        client = str(client_id)
        path = f"/clients/{path_segment(client)}/contacts"
        what = f"a new contact of client {client}"
        created = self._post(item, path, "create contact", what, plain)
        if isinstance(created, WriteResult):
            return created
        answer, id = created
        self.reads.contact_clients[id] = client
        if not custom:
            record = as_read(answer) if isinstance(answer, dict) else None
            return WriteResult.success(item.ref, id, record=record, created=True)
        result = self._put_contact(item, client, id, {}, custom, created=True)
        if not result.ok:
            return WriteResult(
                ref=item.ref,
                ok=False,
                id=id,
                error=f"ClientSuccess created contact {id} but not its custom fields: {result.error}",
                code="CUSTOM_FIELDS",
            )
        return result

    def update_contact(self, item: WriteItem) -> WriteResult:
        plain, custom = split(item.values, CONTACT_FIELDS)
        id = str(item.id or "")
        client = self.reads.client_of(id) if id else None
        if client is None:
            return WriteResult.failure(
                item.ref, f"ClientSuccess has no contact {id!r}", "NOT_FOUND"
            )
        return self._put_contact(item, client, id, plain, custom, created=None)

    def _put_contact(
        self,
        item: WriteItem,
        client: str,
        id: str,
        plain: Mapping[str, Any],
        custom: Mapping[str, Any],
        *,
        created: bool | None,
    ) -> WriteResult:
        current = self.reads.contact(client, id)
        if current is None or str(current.get("id")) != id:
            return WriteResult.failure(
                item.ref, f"ClientSuccess has no contact {id!r}", "NOT_FOUND"
            )
        body = replacement(current, plain, custom)
        path = f"/clients/{path_segment(client)}/contacts/{path_segment(id)}/details"
        what = f"contact {id} of client {client}"
        return self._put(item, id, path, "update contact", what, body, created)


def _id(answer: Any) -> str | None:
    if isinstance(answer, dict) and answer.get("id") not in (None, ""):
        return str(answer["id"])
    return None
