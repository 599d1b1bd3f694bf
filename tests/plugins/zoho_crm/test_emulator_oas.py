"""The emulator's JSON answers validate against Zoho's own OpenAPI files (v8.0, copied from
shared/api/zoho_crm_oas/ into oas/ beside this test), success and error alike.

How the files are read:
- OpenAPI 3.0 `nullable: true` becomes a JSON Schema null type.
- Cross-file `$ref`s point at raw.githubusercontent.com/.../v8.0/<file>.json; they resolve to
  the local file of that name (a `referencing` registry).
- `oneOf: [success, API_Exception]` branches accept almost anything, so the branch is picked
  by shape: a body whose `status` is "error" is validated against the exception branches,
  any other body against the others, strictly (every `required`, type, enum and pattern).
- OpenAPI 3.0 cannot mark a `$ref` nullable; Zoho's samples send null for such properties
  (field metadata's `associated_module`, convert's `Deals`), so a `$ref` property may be null.
- ERRATA lists each place where the files contradict Zoho's documented behaviour
  (shared/api/zoho_crm.md), with the reason. Nothing else is relaxed.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.plugins.zoho_crm.emulator_kit import Crm

ROOT = Path(__file__).resolve().parents[3]
# Zoho's files, copied unchanged into the repository (oas/README.md) so this runs everywhere.
OAS = Path(__file__).resolve().parent / "oas"
BASE = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"


PAGE_TOKENS = {"nullable": True}
ERRATA: list[tuple[str, str, dict[str, Any], str]] = [
    *(
        (
            name,
            f"/components/schemas/Info/properties/{key}",
            PAGE_TOKENS,
            "§2: null on the last page",
        )
        for name in ("record.json", "notes.json")
        for key in ("next_page_token", "previous_page_token", "page_token_expiry")
    ),
    (
        "record.json",
        "/components/schemas/Success_Response/properties/duplicate_field",
        {"nullable": True},
        "§3.1: an upsert that inserted answers duplicate_field null",
    ),
    (
        "record.json",
        "/components/schemas/Deleted_Record/properties/display_name",
        {"nullable": True},
        "§6: permanently deleted records have no display_name",
    ),
    (
        "record.json",
        "/components/schemas/API_Exception/properties/code",
        {
            "+enum": [
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "PAGINATION_LIMIT_EXCEEDED",
                "TOKEN_BOUND_DATA_MISMATCH",
                "EXPIRED_VALUE",
                "AMBIGUITY_DURING_PROCESSING",
                "TOO_MANY_REQUESTS",
            ]
        },
        "§2.1 and §10.4: paging and 429 codes the file does not list",
    ),
    (
        "record.json",
        "/components/schemas/API_Exception/properties/message",
        {
            "+enum": [
                # seen in the wild (airbytehq/airbyte#30977)
                "You can only get the first 2000 records without using page_token param",
                # Zoho publishes no wording for these: the emulator's (ASSUMED)
                "You can only get the first 100000 records using page_token param",
                "the given page_token does not match the other parameters of the request",
                "the given page_token has expired",
                "page and page_token cannot be used together",
                "You have exceeded the concurrency limit or the API credits for the day",
                "invalid oauth scope to access this URL",
            ]
        },
        "messages of the codes above",
    ),
    (
        "record.json",
        "/components/schemas/API_Exception/properties/details/properties/maximum_length",
        {"type": "integer"},
        "notes.json, convert_lead.json and modules.json type maximum_length as an integer",
    ),
    (
        "related_records.json",
        "/components/schemas/API_Exception/properties/code",
        {"+enum": ["REQUIRED_PARAM_MISSING"]},
        "§5: `fields` is mandatory on related lists; the file lists no error for it",
    ),
    (
        "related_records.json",
        "/components/schemas/API_Exception/properties/message",
        {"+enum": ["One of the expected parameter is missing"]},
        "the message of REQUIRED_PARAM_MISSING elsewhere in Zoho's files",
    ),
    (
        "users.json",
        "/components/schemas/users/properties/email",
        {"-pattern": None},
        "the pattern fits only the sample's address (9 characters @ 5 characters .com)",
    ),
    (
        "notifications.json",
        "/components/schemas/Notification/properties/notify_url",
        {"-pattern": None},
        "the pattern matches only the host of Zoho's sample",
    ),
    (
        "notifications.json",
        "/components/schemas/Notification/properties/channel_id",
        {"type": "string"},
        "§9: channel ids are numbers sent as strings; no JSON object is one",
    ),
]
KNOWN_DANGLING = {"notes.json#/components/parameters/If-Modified-Since"}
ERROR_SHAPE = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"const": "error"}},
}


# ---- reading Zoho's files ---------------------------------------------------------------------


def _pointer(parts: list[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _walk(doc: Any, pointer: str) -> Any:
    node = doc
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


class Oas:
    """Zoho's files as JSON Schema resources, with errata applied."""

    def __init__(self, folder: Path):
        self.raw: dict[str, Any] = {
            p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
        }
        for name, pointer, change, _reason in ERRATA:
            node = _walk(self.raw[name], pointer)
            for key, value in change.items():
                if key.startswith("+"):
                    node[key[1:]] = [*node[key[1:]], *value]
                elif key.startswith("-"):
                    node.pop(key[1:])
                else:
                    node[key] = value
        self.dangling: set[str] = set()
        converted = {
            name: self._convert(copy.deepcopy(doc), name) for name, doc in self.raw.items()
        }
        self.registry: Registry[Any] = Registry().with_resources(
            (BASE + name, Resource.from_contents(doc, default_specification=DRAFT202012))
            for name, doc in converted.items()
        )
        self.checker = jsonschema.FormatChecker(formats=())
        self.checker.checks("date-time")(_is_datetime)
        self.checker.checks("date")(_is_date)

    def _resolve(self, ref: str, name: str) -> tuple[Any, str] | None:
        where, _, fragment = ref.partition("#")
        if where:
            name = where.rsplit("/", 1)[-1]
        try:
            return _walk(self.raw[name], fragment), name
        except (KeyError, IndexError):
            return None

    def _kind(self, schema: Any, name: str) -> str:
        for _ in range(10):
            if not (isinstance(schema, dict) and "$ref" in schema):
                break
            found = self._resolve(schema["$ref"], name)
            if found is None:
                return "success"
            schema, name = found
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        status = props.get("status", {})
        if "enum" in status:
            return "error" if "error" in status["enum"] else "success"
        return "error" if "code" in props and "status" in props else "success"

    def _convert(self, node: Any, name: str) -> Any:
        if isinstance(node, list):
            return [self._convert(n, name) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node and self._resolve(node["$ref"], name) is None:
            ref = node["$ref"]
            self.dangling.add(f"{name}{ref}" if ref.startswith("#") else ref.removeprefix(BASE))
            return {}
        out = {k: self._convert(v, name) for k, v in node.items()}
        if out.pop("nullable", False):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        if isinstance(out.get("properties"), dict):
            out["properties"] = {
                key: {"anyOf": [value, {"type": "null"}]}
                if isinstance(value, dict) and set(value) == {"$ref"}
                else value
                for key, value in out["properties"].items()
            }
        if "oneOf" in node:
            branches = list(zip(node["oneOf"], out.pop("oneOf"), strict=True))
            errors = [c for raw, c in branches if self._kind(raw, name) == "error"]
            others = [c for raw, c in branches if self._kind(raw, name) != "error"]
            pick = {
                "if": ERROR_SHAPE,
                "then": {"anyOf": errors} if errors else False,
                "else": {"anyOf": others} if others else False,
            }
            out["allOf"] = [*out.get("allOf", []), pick]
        return out

    def schema_uris(self, name: str, path: str, method: str, status: int) -> Iterator[str]:
        """The JSON schemas of an operation's answer: the one listed under `status`, or,
        when that status is not listed, every listed one."""
        responses = self.raw[name]["paths"][path][method]["responses"]
        codes = [str(status)] if str(status) in responses else list(responses)
        for code in codes:
            pointer = _pointer(["paths", path, method, "responses", code])
            response = responses[code]
            if "$ref" in response:
                pointer = response["$ref"].partition("#")[2]
                response = _walk(self.raw[name], pointer)
            if "application/json" in response.get("content", {}):
                yield f"{BASE}{name}#{quote(pointer + '/content/application~1json/schema', safe='/~')}"

    @functools.cache  # noqa: B019  (one Oas per session)
    def validator(self, uri: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            {"$ref": uri}, registry=self.registry, format_checker=self.checker
        )

    def problems(self, body: Any, name: str, path: str, method: str, status: int) -> list[str]:
        uris = list(self.schema_uris(name, path, method, status))
        if not uris:
            return [f"{name} {method.upper()} {path} describes no JSON answer for {status}"]
        found = []
        for uri in uris:
            errors = list(self.validator(uri).iter_errors(body))
            if not errors:
                return []
            where = uri.rsplit("#", 1)[1]
            found += [f"{where}: {e.json_path}: {e.message}" for e in _leaves(errors)][:8]
        return found


def _leaves(errors: list[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    """The innermost reasons (anyOf/allOf only say "not valid under any")."""
    for error in errors:
        if error.context:
            yield from _leaves(list(error.context))
        else:
            yield error


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$", value):
        return False
    return dt.datetime.fromisoformat(value).tzinfo is not None


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


@pytest.fixture(scope="module")
def oas() -> Oas:
    return Oas(OAS)


@pytest.fixture
def crm() -> Crm:
    return Crm(
        accounts=12, contacts_per_account=2, deals_per_account=2, events_per_account=1, leads=4
    )


def valid(oas: Oas, answer: httpx.Response, name: str, path: str, method: str) -> Any:
    """Assert the answer validates; returns its body."""
    if answer.status_code in (204, 304):
        assert answer.content == b""
        return None
    body = answer.json()
    problems = oas.problems(body, name, path, method.lower(), answer.status_code)
    assert problems == [], f"{answer.status_code} {json.dumps(body)[:400]}"
    return body


RECORDS = "/crm/v8/{module_api_name}"
RECORD = "/crm/v8/{module_api_name}/{id}"
RELATED = "/crm/v8/{module_api_name}/{record_id}/{related_list_api_name}"
WATCH = "/crm/v8/actions/watch"


# ---- the validation itself can fail ---------------------------------------------------------


def test_the_files_load_with_errata_and_known_gaps(oas: Oas) -> None:
    assert oas.dangling == KNOWN_DANGLING, sorted(oas.dangling)
    for name, pointer, _change, reason in ERRATA:
        assert reason
        _walk(oas.raw[name], pointer)


@pytest.mark.parametrize(
    "body",
    [
        {"data": "not a list"},
        {"data": [{"id": 5}]},
        {"code": "NOT_A_ZOHO_CODE", "details": {}, "message": "invalid data", "status": "error"},
        {"code": "INVALID_DATA", "details": {}, "message": "made up", "status": "error"},
        {"data": [], "info": {"page_token_expiry": "yesterday"}},
    ],
)
def test_wrong_bodies_are_caught(oas: Oas, body: Any) -> None:
    assert oas.problems(body, "record.json", RECORDS, "get", 200)


def test_a_field_without_its_required_keys_is_caught(oas: Oas, crm: Crm) -> None:
    body = crm.get("/settings/fields", params={"module": "Accounts"}).json()
    del body["fields"][0]["json_type"]
    assert oas.problems(body, "fields.json", "/crm/v8/settings/fields", "get", 200)


# ---- records (record.json) ------------------------------------------------------------------


def test_list_and_its_refusals(oas: Oas, crm: Crm) -> None:
    fields = (
        "Account_Name,Owner,Created_Time,Modified_Time,Parent_Account,Tag,Sync_with_ClientSuccess"
    )
    first = valid(
        oas,
        crm.get("/Accounts", params={"fields": fields, "per_page": "5"}),
        "record.json",
        RECORDS,
        "get",
    )
    token = first["info"]["next_page_token"]
    valid(
        oas,
        crm.get("/Accounts", params={"fields": fields, "per_page": "5", "page_token": token}),
        "record.json",
        RECORDS,
        "get",
    )
    valid(
        oas,
        crm.get("/Events", params={"fields": "What_Id,Start_DateTime,Participants"}),
        "record.json",
        RECORDS,
        "get",
    )
    refusals = [
        {},
        {"fields": ",".join(["Phone"] * 51)},
        {"fields": "Nope"},
        {"fields": "Phone", "per_page": "250"},
        {"fields": "Phone", "page": "11"},
        {"fields": "Phone", "page_token": "garbage"},
        {"fields": "Phone", "page_token": token, "page": "1"},
        {"fields": "Phone", "per_page": "5", "page_token": token},
    ]
    for params in refusals:
        answer = crm.get("/Accounts", params=params)
        assert answer.status_code == 400
        valid(oas, answer, "record.json", RECORDS, "get")
    valid(
        oas,
        crm.get("/Accounts", params={"fields": "Phone"}, token="1000.x.y"),
        "record.json",
        RECORDS,
        "get",
    )


def test_one_record(oas: Oas, crm: Crm) -> None:
    for module in ("Accounts", "Contacts", "Leads", "Deals", "Events", "Notes"):
        record = crm.ids(module)[0]
        valid(oas, crm.get(f"/{module}/{record}"), "record.json", RECORD, "get")
    valid(oas, crm.get("/Accounts/not-an-id"), "record.json", RECORD, "get")


def test_writes_and_their_refusals(oas: Oas, crm: Crm) -> None:
    account = crm.ids("Accounts")[0]
    mixed = crm.post(
        "/Accounts",
        json={
            "data": [
                {"Account_Name": "Málaga Solar"},
                {"Phone": "1"},
                {"Account_Name": "x", "Employees": "many"},
                {"Account_Name": "y", "Website": "w" * 300},
            ]
        },
    )
    assert mixed.status_code == 207
    valid(oas, mixed, "record.json", RECORDS, "post")
    valid(
        oas,
        crm.post("/Accounts", json={"data": [{"Account_Name": "Kraków Stal"}]}),
        "record.json",
        RECORDS,
        "post",
    )
    valid(oas, crm.post("/Accounts", json={"data": [{}] * 101}), "record.json", RECORDS, "post")
    valid(oas, crm.post("/Accounts", json={"rows": []}), "record.json", RECORDS, "post")
    valid(
        oas,
        crm.put(
            "/Accounts",
            json={"data": [{"id": account, "Phone": "2"}, {"id": "5725767000009999999"}]},
        ),
        "record.json",
        RECORDS,
        "put",
    )
    valid(
        oas,
        crm.put(f"/Accounts/{account}", json={"data": [{"Industry": "Consulting"}]}),
        "record.json",
        RECORD,
        "put",
    )
    upserted = crm.post(
        "/Accounts/upsert",
        json={
            "data": [
                {"Account_Name": "Kraków Stal", "Phone": "3"},
                {"Account_Name": "Göteborg Frakt"},
            ]
        },
    )
    assert [r["action"] for r in upserted.json()["data"]] == ["update", "insert"]
    valid(oas, upserted, "record.json", "/crm/v8/{module_api_name}/upsert", "post")
    valid(
        oas,
        crm.delete("/Accounts", params={"ids": f"{account},5725767000009999999"}),
        "record.json",
        RECORDS,
        "delete",
    )
    valid(oas, crm.delete("/Accounts"), "record.json", RECORDS, "delete")
    valid(oas, crm.delete(f"/Accounts/{crm.ids('Accounts')[0]}"), "record.json", RECORD, "delete")


def test_duplicates(oas: Oas) -> None:
    crm = Crm(accounts=1, unique_fields={"Accounts": ["Account_Number"]})
    answer = crm.post(
        "/Accounts",
        json={
            "data": [
                {"Account_Name": "a", "Account_Number": "7"},
                {"Account_Name": "b", "Account_Number": "7"},
            ]
        },
    )
    assert answer.json()["data"][1]["code"] == "DUPLICATE_DATA"
    valid(oas, answer, "record.json", RECORDS, "post")


def test_search_count_and_deleted(oas: Oas, crm: Crm) -> None:
    contact = next(c for c in crm.emulator.records("Contacts") if c["Email"])
    path = "/crm/v8/{module_api_name}/search"
    valid(
        oas,
        crm.get("/Contacts/search", params={"email": contact["Email"]}),
        "record.json",
        path,
        "get",
    )
    valid(
        oas,
        crm.get("/Contacts/search", params={"criteria": "(Nope:equals:1)"}),
        "record.json",
        path,
        "get",
    )
    valid(oas, crm.get("/Contacts/search"), "record.json", path, "get")
    valid(
        oas,
        crm.get("/Contacts/search", params={"word": "a", "page": "11"}),
        "record.json",
        path,
        "get",
    )
    count = valid(
        oas,
        crm.get("/Contacts/actions/count"),
        "record.json",
        "/crm/v8/{module_api_name}/actions/count",
        "get",
    )
    assert count == {"count": "24"}
    crm.emulator.delete("Contacts", contact["id"])
    crm.clock.advance(70 * 86_400)
    crm.token = crm.refresh()["access_token"]
    crm.delete("/Contacts", params={"ids": crm.ids("Contacts")[0]})
    deleted = valid(
        oas, crm.get("/Contacts/deleted"), "record.json", "/crm/v8/{module_api_name}/deleted", "get"
    )
    assert {d["type"] for d in deleted["data"]} == {"recycle", "permanent"}
    valid(
        oas,
        crm.get("/Contacts/deleted", params={"type": "gone"}),
        "record.json",
        "/crm/v8/{module_api_name}/deleted",
        "get",
    )


def test_faults_and_scope_refusals(oas: Oas) -> None:
    from integrate import Faults

    spare = frozenset({"token"})
    for faults in (Faults(rate_limit=1.0, spare=spare), Faults(server_error=1.0, spare=spare)):
        crm = Crm(accounts=1, faults=faults)
        valid(oas, crm.get("/Accounts", params={"fields": "Phone"}), "record.json", RECORDS, "get")
    crm = Crm(accounts=1)
    params = {
        "grant_type": "authorization_code",
        "client_id": crm.emulator.client_id,
        "client_secret": crm.emulator.client_secret,
        "code": crm.emulator.grant_code("ZohoCRM.settings.ALL"),
    }
    token = crm.http.post("https://accounts.zoho.com/oauth/v2/token", params=params).json()[
        "access_token"
    ]
    answer = crm.get("/Accounts", params={"fields": "Phone"}, token=token)
    assert answer.status_code == 401
    valid(oas, answer, "record.json", RECORDS, "get")


# ---- related lists, attachments, notes, conversion ------------------------------------------


def test_related_records(oas: Oas, crm: Crm) -> None:
    account = crm.ids("Accounts")[1]
    for related in ("Contacts", "Deals", "Events", "Notes"):
        valid(
            oas,
            crm.get(f"/Accounts/{account}/{related}", params={"fields": "Created_Time,Owner"}),
            "related_records.json",
            RELATED,
            "get",
        )
    valid(oas, crm.get(f"/Accounts/{account}/Contacts"), "related_records.json", RELATED, "get")
    valid(
        oas,
        crm.get(f"/Accounts/{account}/Nope", params={"fields": "id"}),
        "related_records.json",
        RELATED,
        "get",
    )
    valid(
        oas,
        crm.get("/Accounts/5725767000009999999/Contacts", params={"fields": "id"}),
        "related_records.json",
        RELATED,
        "get",
    )


def test_attachments(oas: Oas, crm: Crm) -> None:
    path = "/crm/v8/{module}/{record_id}/Attachments"
    account = crm.ids("Accounts")[3]
    listed = valid(
        oas,
        crm.get(f"/Accounts/{account}/Attachments", params={"fields": "File_Name"}),
        "attachments.json",
        path,
        "get",
    )
    assert listed["data"]
    valid(oas, crm.get(f"/Accounts/{account}/Attachments"), "attachments.json", path, "get")
    missing = crm.get(f"/Accounts/{account}/Attachments/5725767000009999999")
    valid(oas, missing, "attachments.json", path + "/{id}", "get")


def test_notes(oas: Oas, crm: Crm) -> None:
    fields = (
        "Note_Title,Note_Content,Parent_Id,Owner,Created_Time,Modified_Time,Created_By,Modified_By"
    )
    valid(oas, crm.get("/Notes", params={"fields": fields}), "notes.json", "/crm/v8/Notes", "get")
    parent = {"module": {"api_name": "Deals"}, "id": crm.ids("Deals")[0]}
    created = crm.post("/Notes", json={"data": [{"Note_Content": "Rückruf", "Parent_Id": parent}]})
    assert created.status_code == 201
    valid(oas, created, "notes.json", "/crm/v8/Notes", "post")
    refused = crm.post("/Notes", json={"data": [{"Note_Title": "no content", "Parent_Id": parent}]})
    assert refused.status_code == 400
    valid(oas, refused, "notes.json", "/crm/v8/Notes", "post")
    note = created.json()["data"][0]["details"]["id"]
    valid(
        oas,
        crm.put(f"/Notes/{note}", json={"data": [{"Note_Title": "Rückruf erledigt"}]}),
        "notes.json",
        "/crm/v8/Notes/{id}",
        "put",
    )
    valid(
        oas,
        crm.put("/Notes/5725767000009999999", json={"data": [{"Note_Title": "x"}]}),
        "notes.json",
        "/crm/v8/Notes/{id}",
        "put",
    )


def test_lead_conversion(oas: Oas, crm: Crm) -> None:
    path = "/crm/v8/Leads/{lead_id}/actions/convert"
    leads = crm.ids("Leads")
    deal = {"Deal_Name": "Pilot", "Stage": "Qualification"}
    valid(
        oas,
        crm.post(f"/Leads/{leads[0]}/actions/convert", json={"data": [{"Deals": deal}]}),
        "convert_lead.json",
        path,
        "post",
    )
    valid(
        oas,
        crm.post(f"/Leads/{leads[1]}/actions/convert", json={"data": [{}]}),
        "convert_lead.json",
        path,
        "post",
    )
    again = crm.post(f"/Leads/{leads[0]}/actions/convert", json={"data": [{}]})
    assert again.status_code == 400
    valid(oas, again, "convert_lead.json", path, "post")
    no_stage = crm.post(
        f"/Leads/{leads[2]}/actions/convert", json={"data": [{"Deals": {"Deal_Name": "x"}}]}
    )
    valid(oas, no_stage, "convert_lead.json", path, "post")
    valid(
        oas,
        crm.post("/Leads/5725767000009999999/actions/convert", json={"data": [{}]}),
        "convert_lead.json",
        path,
        "post",
    )


# ---- users, metadata, watch ------------------------------------------------------------------


def test_users(oas: Oas, crm: Crm) -> None:
    for kind in ("AllUsers", "ActiveUsers", "CurrentUser", "AdminUsers"):
        valid(oas, crm.get("/users", params={"type": kind}), "users.json", "/crm/v8/users", "get")
    valid(
        oas, crm.get("/users", params={"type": "Everybody"}), "users.json", "/crm/v8/users", "get"
    )


def test_metadata(oas: Oas, crm: Crm) -> None:
    valid(oas, crm.get("/settings/modules"), "modules.json", "/crm/v8/settings/modules", "get")
    path = "/crm/v8/settings/modules/{api_name}"
    valid(oas, crm.get("/settings/modules/Accounts"), "modules.json", path, "get")
    valid(oas, crm.get("/settings/modules/Nope"), "modules.json", path, "get")
    for module in ("Accounts", "Contacts", "Leads", "Deals", "Events", "Notes"):
        valid(
            oas,
            crm.get("/settings/fields", params={"module": module}),
            "fields.json",
            "/crm/v8/settings/fields",
            "get",
        )
    valid(oas, crm.get("/settings/fields"), "fields.json", "/crm/v8/settings/fields", "get")
    valid(
        oas,
        crm.get("/settings/fields", params={"module": "Nope"}),
        "fields.json",
        "/crm/v8/settings/fields",
        "get",
    )
    related = "/crm/v8/settings/related_lists"
    valid(
        oas,
        crm.get("/settings/related_lists", params={"module": "Accounts"}),
        "related_lists.json",
        related,
        "get",
    )


def test_watch(oas: Oas, crm: Crm) -> None:
    channel = {
        "channel_id": 1000000068001,
        "events": ["Accounts.all", "Contacts.edit"],
        "notify_url": "http://127.0.0.1:9/hook",
        "token": "secret",
    }
    valid(
        oas,
        crm.post("/actions/watch", json={"watch": [channel]}),
        "notifications.json",
        WATCH,
        "post",
    )
    bad = [channel | {"token": "t" * 51}, channel | {"events": ["Accounts.boom"]}]
    refused = crm.post("/actions/watch", json={"watch": bad})
    assert refused.status_code == 400
    valid(oas, refused, "notifications.json", WATCH, "post")
    valid(oas, crm.get("/actions/watch"), "notifications.json", WATCH, "get")
    patch = {"watch": [{"channel_id": "1000000068001", "events": ["Deals.create"]}]}
    valid(oas, crm.patch("/actions/watch", json=patch), "notifications.json", WATCH, "patch")
    valid(
        oas,
        crm.put("/actions/watch", json={"watch": [channel | {"events": ["Deals.all"]}]}),
        "notifications.json",
        WATCH,
        "put",
    )
    valid(
        oas,
        crm.delete("/actions/watch", params={"channel_ids": "1000000068001"}),
        "notifications.json",
        WATCH,
        "delete",
    )
    valid(oas, crm.delete("/actions/watch"), "notifications.json", WATCH, "delete")


def test_coql_and_its_refusals(oas: Oas, crm: Crm) -> None:
    path = "/crm/v8/coql"

    def query(text: str) -> httpx.Response:
        return crm.post("/coql", json={"select_query": text})

    body = valid(
        oas,
        query(
            "select Account_Name, Owner, Modified_Time, Employees from Accounts "
            "where Account_Name is not null order by Modified_Time asc, id asc limit 5"
        ),
        "coql.json",
        path,
        "post",
    )
    assert len(body["data"]) == 5
    grouped = (
        "select Account_Type, COUNT(id) from Accounts where id is not null group by Account_Type"
    )
    assert valid(oas, query(grouped), "coql.json", path, "post")["data"]
    for text, code in (
        ("select id from Accounts", "SYNTAX_ERROR"),
        ("select id form Accounts where id is not null", "SYNTAX_ERROR"),
        ("select Nope from Accounts where id is not null", "INVALID_QUERY"),
        ("select id from Accounts where Employees = 'x'", "INVALID_QUERY"),
        ("select id from Accounts where Description = 'x'", "INVALID_QUERY"),
        ("select id from Accounts where Account_Name < 'x'", "INVALID_QUERY"),
        ("select id from Nope where id is not null", "INVALID_QUERY"),
        ("select id from Accounts where id is not null limit 2001", "LIMIT_EXCEEDED"),
        ("select id from Accounts where id is not null order by id, id", "DUPLICATE_DATA"),
        ("select COUNT(id) as Phone from Accounts where id is not null", "INVALID_ALIAS"),
        (
            "select COUNT(id) as n, MIN(id) as n from Accounts where id is not null",
            "DUPLICATE_ALIAS",
        ),
    ):
        answer = query(text)
        assert answer.status_code == 400, text
        assert valid(oas, answer, "coql.json", path, "post")["code"] == code, text
