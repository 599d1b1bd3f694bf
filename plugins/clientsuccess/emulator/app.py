"""`ClientSuccessEmulator`: ClientSuccess's v1 REST API (targets.md §3) as one in-process
HTTP app, under `/v1`: a username and password buy a 12-hour token at `/v1/auth`, sent back
raw in `Authorization`; clients (a plain unpaged array, a lookup by externalId answering one
object, full-replace PUTs, custom values by label) and their contacts; errors as
`{"userMessage": ...}`.

Built on the emulation kit (records, routing, refusals, the token bucket, the JSON body
guard, save/restore); ClientSuccess's own behaviour is here and beside it (auth, records,
handlers). Call kinds (what `calls()` counts): `auth`, `list`, `lookup`, `get`, `create`,
`update`, `patch`, `delete`, `search`, `reference`, `unknown`; a call refused by the rate
limit is counted under its kind and under `limit:429`.

Decided here (ASSUMED, docs/clientsuccess-plugin.md lists them all): an unknown path is a
404 before any token is asked for, a method a path does not take a 405; the rate limit is
per token (`/auth` is not limited) and its 429 carries no Retry-After; a body that is not a
JSON object, or is over `max_body_bytes`, is a 400; `maintenance` answers every call 503.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import (
    Answer,
    BodyRefused,
    Clock,
    Faults,
    HttpEmulator,
    Record,
    Reply,
    Route,
    Router,
    Saveable,
    StoredRow,
    TokenBucket,
    json_object,
    quoted,
)
from integrate_clientsuccess.emulator import handlers as h
from integrate_clientsuccess.emulator import options as option
from integrate_clientsuccess.emulator.auth import Sessions, User, credentials, login
from integrate_clientsuccess.emulator.catalogue import SEGMENTS, Catalogue
from integrate_clientsuccess.emulator.generator import generate
from integrate_clientsuccess.emulator.records import (
    client_shape,
    client_values,
    contact_shape,
    contact_values,
)
from integrate_clientsuccess.emulator.refusals import (
    ACCESS_DENIED,
    INVALID_TOKEN,
    MAINTENANCE,
    NOT_FOUND,
    SERVER_ERROR,
    TOO_MANY_REQUESTS,
    CsError,
    EmulatorOptionError,
)
from integrate_clientsuccess.emulator.store import CLIENTS, CONTACTS, Store

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

BASE = "/v1"
AUTH = "/auth"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
ADMIN = ("api@clientsuccess.example", "cs-sandbox-admin")
READER = ("viewer@clientsuccess.example", "cs-sandbox-viewer")
Methods = dict[str, tuple[str, h.Handler | None]]  # method -> (kind, handler)
# The paths served under /v1, each with its methods; /auth's handler is the emulator's own.
SERVED: tuple[tuple[str, Methods], ...] = (
    (AUTH, {"POST": ("auth", None)}),
    ("/clients", {"GET": ("list", h.list_clients), "POST": ("create", h.create_client)}),
    ("/clients/{id}", {"GET": ("get", h.get_client), "PUT": ("update", h.replace_client),
                       "DELETE": ("delete", h.delete_client)}),
    ("/clients/{id}/contacts", {"GET": ("list", h.list_contacts),
                                "POST": ("create", h.create_contact)}),
    ("/clients/{id}/contacts/{cid}", {"GET": ("get", h.get_contact),
                                      "DELETE": ("delete", h.delete_contact)}),
    ("/clients/{id}/contacts/{cid}/details", {"GET": ("get", h.contact_details),
                                              "PUT": ("update", h.replace_contact)}),
    ("/customfield/value/client/{id}", {"PATCH": ("patch", h.patch_custom_values)}),
    ("/contacts", {"GET": ("lookup", h.lookup_contact)}),
    ("/contacts/search", {"GET": ("search", h.search_contacts)}),
    ("/contact-custom-fields", {"GET": ("reference", h.contact_custom_fields)}),
    ("/client-statuses", {"GET": ("reference", h.client_statuses)}),
    ("/client-segments", {"GET": ("reference", h.client_segments)}),
    ("/employees", {"GET": ("reference", h.employees)}),
)  # fmt: skip
PATHS: Router[Methods] = Router()
for _path, _methods in SERVED:
    PATHS.add(_path, _methods)
BODY_REFUSED = {
    "too_large": "Request body too large",
    "malformed": "Malformed JSON request",
    "not_object": "Malformed JSON request: expected a JSON object",
}


class ClientSuccessEmulator(HttpEmulator):
    """ClientSuccess's v1 API, in process (see the module's docstring)."""

    plugin = "clientsuccess"

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        faults: Faults | Mapping[str, Any] | None = None,
        clients: int = 10,
        contacts_per_client: int = 3,
        admin_username: str = ADMIN[0],
        admin_password: str = ADMIN[1],
        reader_username: str = READER[0],
        reader_password: str = READER[1],
        token_lifetime: float = 43200,
        rate_limit_per_second: float = 10,
        segments: str | Sequence[str] = SEGMENTS,
        maintenance: bool = False,
        max_body_bytes: int = 1024 * 1024,
    ):
        clients = option.count("clients", clients)
        contacts_per_client = option.count("contacts_per_client", contacts_per_client)
        token_lifetime = option.number("token_lifetime", token_lifetime, low=1)
        rate_limit_per_second = option.number("rate_limit_per_second", rate_limit_per_second, low=0)
        max_body_bytes = int(option.number("max_body_bytes", max_body_bytes, low=64))
        names = option.names("segments", segments)
        admin = option.text("admin_username", admin_username)
        reader = option.text("reader_username", reader_username)
        users = [
            User(admin, option.text("admin_password", admin_password), admin=True, employee_id=1),
            User(
                reader, option.text("reader_password", reader_password), admin=False, employee_id=2
            ),
        ]
        if users[0].username.casefold() == users[1].username.casefold():
            raise EmulatorOptionError("clientsuccess emulator: the two users need different names")
        if not isinstance(maintenance, bool):
            raise EmulatorOptionError("clientsuccess emulator: maintenance is true or false")
        super().__init__(seed=seed, clock=clock, faults=faults)
        self.users = users
        self.catalogue = Catalogue.of(names)
        self.sessions = Sessions(seed, token_lifetime)
        self.rate_limit_per_second = rate_limit_per_second or None
        self._buckets: dict[str, TokenBucket] = {}
        self.maintenance = maintenance
        self.max_body_bytes = max_body_bytes
        self.store = Store(seed)
        generate(self.store, self.catalogue, clients, contacts_per_client, seed, self._now())
        self._settings: dict[str, Any] = {
            "seed": seed,
            "clients": 0,  # the data is in the store
            "admin_username": users[0].username,
            "admin_password": users[0].password,
            "reader_username": users[1].username,
            "reader_password": users[1].password,
            "token_lifetime": token_lifetime,
            "rate_limit_per_second": rate_limit_per_second,
            "segments": list(names),
            "max_body_bytes": max_body_bytes,
        }

    # ---- the connection -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API's base URL: the served one after `serve()`, else the vendor's."""
        return f"{self.served_url or 'https://api.clientsuccess.com'}{BASE}"

    @classmethod
    def for_connection(cls, config: Mapping[str, Any], **options: Any) -> ClientSuccessEmulator:
        """The connection's plain `username` becomes the admin user's; `options` are
        constructor options (`clients`, `faults` as a mapping of `integrate.Faults` ...)."""
        if isinstance(config.get("username"), str) and config["username"]:
            options.setdefault("admin_username", config["username"])
        return cls(**options)

    def connection_config(self) -> dict[str, Any]:
        """The base URL and the admin user's credentials (the sandbox's own)."""
        return {"base_url": self.url, "username": self.users[0].username,
                "password": self.users[0].password}  # fmt: skip

    def saved_settings(self) -> Mapping[str, Any]:
        return self._settings

    def saved_parts(self) -> Mapping[str, Saveable]:
        """The clients, contacts and id counter, and the live tokens (rate budgets are not
        kept)."""
        return {"store": self.store, "sessions": self.sessions}

    def expire_tokens(self) -> None:
        """Every access token stops working (as 12 hours passing would)."""
        with self.lock:
            self.sessions.expire_all()

    # ---- what a user of the system does ---------------------------------------------------

    def _now(self) -> int:
        return int(self.clock.now() * 1000)

    def seed(self, object: str, records: Sequence[Record]) -> list[Record]:
        """Add clients (the write shape of `POST /clients`, optionally with their own `id`)
        or contacts (the write shape with `clientId`) as a user would; returns details."""
        with self.lock:
            made = []
            for record in records:
                made.append(self._add(object, record))
            return made

    def _add(self, object: str, record: Record) -> Record:
        own = record.get("id")
        if own is not None and (self.store.by_id.get(str(own)) or not str(own).isdigit()):
            raise ValueError(f"cannot seed {object}: the id {own} is taken or not a number")
        try:
            if object == CLIENTS:
                values = client_values(self.store, self.catalogue, record)
                values["createdByEmployeeId"] = values["modifiedByEmployeeId"] = 1
            elif object == CONTACTS:
                values = contact_values(
                    self.store, self.catalogue, record, self._row(CLIENTS, record.get("clientId"))
                )
            else:
                raise KeyError(f"ClientSuccess records cannot be seeded into {object!r}")
        except CsError as refused:
            raise ValueError(f"cannot seed {object}: {refused}") from None
        now = self._now()
        if own is None:
            row = self.store.make(object, values, now)
        else:
            values["uuid"] = self.store.uuid_for(object, str(own))
            row = self.store.put(StoredRow(str(own), object, values, now, now))
            self.store.counter = max(self.store.counter, int(row.id))
        return self._shape(row)

    def records(self, object: str) -> list[Record]:
        """Every record of `clients`, `contacts` (details), `client_segments`,
        `client_statuses`, `employees`, `contact_custom_fields` or `users` (no passwords)."""
        with self.lock:
            if object == CLIENTS:
                return [self._shape(r) for r in self.store.clients()]
            if object == CONTACTS:
                rows = sorted(self.store.rows[CONTACTS].values(), key=lambda r: int(r.id))
                return [self._shape(r) for r in rows]
            if object == "users":
                return [{"username": u.username, "admin": u.admin} for u in self.users]
            reference = {
                "client_segments": h.client_segments,
                "client_statuses": h.client_statuses,
                "employees": h.employees,
                "contact_custom_fields": h.contact_custom_fields,
            }
            if object not in reference:
                raise KeyError(f"ClientSuccess has no object {object!r}")
            call = h.Call(self.store, self.catalogue, self.users[0], self._now(), {}, dict)
            listed: list[Record] = reference[object](call, {}).body
            return listed

    def change(self, object: str, id: str, values: Record) -> Record:
        """A user's edit of the fields given (`customFieldValues` by label replace them all):
        a client's lastModifiedDate moves to now."""
        with self.lock:
            row = self._row(object, id)
            try:
                if object == CLIENTS:
                    new = client_values(self.store, self.catalogue, values, row=row, partial=True)
                else:
                    client = self._row(CLIENTS, row.values["clientId"])
                    new = contact_values(
                        self.store, self.catalogue, values, client, row=row, partial=True
                    )
            except CsError as refused:
                raise ValueError(f"cannot change {object} {id}: {refused}") from None
            self.store.replace(row, new, self._now() if object == CLIENTS else row.modified)
            return self._shape(row)

    def delete(self, object: str, id: str) -> None:
        """A user deletes a client (and its contacts) or a contact."""
        with self.lock:
            row = self._row(object, id)
            if object == CLIENTS:
                for contact in self.store.contacts(row):
                    self.store.remove(contact)
            self.store.remove(row)

    def _row(self, object: str, id: Any) -> StoredRow:
        if object not in (CLIENTS, CONTACTS):
            raise KeyError(f"ClientSuccess has no object {object!r} (clients, contacts)")
        row = self.store.client(id) if object == CLIENTS else self.store.contact(id)
        if row is None:
            raise KeyError(f"ClientSuccess has no {object[:-1]} {id}")
        return row

    def _shape(self, row: StoredRow) -> Record:
        if row.module == CLIENTS:
            return client_shape(row, self.catalogue, detail=True)
        return contact_shape(row, self.catalogue, detail=True)

    # ---- faults in ClientSuccess's words ------------------------------------------------

    def rate_limited(self, request: Request) -> Answer:
        return self.json(429, {"userMessage": TOO_MANY_REQUESTS})

    def server_error(self, request: Request) -> Answer:
        message = MAINTENANCE if self.faults.error_status == 503 else SERVER_ERROR
        return self.json(500, {"userMessage": message})

    # ---- the HTTP app -------------------------------------------------------------------

    def kind_of(self, request: Request) -> str:
        found = _match(request.path)
        if found is None or request.method not in found.target:
            return "unknown"
        kind: str = found.target[request.method][0]
        return kind

    def route(self, request: Request) -> Reply:
        if self.maintenance:
            raise CsError(503, MAINTENANCE)
        found = _match(request.path)
        if found is None:
            raise CsError(404, NOT_FOUND)
        if request.method not in found.target:
            raise CsError(405, f"Request method '{quoted(request.method, 10)}' not supported")
        _kind, handler = found.target[request.method]
        if handler is None:
            return self._auth(request)
        token = request.headers.get("Authorization", "")
        username = self.sessions.holder(token, self.clock.now())
        user = next((u for u in self.users if u.username == username), None)
        if user is None:
            raise CsError(401, INVALID_TOKEN)
        self._spend(token.strip())
        if request.method in WRITES and not user.admin:
            raise CsError(403, ACCESS_DENIED)
        call = h.Call(
            self.store,
            self.catalogue,
            user,
            self._now(),
            request.args.to_dict(),
            lambda: self._body(request),
        )
        return handler(call, found.params)

    def _auth(self, request: Request) -> Reply:
        data = request.stream.read(self.max_body_bytes + 1)
        if len(data) > self.max_body_bytes:
            raise CsError(400, BODY_REFUSED["too_large"])
        username, password = credentials(request.content_type or "", data, request.args)
        user = login(self.users, username, password)
        return Reply(200, self.sessions.open(user, self.clock.now()))

    def _spend(self, token: str) -> None:
        """One call of this token's budget, or a 429 (no Retry-After: none is documented)."""
        if self.rate_limit_per_second is None:
            return
        bucket = self._buckets.get(token)
        if bucket is None:
            bucket = TokenBucket.every(self.rate_limit_per_second, 1, self.clock.now())
            self._buckets = {t: b for t, b in self._buckets.items() if t in self.sessions.live}
            self._buckets[token] = bucket
        if not bucket.take(self.clock.now()):
            self.counts["limit:429"] += 1
            raise CsError(429, TOO_MANY_REQUESTS)

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            return json_object(request, self.max_body_bytes)
        except BodyRefused as refused:
            raise CsError(400, BODY_REFUSED[refused.reason]) from refused


def _match(path: str) -> Route[Methods] | None:
    if path != BASE and not path.startswith(BASE + "/"):
        return None
    return PATHS.match(path[len(BASE) :])
