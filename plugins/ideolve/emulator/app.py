"""`IdeolveEmulator`: Ideolve's v4 REST API (targets.md §4) as one in-process HTTP app, under
`/v4`: every call carries `Client-Id`, `Connector-Api-Key` and `App-Name` and acts as the user
its path names (`/user/{user}/...`, the user's e-mail address percent-encoded); workspaces,
notes in them, comments on notes and attachments uploaded to them; answers and errors in the
envelope `{"status": ..., "reason"?: ...}`.

Built on the emulation kit (records, routing, refusals, the token bucket, the JSON body guard,
save/restore); Ideolve's own behaviour is here and beside it (records, handlers, uploads,
seeding).
Call kinds (what `calls()` counts): `auth`, `list`, `workspace`, `create`, `update`, `get`,
`comment`, `attach`, `unknown`; refusals of who calls are counted as `refused:401` and
`refused:500`, calls the rate limit refused as `limit:429`.

Decided here (ASSUMED, docs/ideolve-plugin.md lists them all): the headers are checked before
the path (a call without them to an unknown path is a 401); the rate limit counts the calls of
the right Client-Id and key, before their path is looked at; a method a path does not take is
an unknown path; the user is looked up after the path.
"""

from __future__ import annotations

import hmac
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
    TokenBucket,
    json_object,
)
from integrate_ideolve.emulator import handlers as h
from integrate_ideolve.emulator import options as option
from integrate_ideolve.emulator.records import (
    note_record,
    workspace_record,
    workspace_values,
)
from integrate_ideolve.emulator.refusals import (
    ATTACHMENT_TOO_LARGE,
    BAD_PAIR,
    BODY_TOO_LARGE,
    BROKEN_MULTIPART,
    ERROR,
    MALFORMED_JSON,
    MISSING_HEADER,
    NO_FILE_NAME,
    NO_FILE_PART,
    NO_SUCH_PATH,
    NOT_AN_OBJECT,
    ONE_FILE_PART,
    RATE_LIMITED,
    SERVER_ERROR,
    UNAUTHORIZED,
    UNAVAILABLE,
    USER_NOT_FOUND,
    EmulatorOptionError,
    IdeolveError,
    bad_request,
    not_found,
)
from integrate_ideolve.emulator.seeding import Seeding
from integrate_ideolve.emulator.store import ACTING_USER, NOTES, WORKSPACES, Org, Store
from integrate_ideolve.emulator.uploads import Upload, UploadRefused, read_upload

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

BASE = "/v4"
HEADERS = ("Client-Id", "Connector-Api-Key", "App-Name")
CLIENT_ID = "ideolve-sandbox-client"
API_KEY = "ideolve-sandbox-key-5f3a9c"
MAX_ATTACHMENT = 25 * 1024 * 1024  # 26,214,400 bytes
Methods = dict[str, tuple[str, h.Handler]]  # method -> (kind, handler)
NOTE = "/user/{user}/workspace/{workspaceid}/note/{noteid}"
SERVED: tuple[tuple[str, Methods], ...] = (
    ("/user/{user}/auth", {"POST": ("auth", h.auth)}),
    ("/user/{user}/workspaces", {"GET": ("list", h.list_workspaces)}),
    ("/user/{user}/workspace", {"POST": ("workspace", h.create_workspace)}),
    ("/user/{user}/workspace/{workspaceid}/note", {"POST": ("create", h.create_note)}),
    (NOTE, {"PUT": ("update", h.update_note), "GET": ("get", h.get_note)}),
    (NOTE + "/comment", {"POST": ("comment", h.add_comment)}),
    (NOTE + "/attachment", {"POST": ("attach", h.add_attachment)}),
)
PATHS: Router[Methods] = Router()
for _path, _methods in SERVED:
    PATHS.add(_path, _methods)
BODY_REFUSED = {"too_large": BODY_TOO_LARGE, "malformed": MALFORMED_JSON,
                "not_object": NOT_AN_OBJECT}  # fmt: skip
UPLOAD_REFUSED = {
    "too_large": IdeolveError(413, ERROR, ATTACHMENT_TOO_LARGE),
    "no_file": bad_request(NO_FILE_PART),
    "two_files": bad_request(ONE_FILE_PART),
    "no_name": bad_request(NO_FILE_NAME),
    "broken": bad_request(BROKEN_MULTIPART),
}


