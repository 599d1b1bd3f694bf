"""The servicedesk_msp connector: ServiceDesk Plus MSP's REST API v3, on-premises (a
technician key in the `authtoken` header) or cloud (Zoho OAuth, a portal path).

Every write sends one form field, `input_data`, holding the JSON record wrapped in its
entity key; lists page through `list_info` (100 rows at most, 1-based `start_index`,
`has_more_rows`); a failed `response_status` is a failure even in an HTTP 200, and
`response_status` is a list on list calls and an object elsewhere. Details that
targets.md marks ASSUMED (module names, field names) are settings."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import (
    AMBIGUOUS,
    AUTH_EXPIRED,
    CREATE,
    FAIL,
    GET,
    OK,
    RATE_LIMITED,
    READ,
    RETRY,
    UPDATE,
    AuthError,
    Condition,
    Connector,
    ConnectorContext,
    ConnectorError,
    OAuth2,
    ObjectInfo,
    Page,
    PluginError,
    Record,
    RetryPolicy,
    WriteItem,
    WriteResult,
    consent_url,
    path_segment,
    reveal,
    token_classifier,
)

if TYPE_CHECKING:
    from integrate import HttpAnswer

__version__ = "0.1.0"

ACCEPT = "application/vnd.manageengine.sdp.v3+json"
MAX_ROWS = 100
BATCH = 25  # records per write() call: SDP has no batch endpoint, each is its own request
OBJECTS = ("accounts", "sites", "departments", "requesters")
SUCCESS = 2000
RATE_LIMITED_CODE = 4015
RATE_LIMITED_DIGITS = str(RATE_LIMITED_CODE).encode()
BAD_KEY = 4022
ACCOUNTS = {
    "com": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "com.au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "com.cn": "https://accounts.zoho.com.cn",
    "ca": "https://accounts.zohocloud.ca",
    "sa": "https://accounts.zoho.sa",
    "uk": "https://accounts.zoho.uk",
}
# Cloud: the data centres' API domains (`targets.md` S3) and their accounts servers.
VENDOR_DOMAINS = (
    *(url.removeprefix("https://") for url in ACCOUNTS.values()),
    *(
        f"sdpondemand.manageengine.{tld}"
        for tld in ("com", "eu", "in", "com.au", "jp", "ca", "sa", "uk")
    ),
    "servicedeskplus.cn",
)
SCOPES = "SDPOnDemand.setup.ALL,SDPOnDemand.users.ALL,SDPOnDemand.customers.ALL"

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "ServiceDesk Plus MSP, REST API v3: on-premises (technician key) or cloud (Zoho OAuth).",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {
        "deployment": {
            "enum": ["on_premises", "cloud"],
            "description": "on_premises (default) or cloud.",
        },
        "url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "The installation's base URL (on-premises) or the service domain (cloud).",
        },
        "portal": {
            "type": "string",
            "minLength": 1,
            "description": "Cloud: the portal, as in /app/<portal>/api/v3.",
        },
        "technician_key": {
            "type": "string",
            "x-secret": True,
            "description": "On-premises: the technician API key (sent in the authtoken header).",
        },
        "portal_id": {
            "type": "string",
            "description": "On-premises with several portals: the PORTALID header. ASSUMED.",
        },
        "data_center": {
            "enum": sorted(ACCOUNTS),
            "description": "Cloud: the Zoho data centre of the accounts server.",
        },
        "accounts_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "Cloud: the accounts server, when not the data centre's.",
        },
        "client_id": {"type": "string", "description": "Cloud: the Zoho OAuth client id."},
        "client_secret": {
            "type": "string",
            "x-secret": True,
            "description": "Cloud: the OAuth client secret.",
        },
        "refresh_token": {
            "type": "string",
            "x-secret": True,
            "description": "Cloud: the refresh token (`integrate auth`).",
        },
        "scopes": {
            "type": "string",
            "description": f"Cloud: scopes for `integrate auth`. Default {SCOPES}. ASSUMED.",
        },
        "accounts_module": {
            "enum": ["accounts", "customers"],
            "description": "The API name of accounts: accounts (on-premises default) or customers (MSP Cloud default). ASSUMED.",
        },
        "requesters_module": {
            "enum": ["requesters", "users"],
            "description": "The API name of requesters (default requesters). ASSUMED.",
        },
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ROWS,
            "description": "Rows per list call (≤ 100).",
        },
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "description": "Records per write batch (each is one call).",
        },
    },
    "allOf": [
        {
            "if": {"properties": {"deployment": {"const": "cloud"}}, "required": ["deployment"]},
            "then": {"required": ["portal", "client_id", "client_secret"]},
            "else": {"required": ["technician_key"]},
        }
    ],
}

# The entity key of each module's records in request and response bodies.
ENTITY = {
    "accounts": "account",
    "customers": "customer",
    "sites": "site",
    "departments": "department",
    "requesters": "requester",
    "users": "user",
}


def sdp_classifier(response: HttpAnswer) -> str:
    """HTTP 429 (or 4015 inside a 200) is a rate limit; 401/4022 an expired cloud token
    (refresh once) — the plugin turns an on-premises 4022 into "check the key"."""
    if "/oauth/" in response.path:
        return token_classifier(response)
    status = response.status_code
    if status == 429 or _rate_limited(response):
        return RATE_LIMITED
    if status >= 500:
        return RETRY
    if status == 401:
        # Only a token (cloud) can be refreshed; a refused technician key is final.
        return AUTH_EXPIRED if response.authenticated else FAIL
    return OK


def _rate_limited(response: HttpAnswer) -> bool:
    """4015 among the answer's status codes. The body is parsed only when those digits are in
    it at all (a JSON integer is never escaped), so the plugin's own json() is the one parse
    of an ordinary answer."""
    return RATE_LIMITED_DIGITS in response.content and RATE_LIMITED_CODE in _codes(response)


def _codes(response: HttpAnswer) -> set[int]:
    try:
        body = response.json()
    except ValueError:
        return set()
    return _status_codes(body)


def _status_codes(body: Any) -> set[int]:
    out: set[int] = set()
    if not isinstance(body, dict):
        return out
    statuses = body.get("response_status")
    for status in statuses if isinstance(statuses, list) else [statuses]:
        if isinstance(status, dict):
            if isinstance(status.get("status_code"), int):
                out.add(status["status_code"])
            for message in status.get("messages") or []:
                if isinstance(message, dict) and isinstance(message.get("status_code"), int):
                    out.add(message["status_code"])
    return out


def failure(body: Any) -> tuple[str, str] | None:
    """(code, message) when an answer's response_status says it failed, else None. The
    status is a list on list calls and an object elsewhere; look at both."""
    if not isinstance(body, dict):
        return ("NO_JSON", "the answer is not a JSON object")
    statuses = body.get("response_status")
    for status in statuses if isinstance(statuses, list) else [statuses]:
        if (
            not isinstance(status, dict)
            or status.get("status") == "success"
            or status.get("status_code") == SUCCESS
        ):
            continue
        messages = [m for m in status.get("messages") or [] if isinstance(m, dict)]
        first = messages[0] if messages else {}
        code = str(first.get("status_code", status.get("status_code", "")))
        text = str(first.get("message", status.get("status", "failed")))
        fields = first.get("fields")
        if fields:
            text += f" ({', '.join(map(str, fields))})"
        return code, text
    return None


class ServiceDeskMspConnector(Connector):
    """ServiceDesk Plus MSP, API v3."""

    plugin = "servicedesk_msp"
    version = __version__
    config_schema = CONFIG_SCHEMA
    known_objects = OBJECTS
    oauth_refresh_field = "refresh_token"
    reads_ahead = True
    vendor_domains = VENDOR_DOMAINS
    description = "ManageEngine ServiceDesk Plus MSP (API v3): accounts (customers), sites, departments, requesters."

    def __init__(self, config: Mapping[str, Any], context: ConnectorContext):
        super().__init__(config, context)
        self.cloud = config.get("deployment", "on_premises") == "cloud"
        base = str(reveal(config["url"])).rstrip("/")
        self.api = f"{base}/app/{config['portal']}/api/v3" if self.cloud else f"{base}/api/v3"
        self.accounts_module = str(
            config.get("accounts_module", "customers" if self.cloud else "accounts")
        )
        self.requesters_module = str(config.get("requesters_module", "requesters"))
        self.page_size = min(int(config.get("page_size", MAX_ROWS)), MAX_ROWS)
        self.batch_size = int(config.get("batch_size", BATCH))
        headers = {"Accept": ACCEPT}
        if config.get("portal_id"):
            headers["PORTALID"] = str(config["portal_id"])
        if not self.cloud:
            headers["authtoken"] = str(reveal(config["technician_key"]))
        self.http = context.http(
            classify=sdp_classifier,
            policy=RetryPolicy(max_attempts=6, backoff=1.0, backoff_max=60.0),
            concurrency=2,
            headers=headers,
        )
        self.auth: OAuth2 | None = None
        if self.cloud:
            accounts = str(
                config.get("accounts_url") or ACCOUNTS[str(config.get("data_center", "com"))]
            ).rstrip("/")
            self.accounts_url = accounts
            self.auth = OAuth2(
                connection=context.connection,
                token_url=f"{accounts}/oauth/v2/token",
                client_id=config["client_id"],
                client_secret=config["client_secret"],
                refresh_token=config.get("refresh_token"),
                http=self.http,
                clock=context.clock,
                cache=context.tokens,
                header_prefix="Zoho-oauthtoken",
            )
            self.http.auth = self.auth

    # ---- names ------------------------------------------------------------------------

    def module(self, object: str) -> str:
        """The API module of an object (accounts may be called customers)."""
        if object in ("accounts", "customers"):
            return self.accounts_module
        if object in ("requesters", "users"):
            return self.requesters_module
        if object in ("sites", "departments"):
            return object
        raise KeyError(object)

    # ---- describing ---------------------------------------------------------------------

    def objects(self) -> list[str]:
        return list(OBJECTS)

    def describe(self, object: str) -> ObjectInfo:
        self.module(object)  # KeyError for anything else
        operations = {READ, GET, CREATE, UPDATE}
        if object == "departments":
            operations = {READ, GET}  # departments are looked up, never created (SDP-13)
        return ObjectInfo(
            name=object,
            id_field="id",
            page_size=self.page_size,
            write_batch=self.batch_size,
            one_per_call=True,  # SDP has no batch endpoint: a request a record
            operations=frozenset(operations),
            sorted_reads=False,
            description=f"ServiceDesk Plus MSP {self.module(object)}",
        )

    # ---- calls --------------------------------------------------------------------------

    def call(
        self, method: str, module: str, *, kind: str, label: str, id: str = "", **kwargs: Any
    ) -> Any:
        """One API call to a module, or to one record of it. The id comes from data or an
        operator (`--map-to`): it is sent as one escaped path segment, never as a path."""
        response = self._send(method, module, kind=kind, label=label, id=id, **kwargs)
        return self._json(response, method, module)

    def _send(
        self, method: str, module: str, *, kind: str, label: str, id: str = "", **kwargs: Any
    ) -> HttpAnswer:
        url = f"{self.api}/{path_segment(module)}{f'/{path_segment(id)}' if id else ''}"
        try:
            return self.http.request(
                method, url, kind=kind, label=label, expect_json=True, **kwargs
            )
        except ConnectorError as exc:
            if exc.code == "401" and not self.cloud:
                raise AuthError(
                    f"{self.context.connection}: ServiceDesk Plus refused the technician key (4022); "
                    "check technician_key and that its technician is active",
                    code="BAD_KEY",
                ) from exc
            raise

    def _json(self, response: HttpAnswer, method: str, module: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ConnectorError(
                f"{self.context.connection}: {method} {module}: the answer is not JSON"
            ) from exc

    # ---- reading ------------------------------------------------------------------------

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
        where: Condition | None = None,  # not pushed down: the engine filters what is read
    ) -> Iterator[Page]:
        """Every record of the object (SDP offers no modified-since filter here: full reads)."""
        module = self.module(object)
        size = min(page_size or self.page_size, MAX_ROWS)
        start = 1
        while True:
            list_info = {
                "row_count": size,
                "start_index": start,
                "sort_field": "id",
                "sort_order": "asc",
            }
            body = self.call(
                "GET",
                module,
                kind="read",
                label="list",
                params={"input_data": json.dumps({"list_info": list_info})},
            )
            failed = failure(body)
            if failed is not None:
                raise ConnectorError(
                    f"{self.context.connection}: reading {module}: {failed[1]} ({failed[0]})",
                    code=failed[0],
                )
            rows = body.get(module)
            if rows is None:
                rows = body.get(ENTITY[module] + "s", [])
            yield Page([_plain(r) for r in rows])
            info = body.get("list_info") or {}
            if not info.get("has_more_rows") or not rows:
                return
            start += len(rows)

    def get(
        self, object: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record]:
        module = self.module(object)
        out: list[Record] = []
        for id in ids:
            if str(id) == "":
                continue  # names no record (and an empty segment would list them all)
            body = self.call("GET", module, kind="read", label="get", id=str(id))
            if failure(body) is None and isinstance(body.get(ENTITY[module]), dict):
                out.append(_plain(body[ENTITY[module]]))
        return out

    def search(self, object: str, criteria: Mapping[str, Any]) -> list[Record]:
        """Records whose fields are the given values (`search_criteria`, `is`)."""
        module = self.module(object)
        conditions = [
            {
                "field": name,
                "condition": "is",
                "value": value,
                **({"logical_operator": "and"} if n else {}),
            }
            for n, (name, value) in enumerate(criteria.items())
        ]
        list_info = {"row_count": MAX_ROWS, "start_index": 1, "search_criteria": conditions}
        body = self.call(
            "GET",
            module,
            kind="read",
            label="search",
            params={"input_data": json.dumps({"list_info": list_info})},
        )
        failed = failure(body)
        if failed is not None:
            raise ConnectorError(
                f"{self.context.connection}: searching {module}: {failed[1]}", code=failed[0]
            )
        return [_plain(r) for r in body.get(module, [])]

    # ---- writing ------------------------------------------------------------------------

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        if operation not in (CREATE, UPDATE) or object == "departments":
            raise PluginError(f"servicedesk_msp cannot {operation} {object}")
        module = self.module(object)
        entity = ENTITY[module]
        results = []
        for item in items:
            values = _outgoing(object, item.values, self.accounts_module)
            form = {"input_data": json.dumps({entity: values})}
            if operation == CREATE:
                created = self._create(module, form, item.ref)
                if isinstance(created, WriteResult):
                    results.append(created)
                    continue
                body = created
            else:
                if item.id is None or str(item.id) == "":
                    results.append(
                        WriteResult.failure(item.ref, "an update needs the record's id", "NO_ID")
                    )
                    continue
                body = self.call(
                    "PUT", module, kind="write", label="update", id=str(item.id), data=form
                )
            failed = failure(body)
            stored = body.get(entity) if isinstance(body, dict) else None
            if failed is not None or not isinstance(stored, dict):
                code, message = failed or ("NO_RECORD", "the answer holds no record")
                results.append(WriteResult.failure(item.ref, message, code))
                continue
            record = _plain(stored)
            results.append(
                WriteResult.success(
                    item.ref, str(record.get("id")), record=record, created=operation == CREATE
                )
            )
        return results

    def _create(self, module: str, form: dict[str, str], ref: int) -> Any:
        """The answer to one create, or an ambiguous result when there is none to trust: a
        5xx, or a timeout or reset after the request was sent (SDP has no upsert, so the
        engine looks for the record before it creates it again)."""
        try:
            response = self._send(
                "POST", module, kind="write", label="create", data=form, idempotent=False
            )
        except ConnectorError as exc:
            if exc.code != AMBIGUOUS:
                raise
            return WriteResult.ambiguous(ref, str(exc))
        if response.status_code >= 500:
            return WriteResult.ambiguous(
                ref, f"ServiceDesk Plus answered {response.status_code} to the create"
            )
        return self._json(response, "POST", module)

    # ---- authorisation (cloud) ------------------------------------------------------------

    def consent_url(self, redirect_uri: str, state: str) -> str:
        if self.auth is None:
            return super().consent_url(redirect_uri, state)
        return consent_url(
            f"{self.accounts_url}/oauth/v2/auth",
            client_id=str(reveal(self.config["client_id"])),
            scope=str(self.config.get("scopes", SCOPES)),
            redirect_uri=redirect_uri,
            state=state,
            access_type="offline",
            prompt="consent",
        )

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any]:
        if self.auth is None:
            return super().exchange_code(code, redirect_uri)
        return self.auth.exchange_code(code, redirect_uri or None)

    def write_concurrency(self) -> int:
        return self.http.concurrency

    def close(self) -> None:
        self.http.close()


def _plain(record: Mapping[str, Any]) -> Record:
    """A record as specs see it: `customer` (MSP Cloud) also answers to `account`, and
    date-time objects keep their epoch value under the same name."""
    out = dict(record)
    if "customer" in out and "account" not in out:
        out["account"] = out["customer"]
    return out


def _outgoing(object: str, values: Mapping[str, Any], accounts_module: str) -> dict[str, Any]:
    """A record as SDP takes it: on MSP Cloud a requester's `account` is its `customer`."""
    out = {k: v for k, v in values.items() if not k.startswith("$")}
    if (
        accounts_module == "customers"
        and "account" in out
        and object in ("requesters", "users", "sites")
    ):
        out["customer"] = out.pop("account")
    return out
