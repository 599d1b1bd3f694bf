"""`ZohoCrmEmulator`: Zoho CRM v8 and its accounts server as one in-process HTTP app.

Requests are routed by path (`/oauth/...` to the accounts server, `/crm/v8/...` to the
API) and the data centre is read from the Host header (`accounts.zoho.eu`,
`www.zohoapis.com.au` ...; loopback hosts mean the emulator's own data centre). The
handlers live in reads, writes, convert, watch and metadata, the API's paths in routes;
this module authenticates, names each call's kind and turns refusals into Zoho's
envelopes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import Answer, Clock, Faults, OAuthEmulator, Record, Reply, Saveable
from integrate_zoho_crm.emulator import routes, writes
from integrate_zoho_crm.emulator.catalogue import SE_MODULES, Field, module_named
from integrate_zoho_crm.emulator.delivery import RetryPolicy
from integrate_zoho_crm.emulator.errors import (
    BAD_METHOD,
    BAD_URL,
    INTERNAL,
    TOO_MANY,
    ZohoError,
    envelope,
)
from integrate_zoho_crm.emulator.generator import Generator, Sizes, make_users
from integrate_zoho_crm.emulator.oauth import (
    DATA_CENTRES,
    accounts_server,
    authenticate,
    data_centre,
    require_scope,
)
from integrate_zoho_crm.emulator.org import Call, Org
from integrate_zoho_crm.emulator.paging import PageTokens
from integrate_zoho_crm.emulator.store import Store, User
from integrate_zoho_crm.emulator.watch import Watch

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

# host -> (data centre, role): accounts / api / sandbox (sandbox and developer orgs)
HOSTS: dict[str, tuple[str, str]] = {}
for _dc, _centre in DATA_CENTRES.items():
    HOSTS[_centre.accounts] = (_dc, "accounts")
    HOSTS[_centre.api] = (_dc, "api")
    for _env in ("sandbox", "developer"):
        HOSTS[_centre.api.replace("www.", f"{_env}.", 1)] = (_dc, "sandbox")


ACCOUNT_KINDS = {
    "/oauth/v2/token": "token",
    "/oauth/v2/token/revoke": "revoke",
    "/oauth/v2/auth": "consent",
}

# The data types an admin's new field may have here (no picklist values or lookup target).
PLAIN_TYPES = (
    *("text", "textarea", "email", "phone", "website", "date", "datetime"),
    *("integer", "bigint", "double", "currency", "boolean"),
)


class ZohoCrmEmulator(OAuthEmulator):
    """Zoho CRM v8 (records, related lists, notes, attachments, lead conversion, users,
    metadata, watch channels) and its OAuth accounts server, awkward parts included."""

    plugin = "zoho_crm"
    # `integrate emulate zoho_crm --set accounts=N`: accounts with contacts under them
    emulate_defaults = {"contacts_per_account": 2}
    env_prefix = "ZOHO"  # ZOHO_CLIENT_ID ..., as the shipped specs name them
    saved_version = 2  # 1: before the emulation kit (one flat file of the parts)

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        faults: Faults | Mapping[str, Any] | None = None,
        data_center: str = "com",
        token_lifetime: int = 3600,
        accounts: int = 0,
        contacts_per_account: int = 0,
        leads: int = 0,
        deals_per_account: int = 0,
        events_per_account: int = 0,
        users: int = 3,
        refresh_limit: int = 10,
        unique_fields: Mapping[str, Iterable[str]] | None = None,
        callback_retries: Sequence[float] | None = None,
        callback_timeout: float | None = None,
    ):
        super().__init__(seed=seed, clock=clock, faults=faults)
        self.data_center = data_centre(data_center)
        anchor = int(self.clock.now())
        store = Store(make_users(max(1, users), anchor))
        Generator(store, seed, anchor).run(
            Sizes(accounts, contacts_per_account, leads, deals_per_account, events_per_account)
        )
        self.oauth = accounts_server(
            seed=seed,
            now=self.clock.now,
            dc=self.data_center,
            user_id=store.users[0].id,
            token_lifetime=token_lifetime,
            refresh_limit=refresh_limit,
        )
        unique: dict[str, set[str]] = {}
        for name, fields in (unique_fields or {}).items():
            module = module_named(name)
            if module is None or any(f not in module.by_name for f in fields):
                raise ValueError(f"unknown module or field in unique_fields: {name} {fields}")
            unique[module.api_name] = set(fields)
        self.org = Org(
            store=store,
            watch=Watch(
                self.clock.now,
                self._resource_base,
                RetryPolicy.of(callback_retries, callback_timeout),
            ),
            pages=PageTokens(seed),
            now=self.clock.now,
            unique=unique,
        )
        self._settings = {
            "seed": seed,
            "data_center": self.data_center,
            "token_lifetime": token_lifetime,
            "refresh_limit": refresh_limit,
            "unique_fields": {name: sorted(fields) for name, fields in unique.items()},
        }

    # ---- the connection -------------------------------------------------------------------

    @property
    def triggers(self) -> list[tuple[str, str, Any]]:
        """(module, operation, trigger) of every write call: what automation was asked for."""
        return self.org.triggers

    @property
    def coql_credits(self) -> int:
        """API credits the COQL queries answered so far spent (§7: by their LIMIT)."""
        return self.org.credits.get("coql", 0)

    def records_answered(self) -> dict[str, int]:
        """Records answered so far by kind of call: `list` (Get Records pages, by id or not)
        and `coql` (rows of COQL queries)."""
        with self.lock:
            return dict(self.org.answered)

    @classmethod
    def for_connection(cls, config: Mapping[str, Any], **options: Any) -> ZohoCrmEmulator:
        """The connection's data centre; `options` are constructor options (data sizes,
        `faults` as a mapping of `integrate.Faults` fields ...)."""
        options.setdefault("data_center", str(config.get("data_center") or "com"))
        return cls(**options)

    def saved_settings(self) -> Mapping[str, Any]:
        return self._settings

    def saved_parts(self) -> Mapping[str, Saveable]:
        """The org (records, users, deleted log, files), OAuth client and tokens, and watch
        channels; custom fields an admin added are not kept."""
        return {"org": self.org.store, "oauth": self.oauth, "channels": self.org.watch}

    def connection_config(self) -> dict[str, Any]:
        return {"data_center": self.data_center, **self.credentials()}

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        url = super().serve(host, port)
        self.oauth.api_domain = url
        self.oauth.accounts_url = url
        self.org.watch.outbox.start(f"{self.plugin}-callbacks")
        return url

    def close(self) -> None:
        """Stop serving and stop delivering watch callbacks (those still waiting are kept)."""
        self.org.watch.outbox.stop()
        super().close()

    def _resource_base(self) -> str:
        """Callbacks name resources by their v2 URI (§9)."""
        return f"{self.oauth.api_domain_for(self.data_center)}/crm/v2"

    # ---- what a user of the system does ---------------------------------------------------

    def _admin(self) -> User:
        return self.org.store.users[0]

    def _module(self, object: str) -> Any:
        module = module_named(object, self.org.store.modules)
        if module is None:
            raise KeyError(f"Zoho CRM has no module {object!r}")
        return module

    def add_field(
        self, module: str, api_name: str, label: str, data_type: str = "text", length: int = 255
    ) -> dict[str, Any]:
        """An admin adds a custom field to a module in Zoho's setup (Modules and Fields): from
        now on settings/fields lists it and records may hold it. Not kept by `save`."""
        if data_type not in PLAIN_TYPES:
            raise ValueError(f"add_field takes one of {', '.join(PLAIN_TYPES)}, not {data_type!r}")
        with self.lock:
            found = self._module(module)
            if api_name in found.by_name:
                raise ValueError(f"{found.api_name} already has a field {api_name}")
            added = self.org.store.add_field(
                found.api_name, Field(api_name, label, data_type, length)
            )
            return {"api_name": added.api_name, "id": added.id, "data_type": added.data_type}

    def seed(self, object: str, records: Sequence[Record]) -> list[Record]:
        """Insert records as a user would; the server sets ids, times, owners."""
        with self.lock:
            module = self._module(object)
            if module.api_name == "Attachments":
                return [self._attach(dict(r)) for r in records]
            writer = writes.Writer(self.org, module, self._admin(), int(self.clock.now()))
            rows = []
            for i, record in enumerate(records):
                try:
                    result = writer.insert(i, dict(record))
                except writes.RowError as refused:
                    raise ValueError(f"cannot seed {module.api_name}: {refused.body}") from None
                rows.append(self.org.store.by_id[result["details"]["id"]])
            writer.announce()
            return [self.org.store.render(r) for r in rows]

    def _attach(self, record: dict[str, Any]) -> Record:
        parent = record.get("Parent_Id")
        ref = parent.get("id") if isinstance(parent, dict) else parent
        row = self.org.store.by_id.get(str(ref))
        if row is None or row.module not in SE_MODULES["Parent_Id"]:
            raise ValueError(f"cannot attach to {ref!r}: no such record")
        content = record.get("content", b"")
        data = content.encode() if isinstance(content, str) else bytes(content)
        now = int(self.clock.now())
        admin = self._admin().id
        attachment = self.org.store.add(
            "Attachments",
            {
                "File_Name": str(record.get("File_Name") or "attachment.bin"),
                "Size": len(data),
                "Parent_Id": row.id,
                "$se_module": row.module,
                "Owner": admin,
                "Created_By": admin,
                "Modified_By": admin,
            },
            now,
            now,
        )
        self.org.store.blobs[attachment.id] = data
        return self.org.store.attachment(attachment)

    def records(self, object: str) -> list[Record]:
        """Every record as stored now, converted leads included."""
        with self.lock:
            module = self._module(object)
            store = self.org.store
            rows = list(store.rows[module.api_name].values())
            if module.api_name == "Attachments":
                return [store.attachment(r) for r in rows]
            return [store.render(r) for r in rows]

    def change(self, object: str, id: str, values: Record) -> Record:
        """A user's edit: Modified_Time moves to now, watch channels hear of it."""
        with self.lock:
            module = self._module(object)
            row = self.org.store.get(module.api_name, id)
            if row is None:
                raise KeyError(f"{module.api_name} has no record {id}")
            editor = self.org.store.user_by_id.get(str(row.values.get("Owner")), self._admin())
            writer = writes.Writer(self.org, module, editor, int(self.clock.now()))
            try:
                writer.update(0, row, dict(values))
            except writes.RowError as refused:
                raise ValueError(f"cannot change {module.api_name} {id}: {refused.body}") from None
            writer.announce()
            return self.org.store.render(row)

    def delete(self, object: str, id: str) -> None:
        """A user deletes a record: it goes to the recycle bin (the deleted-records log)."""
        with self.lock:
            module = self._module(object)
            row = self.org.store.get(module.api_name, id)
            if row is None:
                raise KeyError(f"{module.api_name} has no record {id}")
            related = writes.parents(module, row.values)
            self.org.store.delete(row, int(self.clock.now()), self._admin().id)
            self.org.watch.notify(module.api_name, "delete", [id])
            self.org.watch.related(related)

    def grant_code(self, scope: str = "ZohoCRM.modules.ALL") -> str:
        """A one-time authorisation code (3 minutes), as a self client's "Generate Code"."""
        with self.lock:
            return self.oauth.grant_code(scope, self.data_center)

    def notifications(self) -> list[dict[str, Any]]:
        """The callback bodies sent to watch channels since the last call (§9), whether or
        not their POST has gone out yet."""
        with self.lock:
            return self.org.watch.drain()

    def deliver_due(self) -> int:
        """POST the watch callbacks due by the emulator's clock to their notify_urls (each
        channel in order; a failing receiver is retried later); the number delivered. The
        served emulator does this by itself; in process, a test calls it (on a FakeClock,
        advance the clock to reach a retry)."""
        return self.org.watch.outbox.deliver_due()

    def callbacks_waiting(self) -> int:
        """Watch callbacks neither delivered nor dropped yet."""
        return self.org.watch.outbox.pending()

    # ---- faults in Zoho's words -----------------------------------------------------------

    def rate_limited(self, request: Request) -> Answer:
        if request.path.startswith("/oauth/"):
            return self.reply(self.oauth.throttled())  # the accounts server throttles with a 200
        return self.json(429, envelope("TOO_MANY_REQUESTS", TOO_MANY))

    def server_error(self, request: Request) -> Answer:
        return self.json(500, envelope("INTERNAL_ERROR", INTERNAL))

    # ---- the HTTP app ---------------------------------------------------------------------

    def route(self, request: Request) -> Reply:
        if request.path.startswith("/oauth/"):
            return self._accounts(request)
        if request.path.startswith("/crm/"):
            return self._api(request)
        raise ZohoError(404, "INVALID_URL_PATTERN", BAD_URL)

    def kind_of(self, request: Request) -> str:
        """The call's kind, known before it is answered (so faults can refuse it untouched)."""
        if request.path.startswith("/oauth/"):
            return ACCOUNT_KINDS.get(request.path.rstrip("/"), "other")
        action = self._action(request)
        return action.kind if action else "other"

    def _table(self, request: Request) -> routes.Table:
        """The methods the request's path takes (worked out once per request)."""
        table: routes.Table | None = request.environ.get("integrate.zoho_crm.table")
        if table is None:
            table = routes.resolve(self.org, request.path)
            request.environ["integrate.zoho_crm.table"] = table
        return table

    def _action(self, request: Request) -> routes.Action | None:
        table = self._table(request)
        return table.get(request.method) or next(iter(table.values()), None)

    def _where(self, request: Request) -> tuple[str, str]:
        host = request.host.split(":")[0].lower()
        if host in HOSTS:
            return HOSTS[host]
        if "zoho" in host:
            return self.data_center, "foreign"
        return self.data_center, "local"

    def _accounts(self, request: Request) -> Reply:
        dc, role = self._where(request)
        path = request.path.rstrip("/")
        kind = ACCOUNT_KINDS.get(path, "other")
        self.kind(request, kind)
        if kind == "other" or role not in ("accounts", "local"):
            return Reply(404, raw=b"Not Found", content_type="text/html;charset=UTF-8")
        params = {**request.args.to_dict(), **request.form.to_dict()}
        if kind == "consent":
            return self.oauth.consent(params, dc)
        if request.method != "POST":
            return Reply(405, {"error": "invalid_request"})
        if kind == "revoke":
            return self.oauth.revoke(params)
        return self.oauth.token(params, dc)

    def _api(self, request: Request) -> Reply:
        dc, role = self._where(request)
        table = self._table(request)
        action = self._action(request)
        self.kind(request, action.kind if action else "other")
        if role == "foreign":
            raise ZohoError(400, "INVALID_HOST", "the host given seems to be invalid")
        if role == "accounts":
            raise ZohoError(404, "INVALID_URL_PATTERN", BAD_URL)
        access = authenticate(
            self.oauth, request.headers.get("Authorization", ""), dc, production=role != "sandbox"
        )
        if action is None:
            raise ZohoError(404, "INVALID_URL_PATTERN", BAD_URL)
        if request.method not in table:
            raise ZohoError(400, "INVALID_REQUEST_METHOD", BAD_METHOD)
        need = action.need
        require_scope(access, need.area, need.item, need.write)
        call = Call(
            method=request.method,
            args=request.args.to_dict(),
            headers=dict(request.headers.items()),
            body=request.get_data(),
            user=self.org.store.user_by_id[access.user_id],
            now=self.clock.now(),
            scopes=tuple(access.scopes),
        )
        return action.run(call)
