"""`SalesManagoEmulator`: SALESmanago's contact API (targets.md §2) as one in-process HTTP
app, awkward parts included: every call is a POST with the credentials inside its JSON body,
failures come back as HTTP 200 with `success: false`, the sha is checked against the
account's secret, the owner must be one of the account's users, and only the account's own
server (`{server}.salesmanago.com`) authenticates.

Built on the emulation kit (records, routing, refusals, the rate limit, paging, jobs, the
JSON body guard, save/restore); what is here and beside it is SALESmanago's own behaviour.

Paths: `POST /api/{method}` for the methods of §2.6 (reads.py, writes.py), `GET
/files/{token}.json` for export files. Call kinds (what `calls()` counts): the method's name
without `contact/` (`upsert`, `batchupsert`, `listById`, `paginatedModifiedContacts` ...),
`job/status`, `file`, `unknown`. A call refused by the account's rate limit is counted
under its kind and under `limit:429`; injected faults under `fault:429` / `fault:500`.

ASSUMED here (targets.md §2.7; the rest in auth, contacts, reads and writes): at most
`rate_limit_per_second` calls a second (20), a token bucket refilled continuously on the
emulator's clock whose HTTP 429 carries `success: false` and no Retry-After (none is
documented); a body over `max_body_bytes` is HTTP 413; a method that is not POST is HTTP
405, an unknown method HTTP 404, each with `success: false`; a body that is not a JSON
object is HTTP 200 with `success: false`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import (
    Answer,
    BodyRefused,
    Clock,
    Faults,
    HttpEmulator,
    Jobs,
    Record,
    Reply,
    Router,
    Saveable,
    TokenBucket,
    json_object,
)
from integrate_salesmanago.emulator import auth, reads, writes
from integrate_salesmanago.emulator.calls import Call, Limits
from integrate_salesmanago.emulator.contacts import (
    Refused,
    applied,
    as_written,
    create,
    parse,
    render,
)
from integrate_salesmanago.emulator.generator import generate
from integrate_salesmanago.emulator.store import CONTACTS, Contact, Store

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

Handler = Callable[[Call, Mapping[str, Any]], dict[str, Any]]
# method -> (handler, whether the body must name an existing owner)
METHODS: dict[str, tuple[Handler, bool]] = {
    "contact/upsert": (writes.upsert, True),
    "contact/insert": (writes.insert, True),
    "contact/update": (writes.update, True),
    "contact/batchupsert": (writes.batch_upsert, True),
    "contact/batchupsertv2": (writes.batch_upsert_job, True),
    "contact/hasContact": (reads.has_contact, True),
    "contact/basic": (reads.basic, True),
    "contact/basicById": (reads.basic_by_id, True),
    "contact/list": (reads.full_list, True),
    "contact/listById": (reads.list_by_id, True),
    "contact/modifiedContacts": (reads.modified, True),
    "contact/paginatedModifiedContacts": (reads.paginated_modified, True),
    "contact/createdContacts": (reads.created, True),
    "contact/paginatedContactList/export": (reads.export, True),
    "contact/delete": (writes.delete, True),
    "contact/optin": (writes.opt_in, True),
    "contact/optout": (writes.opt_out, True),
    "contact/batchoptin": (writes.batch_opt_in, True),
    "contact/batchoptout": (writes.batch_opt_out, True),
    "job/status": (reads.job_status, False),
}
FILES = "/files/{file*}"
PATHS: Router[str] = Router()  # the path's method, or "file"
for _method in METHODS:
    PATHS.add(f"/api/{_method}", _method)
PATHS.add(FILES, "file")
USERS = ("sales@vendor.example", "anna.nowak@vendor.example", "marek.lis@vendor.example")
OWNER_REQUIRED = "Owner is required"
NO_SUCH_OWNER = "User with given owner email does not exist"
TOO_MANY_REQUESTS = "Too many requests"
# A body the API does not read: (HTTP status, message).
BODY_REFUSED = {
    "too_large": (413, "Request body too large"),
    "malformed": (200, "Invalid JSON"),
    "not_object": (200, "Invalid request: expected a JSON object"),
}


class SalesManagoEmulator(HttpEmulator):
    """SALESmanago's contact API, in process (see the module's docstring)."""

    plugin = "salesmanago"
    saved_version = 2  # 1: before the emulation kit (its own file of settings and contacts)

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        faults: Faults | Mapping[str, Any] | None = None,
        server: str = "www",
        client_id: str | None = None,
        api_secret: str | None = None,
        users: Sequence[str] | None = None,
        contacts: int = 0,
        rate_limit_per_second: float | None = 20.0,
        batch_limit: int = 1000,
        ids_per_call: int = 100,
        page_size_max: int = 1000,
        property_max_length: int = 255,
        max_body_bytes: int = 10 * 1024 * 1024,
    ):
        super().__init__(seed=seed, clock=clock, faults=faults)
        rng = random.Random(f"salesmanago-account:{seed}")
        self.server = server
        self.client_id = client_id or f"emu{rng.getrandbits(40):010x}"
        self.api_secret = api_secret or f"{rng.getrandbits(128):032x}"
        self.users: list[str] = list(users or USERS)
        if not self.users:
            raise ValueError("an account has at least one user")
        self.limits = Limits(
            batch=batch_limit,
            ids=ids_per_call,
            page_size=page_size_max,
            property_length=property_max_length,
            body_bytes=max_body_bytes,
        )
        self.rate_limit_per_second = rate_limit_per_second or None
        self._bucket = (
            TokenBucket.every(self.rate_limit_per_second, 1, self.clock.now())
            if self.rate_limit_per_second
            else None
        )
        self.store = Store(seed)
        self.jobs = Jobs(f"salesmanago-jobs:{seed}")
        generate(self.store, contacts, self.users, seed, self._now())
        self._settings: dict[str, Any] = {
            "seed": seed,
            "server": server,
            "client_id": self.client_id,
            "api_secret": self.api_secret,
            "rate_limit_per_second": self.rate_limit_per_second,
            "batch_limit": batch_limit,
            "ids_per_call": ids_per_call,
            "page_size_max": page_size_max,
            "property_max_length": property_max_length,
            "max_body_bytes": max_body_bytes,
        }

    # ---- the connection -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL: the served one after `serve()`, else the account's server."""
        return self.served_url or f"https://{self.server}.salesmanago.com"

    @classmethod
    def for_connection(cls, config: Mapping[str, Any], **options: Any) -> SalesManagoEmulator:
        """The connection's `server` (and its plain `owner` and `users`, as the account's
        users); `options` are constructor options (`contacts`, `faults` as a mapping of
        `integrate.Faults` fields ...)."""
        if isinstance(config.get("server"), str):
            options.setdefault("server", config["server"])
        named = [config["owner"]] if isinstance(config.get("owner"), str) else []
        if isinstance(config.get("users"), list):
            named += [u for u in config["users"] if isinstance(u, str)]
        if named and "users" not in options:
            options["users"] = list(dict.fromkeys([*named, *USERS]))
        return cls(**options)

    def connection_config(self) -> dict[str, Any]:
        """Settings that point the connector here. The emulator and its client share one
        clock, so `clock_skew` is 0."""
        config: dict[str, Any] = {
            "server": self.server,
            "client_id": self.client_id,
            "api_secret": self.api_secret,
            "owner": self.users[0],
            "users": list(self.users),
            "clock_skew": 0,
        }
        if self.served_url:
            config["base_url"] = self.served_url
        return config

    def saved_settings(self) -> Mapping[str, Any]:
        """The account's settings and its users (those seeded since included)."""
        return {**self._settings, "users": list(self.users)}

    def saved_parts(self) -> Mapping[str, Saveable]:
        """The contacts and the id counter (export jobs are not kept)."""
        return {"store": self.store}

    # ---- what a user of the system does ---------------------------------------------------

    def _now(self) -> int:
        return int(self.clock.now() * 1000)

    def seed(self, object: str, records: Sequence[Record]) -> list[Record]:
        """Add contacts as a user would (the read shape or the write shape of §2.5-2.6; a
        record may carry its own `id`, else a UUID is made, and its `owner`, else the first
        user), or users (`{"email": ...}`)."""
        with self.lock:
            if object == "users":
                for record in records:
                    self.users.append(str(record["email"]))
                return [{"id": u, "email": u} for u in self.users[-len(records) :]]
            self._contacts_object(object)
            made = []
            for record in records:
                try:
                    upsert = parse(as_written(record), property_max=self.limits.property_length)
                except Refused as refused:
                    raise ValueError(f"cannot seed contacts: {refused.message}") from None
                if self.store.by_mail(upsert.email) is not None:
                    raise ValueError(f"cannot seed contacts: {upsert.email} exists already")
                given = record.get("id") or record.get("contactId")
                if given and self.store.contact(str(given)) is not None:
                    raise ValueError(f"cannot seed contacts: the id {given} is taken")
                owner = str(record.get("owner") or self.users[0])
                contact = create(self.store, upsert, owner, self._now())
                if given:
                    self.store.remove(contact)
                    contact.id = str(given)
                    self.store.put(contact)
                made.append(render(contact, full=True))
            return made

    def records(self, object: str) -> list[Record]:
        with self.lock:
            if object == "users":
                return [{"id": u, "email": u} for u in self.users]
            self._contacts_object(object)
            return [render(c, full=True) for c in self.store.contacts()]

    def change(self, object: str, id: str, values: Record) -> Record:
        """A user's edit (the shapes `seed` takes): modifiedOn moves to now."""
        with self.lock:
            contact = self._contact(object, id)
            written = as_written(values)
            try:
                upsert = parse(written, property_max=self.limits.property_length, needs_email=False)
            except Refused as refused:
                raise ValueError(f"cannot change contact {id}: {refused.message}") from None
            holder = self.store.by_mail(upsert.email)
            if holder is not None and holder is not contact:
                raise ValueError(f"cannot change contact {id}: {upsert.email} is another contact's")
            changed = applied(contact.values, upsert, values.get("owner"), self._now())
            if upsert.email is not None:
                changed["email"] = upsert.email
            self.store.replace(contact, changed, self._now())
            return render(contact, full=True)

    def delete(self, object: str, id: str, *, permanently: bool = False) -> None:
        """A user deletes a contact: marked `deleted` (modifiedOn moves), or gone."""
        with self.lock:
            contact = self._contact(object, id)
            if permanently:
                self.store.remove(contact)
            else:
                self.store.replace(contact, {**contact.values, "deleted": True}, self._now())

    @staticmethod
    def _contacts_object(object: str) -> None:
        if object != CONTACTS:
            raise KeyError(f"SALESmanago has no object {object!r} (objects: contacts, users)")

    def _contact(self, object: str, id: str) -> Contact:
        self._contacts_object(object)
        contact = self.store.contact(id)
        if contact is None:
            raise KeyError(f"SALESmanago has no contact {id}")
        return contact

    # ---- faults in SALESmanago's words --------------------------------------------------

    def rate_limited(self, request: Request) -> Answer:
        return self.json(429, Refused(TOO_MANY_REQUESTS).body())

    def server_error(self, request: Request) -> Answer:
        return self.json(500, Refused("Internal server error").body())

    # ---- the HTTP app -------------------------------------------------------------------

    def kind_of(self, request: Request) -> str:
        found = PATHS.match(request.path)
        return "unknown" if found is None else found.target.removeprefix("contact/")

    def route(self, request: Request) -> Reply:
        found = PATHS.match(request.path)
        if found is None:
            raise Refused("Unknown method", status=404)
        if found.pattern == FILES:
            return self._export_file(request, found.params["file"])
        if request.method != "POST":
            raise Refused("Method not allowed: every call is a POST", status=405)
        if self._bucket is not None and not self._bucket.take(self.clock.now()):
            self.counts["limit:429"] += 1
            raise Refused(TOO_MANY_REQUESTS, status=429)
        try:
            body = json_object(request, self.limits.body_bytes)
        except BodyRefused as refused:
            status, message = BODY_REFUSED[refused.reason]
            raise Refused(message, status=status) from refused
        handler, owned = METHODS[found.target]
        auth.check(
            body, request.host, client_id=self.client_id, secret=self.api_secret, server=self.server
        )
        owner = self._owner(body) if owned else ""
        files_url = f"{request.host_url.rstrip('/')}/files"
        call = Call(self.store, owner, self._now(), self.limits, self.jobs, files_url)
        return Reply(200, {"success": True, "message": [], **handler(call, body)})

    def _owner(self, body: Mapping[str, Any]) -> str:
        owner = body.get("owner")
        if owner is None or owner == "":
            raise Refused(OWNER_REQUIRED)
        known = {u.casefold(): u for u in self.users}
        if not isinstance(owner, str) or owner.casefold() not in known:
            raise Refused(NO_SUCH_OWNER)
        return known[owner.casefold()]

    def _export_file(self, request: Request, path: str) -> Reply:
        rows = self.jobs.file(path.removesuffix(".json")) if request.method == "GET" else None
        if rows is None:
            raise Refused("No such file", status=404)
        return Reply(200, {"contacts": rows})