class IdeolveEmulator(HttpEmulator):
    """Ideolve's v4 API, in process (see the module's docstring)."""

    plugin = "ideolve"

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        faults: Faults | Mapping[str, Any] | None = None,
        client_id: str = CLIENT_ID,
        api_key: str = API_KEY,
        user: str = ACTING_USER,
        workspaces: str | Sequence[str] = (),
        rate_limit_per_second: float = 20,
        max_attachment_bytes: int = MAX_ATTACHMENT,
        max_body_bytes: int = 8 * 1024 * 1024,
    ):
        client_id = option.text("client_id", client_id)
        api_key = option.text("api_key", api_key)
        user = option.email("user", user)
        names = option.names("workspaces", workspaces)
        rate_limit_per_second = option.number("rate_limit_per_second", rate_limit_per_second, low=0)
        max_attachment_bytes = option.whole("max_attachment_bytes", max_attachment_bytes, low=1)
        max_body_bytes = option.whole("max_body_bytes", max_body_bytes, low=64)
        org = Org.default(user)
        if len({u.casefold() for u in org.users}) != len(org.users):
            raise EmulatorOptionError(
                f"{option.PREFIX}: user must differ from the org's experts ({', '.join(org.users[1:])})"
            )
        super().__init__(seed=seed, clock=clock, faults=faults)
        self.client_id = client_id
        self.api_key = api_key
        self.org = org
        self.rate_limit_per_second = rate_limit_per_second or None
        self._buckets: dict[str, TokenBucket] = {}
        self.max_attachment_bytes = max_attachment_bytes
        self.max_body_bytes = max_body_bytes
        self.store = Store(seed)
        self.seeding = Seeding(self.store, org, max_attachment_bytes)
        for name in names:
            h.add_workspace(self.store, workspace_values({"name": name}, user), self._now())
        self._settings: dict[str, Any] = {
            "seed": seed,
            "client_id": client_id,
            "api_key": api_key,
            "user": user,
            "rate_limit_per_second": rate_limit_per_second,
            "max_attachment_bytes": max_attachment_bytes,
            "max_body_bytes": max_body_bytes,
        }  # the workspaces are in the store

    # ---- the connection -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API's base URL: the served one after `serve()`, else the vendor's."""
        return f"{self.served_url or 'https://api.ideolve.com'}{BASE}"

    @property
    def user(self) -> str:
        """The acting user (the sandbox's): the org's first."""
        return self.org.users[0]

    @classmethod
    def for_connection(cls, config: Mapping[str, Any], **options: Any) -> IdeolveEmulator:
        """The connection's plain `user` becomes the org's acting user; `options` are
        constructor options (`workspaces`, `faults` as a mapping of `integrate.Faults` ...)."""
        if isinstance(config.get("user"), str) and config["user"]:
            options.setdefault("user", config["user"])
        return cls(**options)

    def connection_config(self) -> dict[str, Any]:
        """The base URL, the sandbox's client id and API key, and the acting user."""
        return {"base_url": self.url, "client_id": self.client_id, "api_key": self.api_key,
                "user": self.user}  # fmt: skip

    def saved_settings(self) -> Mapping[str, Any]:
        return self._settings

    def saved_parts(self) -> Mapping[str, Saveable]:
        """The workspaces and notes (with their comments and attachments) and the id counter
        (rate budgets are not kept)."""
        return {"store": self.store}

    # ---- what a user of the system does ---------------------------------------------------

    def _now(self) -> int:
        return round(self.clock.now() * 1000)

    def seed(self, object: str, records: Sequence[Record]) -> list[Record]:
        """Add `workspaces` (`name`, `description`, `owner` and `members`: the acting user when
        left out), `notes` (the create body with `workspaceid`, optionally `createdby`),
        `comments` (`noteid`, `commenthtmltext`, `createdby`) or `attachments` (`noteid`,
        `filename`, `content` as text or bytes, `contenttype`), checked as the API checks them
        (`ValueError` with its reason; `KeyError` for an unknown workspace or note). Returns
        the workspaces or notes as `records` shows them."""
        with self.lock:
            return [self.seeding.add(object, dict(r), self._now()) for r in records]

    def records(self, object: str) -> list[Record]:
        """Every record of `workspaces`, `notes` (each with its comments and attachments),
        `users` or `groups`, in the order made."""
        with self.lock:
            if object == WORKSPACES:
                return [workspace_record(r) for r in self.store.rows[WORKSPACES].values()]
            if object == NOTES:
                return [note_record(r) for r in self.store.rows[NOTES].values()]
            if object == "users":
                return [{"email": u} for u in self.org.users]
            if object == "groups":
                return [{"name": g, "members": list(m)} for g, m in self.org.groups.items()]
            raise KeyError(f"Ideolve has no object {object!r} (workspaces, notes, users, groups)")

    def change(self, object: str, id: str, values: Record) -> Record:
        """A user's edit: a note's `subject`, `notehtmltext`, `tags` or `users` (its
        `modifiedat` moves on), or a workspace's `name` or `description`."""
        with self.lock:
            return self.seeding.change(object, id, values, self._now())

    # ---- faults in Ideolve's words ------------------------------------------------------

    def rate_limited(self, request: Request) -> Answer:
        return self.json(429, {"status": ERROR, "reason": RATE_LIMITED})

    def server_error(self, request: Request) -> Answer:
        reason = UNAVAILABLE if self.faults.error_status == 503 else SERVER_ERROR
        return self.json(500, {"status": ERROR, "reason": reason})

    # ---- the HTTP app -------------------------------------------------------------------

    def kind_of(self, request: Request) -> str:
        found = _match(request.path)
        if found is None or request.method not in found.target:
            return "unknown"
        return found.target[request.method][0]

    def route(self, request: Request) -> Reply:
        _chunked_in_process(request)
        self._authenticate(request)
        self._spend()
        found = _match(request.path)
        if found is None or request.method not in found.target:
            raise not_found(NO_SUCH_PATH)
        user = self.org.user(found.params["user"])
        if user is None:
            raise not_found(USER_NOT_FOUND)
        _kind, handler = found.target[request.method]
        call = h.Call(
            self.store,
            self.org,
            user,
            self._now(),
            lambda: self._body(request),
            lambda: self._upload(request),
        )
        return handler(call, found.params)

    def _authenticate(self, request: Request) -> None:
        """The three headers (401 for one missing or empty), then the Client-Id and key pair
        (500, as Ideolve answers a wrong pair)."""
        for name in HEADERS:
            if not request.headers.get(name, "").strip():
                self.counts["refused:401"] += 1
                raise IdeolveError(401, UNAUTHORIZED, f"{MISSING_HEADER} {name}")
        client_id = request.headers["Client-Id"].strip().encode("utf-8", "replace")
        api_key = request.headers["Connector-Api-Key"].strip().encode("utf-8", "replace")
        same_id = hmac.compare_digest(client_id, self.client_id.encode())
        same_key = hmac.compare_digest(api_key, self.api_key.encode())
        if not (same_id and same_key):
            self.counts["refused:500"] += 1
            raise IdeolveError(500, ERROR, BAD_PAIR)

    def _spend(self) -> None:
        """One call of the Client-Id's budget, or a 429 (no Retry-After)."""
        if self.rate_limit_per_second is None:
            return
        bucket = self._buckets.get(self.client_id)
        if bucket is None:
            bucket = TokenBucket.every(self.rate_limit_per_second, 1, self.clock.now())
            self._buckets[self.client_id] = bucket
        if not bucket.take(self.clock.now()):
            self.counts["limit:429"] += 1
            raise IdeolveError(429, ERROR, RATE_LIMITED)

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            return json_object(request, self.max_body_bytes)
        except BodyRefused as refused:
            raise bad_request(BODY_REFUSED[refused.reason]) from refused

    def _upload(self, request: Request) -> Upload:
        try:
            return read_upload(
                request.stream, request.headers.get("Content-Type", ""), self.max_attachment_bytes
            )
        except UploadRefused as refused:
            raise UPLOAD_REFUSED[refused.reason] from refused


def _match(path: str) -> Route[Methods] | None:
    if not path.startswith(BASE + "/"):
        return None
    return PATHS.match(path[len(BASE) :])


def _chunked_in_process(request: Request) -> None:
    """A chunked upload without Content-Length, as httpx's in-process transport hands it over
    (the body whole in `wsgi.input`, unmarked): read to its end, as a real server's de-chunked
    input is (werkzeug's server marks it `wsgi.input_terminated`)."""
    environ = request.environ
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not environ.get("CONTENT_LENGTH"):
        environ["wsgi.input_terminated"] = True
