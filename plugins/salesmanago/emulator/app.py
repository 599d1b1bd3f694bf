"""`SalesManagoEmulator`: SALESmanago's contact API (targets.md §2) as one in-process HTTP
app, awkward parts included: every call is a POST with the credentials inside its JSON body,
failures come back as HTTP 200 with `success: false`, the sha is checked against the
account's secret, the owner must be one of the account's users, and only the account's own
server (`{server}.salesmanago.com`) authenticates.

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

import json
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrate import Answer, Clock, Faults, HttpEmulator, Record
from integrate_salesmanago.emulator import auth, persist, reads, writes
from integrate_salesmanago.emulator.calls import Call, Jobs, Limits
from integrate_salesmanago.emulator.contacts import Refused, apply, create, parse, render
from integrate_salesmanago.emulator.generator import generate
from integrate_salesmanago.emulator.store import Store

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
USERS = ("sales@vendor.example", "anna.nowak@vendor.example", "marek.lis@vendor.example")
OWNER_REQUIRED = "Owner is required"
NO_SUCH_OWNER = "User with given owner email does not exist"
TOO_MANY_REQUESTS = "Too many requests"


class SalesManagoEmulator(HttpEmulator):
    """SALESmanago's contact API, in process (see the module's docstring)."""

    plugin = "salesmanago"

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
        self._tokens = float(self.rate_limit_per_second or 0)
        self._filled_at = self.clock.now()
        self.store = Store(seed)
        self.jobs = Jobs(seed)
        generate(self.store, contacts, self.users, seed, self._now())
        self._base_url: str | None = None
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
        return self._base_url or f"https://{self.server}.salesmanago.com"

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
        if self._base_url:
            config["base_url"] = self._base_url
        return config

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._base_url = super().serve(host, port)
        return self._base_url

    def save(self, folder: Path) -> None:
        """Keep the account (settings, users, contacts) in `folder` for `restore`."""
        with self.lock:
            persist.dump(folder, self._settings, self.users, self.store)

    @classmethod
    def restore(
        cls, folder: Path, config: Mapping[str, Any], *, clock: Clock | None = None
    ) -> SalesManagoEmulator:
        emulator = cls(clock=clock, **persist.settings_in(folder))
        emulator.users = persist.load(folder, emulator.store)
        return emulator

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
                    upsert = parse(_as_written(record), property_max=self.limits.property_length)
                except Refused as refused:
                    raise ValueError(f"cannot seed contacts: {refused.message}") from None
                if self.store.by_mail(upsert.email) is not None:
                    raise ValueError(f"cannot seed contacts: {upsert.email} exists already")
                given = record.get("id") or record.get("contactId")
                if given and self.store.get(str(given)) is not None:
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
            self._contacts_object(object)
            contact = self.store.get(id)
            if contact is None:
                raise KeyError(f"SALESmanago has no contact {id}")
            written = _as_written(values)
            try:
                upsert = parse(written, property_max=self.limits.property_length, needs_email=False)
            except Refused as refused:
                raise ValueError(f"cannot change contact {id}: {refused.message}") from None
            apply(contact, upsert, values.get("owner"), self._now())
            if upsert.email is not None and upsert.email != contact.email:
                self.store.rename(contact, upsert.email)
            contact.modified = max(contact.modified, self._now())
            self.store.touched()
            return render(contact, full=True)

    def delete(self, object: str, id: str, *, permanently: bool = False) -> None:
        """A user deletes a contact: marked `deleted` (modifiedOn moves), or gone."""
        with self.lock:
            self._contacts_object(object)
            contact = self.store.get(id)
            if contact is None:
                raise KeyError(f"SALESmanago has no contact {id}")
            if permanently:
                self.store.remove(contact)
            else:
                contact.deleted = True
                contact.modified = max(contact.modified, self._now())
                self.store.touched()

    @staticmethod
    def _contacts_object(object: str) -> None:
        if object != "contacts":
            raise KeyError(f"SALESmanago has no object {object!r} (objects: contacts, users)")

    # ---- faults in SALESmanago's words --------------------------------------------------

    def rate_limited(self, request: Request) -> Answer:
        return self.json(429, {"success": False, "message": [TOO_MANY_REQUESTS]})

    def server_error(self, request: Request) -> Answer:
        return self.json(500, {"success": False, "message": ["Internal server error"]})

    # ---- the HTTP app -------------------------------------------------------------------

    def kind_of(self, request: Request) -> str:
        path = request.path
        if path.startswith("/files/"):
            return "file"
        name = path.removeprefix("/api/").strip("/")
        if not path.startswith("/api/") or name not in METHODS:
            return "unknown"
        return name.removeprefix("contact/")

    def route(self, request: Request) -> Answer:
        kind = self.kind_of(request)
        if kind == "file":
            return self._export_file(request)
        if kind == "unknown":
            return self._refused(404, "Unknown method")
        if request.method != "POST":
            return self._refused(405, "Method not allowed: every call is a POST")
        if not self._take_token():
            self.counts["limit:429"] += 1
            return self.rate_limited(request)
        data = request.stream.read(self.limits.body_bytes + 1)
        if len(data) > self.limits.body_bytes:
            return self._refused(413, "Request body too large")
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return self._refused(200, "Invalid JSON")
        if not isinstance(body, dict):
            return self._refused(200, "Invalid request: expected a JSON object")
        name = request.path.removeprefix("/api/").strip("/")
        handler, owned = METHODS[name]
        try:
            auth.check(
                body,
                request.host,
                client_id=self.client_id,
                secret=self.api_secret,
                server=self.server,
            )
            owner = self._owner(body) if owned else ""
            call = Call(
                self.store, owner, self._now(), self.limits, self.jobs, self._files_url(request)
            )
            payload = handler(call, body)
        except Refused as refused:
            return self.json(200, {"success": False, "message": [refused.message], **refused.extra})
        return self.json(200, {"success": True, "message": [], **payload})

    def _owner(self, body: Mapping[str, Any]) -> str:
        owner = body.get("owner")
        if owner is None or owner == "":
            raise Refused(OWNER_REQUIRED)
        known = {u.casefold(): u for u in self.users}
        if not isinstance(owner, str) or owner.casefold() not in known:
            raise Refused(NO_SUCH_OWNER)
        return known[owner.casefold()]

    def _take_token(self) -> bool:
        """The account's rate limit: a bucket of `rate_limit_per_second` tokens, refilled
        continuously on the emulator's clock."""
        rate = self.rate_limit_per_second
        if rate is None:
            return True
        now = self.clock.now()
        self._tokens = min(rate, self._tokens + (now - self._filled_at) * rate)
        self._filled_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _files_url(self, request: Request) -> str:
        return f"{request.host_url.rstrip('/')}/files"

    def _export_file(self, request: Request) -> Answer:
        token = request.path.removeprefix("/files/").removesuffix(".json")
        rows = self.jobs.files.get(token) if request.method == "GET" else None
        if rows is None:
            return self._refused(404, "No such file")
        return self.json(200, {"contacts": rows})

    def _refused(self, status: int, message: str) -> Answer:
        return self.json(status, {"success": False, "message": [message]})


