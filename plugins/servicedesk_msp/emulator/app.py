"""`ServiceDeskMspEmulator`: ServiceDesk Plus MSP's REST API v3 (on-premises and cloud) and,
for the cloud, Zoho's accounts server, as one in-process HTTP app.

Paths: `/api/v3/{module}[/{id}]` and `/app/{portal}/api/v3/{module}[/{id}]`, both served
by the same handlers whatever the deployment (§1.2, ASSUMED); `/oauth/v2/token` for the
cloud. The deployment decides the authentication: on-premises a technician key
(`authtoken` header, or `TECHNICIAN_KEY` as header or parameter), cloud an OAuth token
(`Authorization: Zoho-oauthtoken ...`) from the accounts server.

Call kinds (what `calls()` counts): `list:<module>`, `get:<module>`, `create:<module>`,
`update:<module>`, `delete:<module>` with the module as the URL names it (`accounts`,
`customers`, `sites`, `departments`, `requesters`, `users`); `token` for the accounts
server; `other` for anything else. A call refused by the rate limit is counted under its
kind and under `limit:429`; injected faults under `fault:429` / `fault:500` (the base's).
`calls_for(module)` sums one module's kinds, both URL names of its store included.

ASSUMED here (the rest in errors, reads, search and writes):
- the `Accept` header must name `application/vnd.manageengine.sdp.v3+json` (or the
  tolerated `application/v3+json`, §1.3); otherwise (`*/*` or none) HTTP 404 with 4007;
- a cloud path naming another portal than the emulator's is HTTP 404 with 4007;
- `users` is served on-premises only (§1.7.4: Cloud answers 404 for it);
- department writes are HTTP 404 with 4007 on-premises (§1.7.3: an open-source project
  reports on-premises v3 does not expose department CRUD); the cloud allows them;
- sites and requesters name their account `account` on on-premises paths and `customer`
  on cloud paths, unless `accounts_module` fixes the name; a write must use that key;
- a job title never received shows the deployment's own spelling (`jobtitle`
  on-premises, `job_title` cloud), null when empty (§1.7.4);
- the rate limit (`rate_limit_per_minute`, off by default: §1.6 proposes 60/min) is a
  token bucket refilled continuously on the emulator's clock; its 429 carries no
  Retry-After (none is documented);
- `input_data` is read from the query string or the form body alike (a Java servlet's
  parameters); a JSON request body is not read.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import (
    ZOHO_ACCOUNTS,
    Answer,
    AuthorisationServer,
    Clock,
    Faults,
    OAuthEmulator,
    Record,
    Saveable,
    TokenBucket,
)
from integrate_servicedesk_msp.emulator import reads
from integrate_servicedesk_msp.emulator.calls import V3, accepts_v3, entity, input_data, target
from integrate_servicedesk_msp.emulator.errors import (
    BAD_KEY,
    INTERNAL,
    RATE_LIMIT,
    SdpError,
    bad_input,
    bad_url,
    failure,
    success,
)
from integrate_servicedesk_msp.emulator.generator import Generator, Sizes
from integrate_servicedesk_msp.emulator.modules import (
    ALIASES,
    DEPARTMENTS,
    JOB_TITLES,
    MODULES,
    OWNER_KEYS,
    REQUESTERS,
    Path,
    mandatory_fields_of,
    owner_key,
    store_of,
)
from integrate_servicedesk_msp.emulator.store import Row, Store
from integrate_servicedesk_msp.emulator.writes import Writer

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

ON_PREMISES_URL = "https://sdp.emulator.test"
CLOUD_URL = "https://sdpondemand.manageengine.com"
TOKEN_PATH = "/oauth/v2/token"
DEPLOYMENTS = ("on_premises", "cloud")
VERBS = ("list", "get", "create", "update", "delete")


class ServiceDeskMspEmulator(OAuthEmulator):
    """ServiceDesk Plus MSP's REST API v3 (accounts/customers, sites, departments,
    requesters), awkward parts included: statuses inside HTTP 200, `response_status` a list
    on list calls and an object elsewhere, at most 100 rows a page."""

    plugin = "servicedesk_msp"
    env_prefix = "SDP"  # SDP_URL, SDP_TECHNICIAN_KEY, as the shipped specs name them
    saved_version = 2  # 1: before the emulation kit (one flat file of the parts)

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        faults: Faults | Mapping[str, Any] | None = None,
        deployment: str = "on_premises",
        portal: str = "itdesk",
        technician_key: str | None = None,
        accounts: int = 0,
        sites_per_account: int = 1,
        departments_per_site: int = 2,
        requesters_per_site: int = 2,
        rate_limit_per_minute: float | None = None,
        accounts_module: str | None = None,
        mandatory_fields: Mapping[str, Iterable[str]] | None = None,
    ):
        super().__init__(seed=seed, clock=clock, faults=faults)
        if deployment not in DEPLOYMENTS:
            raise ValueError(f"deployment is one of {DEPLOYMENTS}, not {deployment!r}")
        self.deployment = deployment
        self.cloud = deployment == "cloud"
        self.portal = portal
        self.accounts_module = accounts_module
        self.owner = owner_key(accounts_module) if accounts_module else self._flavour(self.cloud)
        self.job_title = "job_title" if self.cloud else "jobtitle"
        self.technician_key = technician_key or _technician_key(seed)
        self.rate_limit_per_minute = rate_limit_per_minute
        self._bucket = (
            TokenBucket(rate_limit_per_minute, self.clock.now()) if rate_limit_per_minute else None
        )
        self.mandatory = mandatory_fields_of(mandatory_fields or {})
        self.store = Store()
        # Zoho's accounts server (cloud, §1.3): this emulator grants no scopes by name, and
        # its token answers name none.
        self.oauth = AuthorisationServer(ZOHO_ACCOUNTS, seed=seed, now=self.clock.now)
        Generator(self.store, seed, self._now(), self.job_title).run(
            Sizes(accounts, sites_per_account, departments_per_site, requesters_per_site)
        )
        self._settings: dict[str, Any] = {
            "seed": seed,
            "deployment": deployment,
            "portal": portal,
            "technician_key": self.technician_key,
            "rate_limit_per_minute": rate_limit_per_minute,
            "accounts_module": accounts_module,
            "mandatory_fields": {k: list(v) for k, v in self.mandatory.items()},
        }

    # ---- the connection ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL: the served one after `serve()`, else the in-process host."""
        return self.served_url or (CLOUD_URL if self.cloud else ON_PREMISES_URL)

    @classmethod
    def for_connection(cls, config: Mapping[str, Any], **options: Any) -> ServiceDeskMspEmulator:
        """The connection's `deployment`, `portal` and `accounts_module`; `options` are
        constructor options (data sizes, `faults` as a mapping of `integrate.Faults`
        fields ...)."""
        for key in ("deployment", "portal", "accounts_module"):
            if config.get(key):
                options.setdefault(key, str(config[key]))
        return cls(**options)

    def connection_config(self) -> dict[str, Any]:
        if not self.cloud:
            return {
                "deployment": "on_premises",
                "url": self.url,
                "technician_key": self.technician_key,
            }
        # the accounts server, once served, is at the same address
        return {
            "deployment": "cloud",
            "url": self.url,
            "portal": self.portal,
            "data_center": "com",
            **self.credentials(),
        }

    def saved_settings(self) -> Mapping[str, Any]:
        return self._settings

    def saved_parts(self) -> Mapping[str, Saveable]:
        """The instance's records and id counter, and the OAuth client and tokens."""
        return {"store": self.store, "oauth": self.oauth}

    def calls_for(self, module: str) -> dict[str, int]:
        """Calls to one module by verb (list, get, create, update, delete), both URL names
        of its store counted (`accounts` and `customers`, `requesters` and `users`)."""
        names = {module, ALIASES.get(module, module)}
        counts = self.calls()
        return {verb: sum(counts.get(f"{verb}:{n}", 0) for n in names) for verb in VERBS}

    # ---- what a user of the system does -------------------------------------------------

    def _now(self) -> int:
        return int(self.clock.now() * 1000)

    def _user_data(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A user's record may name its account `account` or `customer`."""
        data = dict(values)
        for key in OWNER_KEYS:
            if key != self.owner and key in data and self.owner not in data:
                data[self.owner] = data.pop(key)
        return data

    def _writer(self) -> Writer:
        return Writer(self.store, self._now(), self.owner, self.mandatory)

    def _row(self, object: str, id: str) -> Row:
        row = self.store.get(store_of(object), str(id))
        if row is None:
            raise KeyError(f"{object} has no record {id}")
        return row

    def seed(self, object: str, records: Sequence[Record]) -> list[Record]:
        """Add records as a user would (API field names; lookups by id or name); the
        server sets ids, times, default sites and General departments."""
        with self.lock:
            module = store_of(object)
            writer = self._writer()
            made = []
            for record in records:
                try:
                    made.append(writer.create(module, self._user_data(record)))
                except SdpError as refused:
                    raise ValueError(f"cannot seed {object}: {refused.body()}") from None
            return [self._render(r) for r in made]

    def records(self, object: str) -> list[Record]:
        with self.lock:
            rows = self.store.rows[store_of(object)].values()
            return [self._render(r) for r in rows]

    def change(self, object: str, id: str, values: Record) -> Record:
        """A user's edit: last_updated_time moves to now."""
        with self.lock:
            row = self._row(object, id)
            try:
                self._writer().update(row, self._user_data(values))
            except SdpError as refused:
                raise ValueError(f"cannot change {object} {id}: {refused.body()}") from None
            return self._render(row)

    def require(self, object: str, fields: Iterable[str]) -> None:
        """An administrator makes fields mandatory for an object's records, as an SDP
        instance can (§1.9 gotcha 8): a write without them is then refused with 4012."""
        with self.lock:
            self.mandatory.update(mandatory_fields_of({object: list(fields)}))
            self._settings["mandatory_fields"] = {k: list(v) for k, v in self.mandatory.items()}

    def delete(self, object: str, id: str) -> None:
        """A user deletes a record (refused while others refer to it, as over the API)."""
        with self.lock:
            row = self._row(object, id)
            try:
                self._writer().delete(row)
            except SdpError as refused:
                raise ValueError(f"cannot delete {object} {id}: {refused.body()}") from None

    def _render(self, row: Row, owner: str | None = None) -> Record:
        return self.store.render(row, owner or self.owner, self.job_title)

    # ---- faults in SDP's words ----------------------------------------------------------

    def rate_limited(self, request: Request) -> Answer:
        if request.path.rstrip("/") == TOKEN_PATH:
            return self.reply(self.oauth.throttled())  # the accounts server throttles with a 200
        return self.json(429, failure(RATE_LIMIT, "API rate limit reached"))

    def server_error(self, request: Request) -> Answer:
        if request.path.rstrip("/") == TOKEN_PATH:
            return self.json(500, {"error": "internal_error"})
        return self.json(500, failure(INTERNAL, "Internal error"))

    # ---- the HTTP app -------------------------------------------------------------------

    def kind_of(self, request: Request) -> str:
        if request.path.rstrip("/") == TOKEN_PATH:
            return "token"
        found = target(request.path)
        path = found.path if found else None
        verb = found.verb(request.method) if found else None
        return f"{verb}:{path.name}" if path and verb else "other"

    def route(self, request: Request) -> Answer:
        if request.path.rstrip("/") == TOKEN_PATH:
            return self._token(request)
        return self._api(request)

    def _token(self, request: Request) -> Answer:
        if not self.cloud:
            return self.raw(404, b"Not Found", "text/html;charset=UTF-8")
        if request.method != "POST":
            return self.json(405, {"error": "invalid_request"})
        params = {**request.args.to_dict(), **request.form.to_dict()}
        # Only the refresh grant is served: the code grant belongs to `integrate auth` against
        # the real Zoho.
        return self.reply(self.oauth.token(params, grants=("refresh_token",)))

    def _authenticate(self, request: Request) -> None:
        if self.cloud:
            header = request.headers.get("Authorization", "")
            ok = self.oauth.authenticate(header, schemes=("zoho-oauthtoken",)) is not None
        else:
            key = (
                request.headers.get("authtoken")
                or request.headers.get("TECHNICIAN_KEY")
                or request.values.get("TECHNICIAN_KEY")
            )
            ok = key == self.technician_key
        if not ok:
            raise SdpError(
                BAD_KEY, "Invalid API key received" if not self.cloud else "Invalid OAuth token"
            )

    @staticmethod
    def _flavour(cloud_path: bool) -> str:
        return "customer" if cloud_path else "account"

    def _api(self, request: Request) -> Answer:
        found = target(request.path)
        if found is None:
            raise bad_url()
        if self._bucket is not None and not self._bucket.take(self.clock.now()):
            self.counts["limit:429"] += 1
            return self.rate_limited(request)
        self._authenticate(request)
        if found.portal is not None and found.portal != self.portal:
            raise bad_url(f"Invalid URL: no portal {found.portal!r}")
        if not accepts_v3(request):
            raise bad_url(f"Invalid URL: the v3 API answers Accept: {V3}")
        path = found.path
        verb = found.verb(request.method)
        if path is None or verb is None or (self.cloud and not path.cloud):
            raise bad_url()
        if path.store == DEPARTMENTS and verb in ("create", "update", "delete") and not self.cloud:
            raise bad_url("Invalid URL: departments cannot be changed through the API here")
        owner = (
            owner_key(self.accounts_module)
            if self.accounts_module
            else self._flavour(found.cloud_path)
        )
        given = input_data(request)
        if given is not None and "list_info" in given and verb != "list":
            raise bad_input("list_info is only valid on get all calls", field="list_info")
        if verb == "list":
            return self._list(path, owner, given)
        writer = Writer(self.store, self._now(), owner, self.mandatory)
        if verb == "create":
            return self._one(path, writer.create(path.store, entity(given, path.entity)), owner)
        row = self.store.get(path.store, str(found.id))
        if row is None:
            raise bad_url(f"Invalid URL: no {path.entity} with id {found.id}")
        if verb == "get":
            return self._one(path, row, owner)
        if verb == "update":
            writer.update(row, entity(given, path.entity))
            return self._one(path, row, owner)
        writer.delete(row)
        return self.json(200, {"response_status": success()})

    def _one(self, path: Path, row: Row, owner: str) -> Answer:
        body = {path.entity: self._render(row, owner), "response_status": success()}
        return self.json(200, body)

    def _list(self, path: Path, owner: str, given: dict[str, Any] | None) -> Answer:
        module = MODULES[path.store]
        fields = set(module.rendered(owner))
        if path.store == REQUESTERS:
            fields.update(JOB_TITLES)
        info = reads.parse((given or {}).get("list_info"), fields)
        if info.email is not None:
            ids = self.store.emails.get(info.email.casefold(), {})
            records = [self._render(self.store.by_id[i], owner) for i in sorted(ids, key=int)]
            rows, list_info = reads.page(records, info)
        elif info.match is None:
            # A plain listing, paged through by a reader: sorted once per change, not per page.
            records = self.store.kept(
                ("ordered", path.store, owner, self.job_title, info.sort_field, info.sort_order),
                lambda: reads.ordered(
                    self.store.rendered(path.store, owner, self.job_title),
                    info.sort_field,
                    info.sort_order,
                ),
            )
            rows, list_info = reads.page(records, info, in_order=True)
        else:
            records = self.store.rendered(path.store, owner, self.job_title)
            rows, list_info = reads.page(records, info)
        body = {"response_status": [success()], "list_info": list_info, path.name: rows}
        return self.json(200, body)


def _technician_key(seed: int) -> str:
    rng = random.Random(seed + 11)
    hexes = "".join(rng.choices("0123456789ABCDEF", k=32))
    return "-".join((hexes[:8], hexes[8:12], hexes[12:16], hexes[16:20], hexes[20:]))