def _as_written(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record in the read shape (or already in the write shape) as an upsert body."""
    if "contact" in record:
        return dict(record)
    contact = {
        k: record[k]
        for k in ("email", "name", "phone", "fax", "company", "externalId", "state", "address")
        if k in record
    }
    body: dict[str, Any] = {"contact": contact}
    for key in ("province", "lang", "newEmail"):
        if key in record:
            body[key] = record[key]
    if "birthday" in record:
        body["birthday"] = record["birthday"]
    elif record.get("birthdayYear"):
        body["birthday"] = (
            f"{record['birthdayYear']:04d}{record['birthdayMonth']:02d}{record['birthdayDay']:02d}"
        )
    if "optedOut" in record:
        body["forceOptOut"], body["forceOptIn"] = bool(record["optedOut"]), not record["optedOut"]
    if "optedOutPhone" in record:
        body["forcePhoneOptOut"] = bool(record["optedOutPhone"])
        body["forcePhoneOptIn"] = not record["optedOutPhone"]
    tags = record.get("tags", record.get("contactTags"))
    if tags:
        body["tags"] = [t["tag"] if isinstance(t, dict) else t for t in tags]
    properties = record.get("properties")
    if isinstance(properties, list):
        properties = {p["name"]: p["value"] for p in properties}
    if properties:
        body["properties"] = properties
    return body
