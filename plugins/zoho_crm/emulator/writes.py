"""Writing: insert, update, upsert and delete (§3), with per-record results in request
order, Zoho's per-record error shapes and its 201/200/207/400 statuses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from integrate import Reply
from integrate_zoho_crm.emulator.catalogue import SE_MODULES, STAGES, Module
from integrate_zoho_crm.emulator.errors import (
    DUPLICATE,
    INVALID_DATA,
    INVALID_ID,
    MANDATORY,
    ZohoError,
    missing_param,
    per_record_status,
)
from integrate_zoho_crm.emulator.org import Call, Org
from integrate_zoho_crm.emulator.store import Row, User
from integrate_zoho_crm.emulator.values import Invalid, check, iso

MAX_ROWS = 100
TRIGGERS = {"workflow", "approval", "blueprint", "pathfinder", "orchestration"}
# Keys a record may carry that are not fields (§3): they are accepted and not stored.
IGNORED = {"Layout", "$append_values", "$approval", "$wizard_connection_path", "$currency_symbol"}


class RowError(Exception):
    """One record refused: its entry in the answer's `data` array."""

    def __init__(self, code: str, message: str, details: dict[str, Any]):
        super().__init__(message)
        self.body: dict[str, Any] = {
            "code": code,
            "details": details,
            "message": message,
            "status": "error",
        }


def _at(i: int, name: str) -> dict[str, str]:
    return {"api_name": name, "json_path": f"$.data[{i}].{name}"}


def rows_of(body: Any) -> list[Any]:
    """The body's `data` array: present, a list, 1 to 100 rows."""
    rows = body.get("data") if isinstance(body, dict) else None
    if rows is None:
        raise ZohoError(
            400, "MANDATORY_NOT_FOUND", MANDATORY, {"api_name": "data", "json_path": "$.data"}
        )
    if not isinstance(rows, list) or not rows:
        raise ZohoError(
            400,
            "INVALID_DATA",
            INVALID_DATA,
            {"api_name": "data", "json_path": "$.data", "expected_data_type": "jsonarray"},
        )
    if len(rows) > MAX_ROWS:
        raise ZohoError(
            400,
            "LIMIT_EXCEEDED",
            "Record count exceeded",
            {"limit": MAX_ROWS, "api_name": "data", "json_path": "$.data"},
        )
    return rows


def record_trigger(org: Org, module: Module, kind: str, body: Any) -> None:
    """`trigger` is accepted (and remembered for tests), not acted on."""
    trigger = body.get("trigger") if isinstance(body, dict) else None
    if trigger is not None and (
        not isinstance(trigger, list) or any(t not in TRIGGERS for t in trigger)
    ):
        raise ZohoError(
            400, "INVALID_DATA", INVALID_DATA, {"api_name": "trigger", "json_path": "$.trigger"}
        )
    org.triggers.append((module.api_name, kind, trigger))


@dataclass
class Writer:
    """Applies one write call's rows; remembers what changed for the watch callbacks."""

    org: Org
    module: Module
    user: User
    now: int
    inserted: list[str] = field(default_factory=list)
    updated: dict[str, dict[str, Any]] = field(default_factory=dict)
    parents: list[tuple[str, str]] = field(default_factory=list)  # records with related changes
    _index: dict[str, dict[str, Row]] = field(default_factory=dict)

    # ---- values ---------------------------------------------------------------------------

    def values(self, i: int, given: Mapping[str, Any], old: Row | None) -> dict[str, Any]:
        """Checked, stored values for a row (merged over `old` for updates)."""
        module = self.module
        values = dict(old.values) if old else {}
        for name, value in given.items():
            if name in ("id", "$se_module", "se_module") or name in IGNORED:
                continue
            spec = module.by_name.get(name)
            if spec is None:
                raise RowError("INVALID_DATA", INVALID_DATA, _at(i, name))
            if spec.read_only:
                continue  # system fields are silently ignored on input (ASSUMED)
            try:
                stored = check(spec, value)
            except Invalid as invalid:
                raise RowError(
                    "INVALID_DATA", INVALID_DATA, _at(i, name) | invalid.details
                ) from None
            if stored is not None and spec.data_type in ("ownerlookup", "userlookup"):
                user = self.org.store.user_by_id.get(stored)
                if user is None or user.status != "active":
                    raise RowError("INVALID_DATA", INVALID_DATA, _at(i, name) | {"id": stored})
            elif stored is not None and spec.data_type == "lookup":
                target = self._target(i, name, spec.lookup or "", given, value)
                if self.org.store.get(target, stored) is None:
                    raise RowError(
                        "INVALID_DATA",
                        INVALID_DATA,
                        _at(i, name) | {"expected_data_type": "lookup", "id": stored},
                    )
                if spec.lookup == "*":
                    values["$se_module"] = target
            values[name] = stored
        self._derive(values, given, old is None)
        for name in module.mandatory:
            if values.get(name) in (None, ""):
                raise RowError("MANDATORY_NOT_FOUND", MANDATORY, _at(i, name))
        self._unique(i, values, old)
        return values

    def _target(self, i: int, name: str, lookup: str, given: Mapping[str, Any], value: Any) -> str:
        if lookup != "*":
            return lookup
        target = given.get("$se_module") or given.get("se_module")
        if isinstance(value, dict) and isinstance(value.get("module"), dict):
            target = value["module"].get("api_name")  # Notes' Parent_Id (§5)
        if target not in SE_MODULES[name]:
            key = "$se_module" if name == "What_Id" else name
            raise RowError("INVALID_DATA", INVALID_DATA, _at(i, key))
        return str(target)

    def _derive(self, values: dict[str, Any], given: Mapping[str, Any], new: bool) -> None:
        module = self.module.api_name
        if module in ("Contacts", "Leads"):
            first, last = values.get("First_Name"), values.get("Last_Name")
            values["Full_Name"] = f"{first} {last}" if first and last else last or first
        if module == "Deals":
            if "Stage" in given and "Probability" not in given:
                values["Probability"] = STAGES.get(str(values.get("Stage")), 0)
            if new:
                values.setdefault("Pipeline", "Standard (Standard)")
        if module == "Leads" and new:
            values["Converted__s"] = False
        if new:
            values["Owner"] = values.get("Owner") or self.user.id
            values["Created_By"] = self.user.id
            values.setdefault("Tag", [])
        values["Modified_By"] = self.user.id

    def _unique(self, i: int, values: dict[str, Any], old: Row | None) -> None:
        for name in self.org.unique_fields(self.module):
            value = values.get(name)
            if value in (None, ""):
                continue
            clash = self.find(name, value)
            if clash is not None and (old is None or clash.id != old.id):
                owner = self.org.store.user_ref(clash.values.get("Owner"))
                duplicate = {
                    "id": clash.id,
                    "module": {"api_name": self.module.api_name, "id": self.module.id},
                    "Owner": owner,
                }
                raise RowError(
                    "DUPLICATE_DATA", DUPLICATE, _at(i, name) | {"duplicate_record": duplicate}
                )

    # ---- lookups by value (built once per call) ----------------------------------------

    def find(self, name: str, value: Any) -> Row | None:
        index = self._index.get(name)
        if index is None:
            index = {}
            for row in self.org.store.rows[self.module.api_name].values():
                if row.values.get("Converted__s"):
                    continue
                key = _key(row.values.get(name))
                if key and key not in index:
                    index[key] = row
            self._index[name] = index
        key = _key(value)
        return index.get(key) if key else None

    def _reindex(self, row: Row, old: Mapping[str, Any] | None) -> None:
        for name, index in self._index.items():
            before = _key(old.get(name)) if old else None
            if before and index.get(before) is row:
                del index[before]
            key = _key(row.values.get(name))
            if key and key not in index:
                index[key] = row

    # ---- operations ---------------------------------------------------------------------

    def insert(self, i: int, given: Mapping[str, Any]) -> dict[str, Any]:
        values = self.values(i, given, None)
        row = self.org.store.add(self.module.api_name, values, self.now, self.now)
        self._reindex(row, None)
        self.inserted.append(row.id)
        self.parents.extend(parents(self.module, row.values))
        return self.success(row, "record added")

    def update(self, i: int, row: Row, given: Mapping[str, Any]) -> dict[str, Any]:
        if row.values.get("Converted__s"):
            raise RowError("CONVERTED_RECORD", "can't update the converted record", {"id": row.id})
        before = dict(row.values)
        values = self.values(i, given, row)
        self.org.store.replace(row, values, self.now)
        self._reindex(row, before)
        changed = {
            name: self.org.store.render(row, [name]).get(name)
            for name in values
            if not name.startswith("$") and values.get(name) != before.get(name)
        }
        changed.pop("Modified_By", None)
        self.updated.setdefault(row.id, {}).update(changed)
        self.parents.extend(parents(self.module, before))
        self.parents.extend(parents(self.module, row.values))
        return self.success(row, "record updated")

    def success(self, row: Row, message: str) -> dict[str, Any]:
        store = self.org.store
        return {
            "code": "SUCCESS",
            "details": {
                "Modified_Time": iso(row.modified),
                "Modified_By": store.user_ref(row.values.get("Modified_By")),
                "Created_Time": iso(row.created),
                "id": row.id,
                "Created_By": store.user_ref(row.values.get("Created_By")),
                "$approval_state": "approved",
            },
            "message": message,
            "status": "success",
        }

    def announce(self) -> None:
        watch = self.org.watch
        watch.notify(self.module.api_name, "insert", self.inserted)
        watch.notify(self.module.api_name, "update", list(self.updated), self.updated)
        watch.related(self.parents)


def parents(module: Module, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (module, id) records a record's lookups point at: the records whose related
    lists hold it (a Deal's Account, a Meeting's What_Id)."""
    found = []
    for name in module.lookups:
        ref = values.get(name)
        target = module.by_name[name].lookup
        if target == "*":
            target = values.get("$se_module")
        if ref and target:
            found.append((str(target), str(ref)))
    return found


def _key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).strip().lower()


def _writer(org: Org, module: Module, call: Call) -> Writer:
    return Writer(org, module, call.user, int(call.now))


def insert(org: Org, module: Module, call: Call) -> Reply:
    """POST /{module}: 201 when every record was added."""
    body = call.json()
    rows = rows_of(body)
    record_trigger(org, module, "insert", body)
    writer = _writer(org, module, call)
    results = []
    for i, given in enumerate(rows):
        try:
            if not isinstance(given, dict):
                raise RowError("INVALID_DATA", INVALID_DATA, _at(i, "data"))
            results.append(writer.insert(i, given))
        except RowError as refused:
            results.append(refused.body)
    writer.announce()
    return Reply(per_record_status(results, 201), {"data": results})


def update(org: Org, module: Module, call: Call, record_id: str | None = None) -> Reply:
    """PUT /{module} (an id in every row) or PUT /{module}/{id}."""
    body = call.json()
    rows = rows_of(body)
    record_trigger(org, module, "update", body)
    if record_id is not None:
        rows = rows[:1]
    writer = _writer(org, module, call)
    results = []
    for i, given in enumerate(rows):
        try:
            if not isinstance(given, dict):
                raise RowError("INVALID_DATA", INVALID_DATA, _at(i, "data"))
            target = record_id if record_id is not None else given.get("id")
            if target is None:
                raise RowError("MANDATORY_NOT_FOUND", MANDATORY, _at(i, "id"))
            row = org.store.get(module.api_name, str(target))
            if row is None:
                raise RowError("INVALID_DATA", INVALID_ID, {"id": str(target)})
            results.append(writer.update(i, row, given))
        except RowError as refused:
            results.append(refused.body)
    writer.announce()
    return Reply(per_record_status(results, 200), {"data": results})


def upsert(org: Org, module: Module, call: Call) -> Reply:
    """POST /{module}/upsert: match on duplicate_check_fields in order (default: the
    system duplicate-check field, then unique fields), update the match or insert."""
    body = call.json()
    rows = rows_of(body)
    checks = body.get("duplicate_check_fields")
    if checks is None:
        checks = [*module.duplicate_check, *org.unique_fields(module)]
    if not isinstance(checks, list) or any(c not in module.by_name for c in checks):
        raise ZohoError(
            400,
            "INVALID_DATA",
            INVALID_DATA,
            {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"},
        )
    record_trigger(org, module, "upsert", body)
    writer = _writer(org, module, call)
    results = []
    for i, given in enumerate(rows):
        try:
            if not isinstance(given, dict):
                raise RowError("INVALID_DATA", INVALID_DATA, _at(i, "data"))
            match, matched_on = None, None
            for name in checks:
                if _key(given.get(name)) is not None:
                    match = writer.find(name, given[name])
                    if match is not None:
                        matched_on = name
                        break
            if match is None:
                result = writer.insert(i, given) | {"action": "insert", "duplicate_field": None}
            else:
                result = writer.update(i, match, given)
                result |= {"action": "update", "duplicate_field": matched_on}
            results.append(result)
        except RowError as refused:
            results.append(refused.body)
    writer.announce()
    return Reply(per_record_status(results, 200), {"data": results})


def delete(org: Org, module: Module, call: Call, record_id: str | None = None) -> Reply:
    """DELETE /{module}?ids=1,2 or DELETE /{module}/{id}: into the recycle bin."""
    if record_id is not None:
        ids = [record_id]
    else:
        raw = call.args.get("ids")
        if not raw:
            raise missing_param("ids")
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if len(ids) > MAX_ROWS:
            raise ZohoError(
                400,
                "LIMIT_EXCEEDED",
                "Record count exceeded",
                {"limit": MAX_ROWS, "param_name": "ids"},
            )
    flag = call.args.get("wf_trigger", "true")
    if flag not in ("true", "false"):
        raise ZohoError(400, "INVALID_DATA", INVALID_DATA, {"param_name": "wf_trigger"})
    org.triggers.append((module.api_name, "delete", flag))
    results, gone = [], []
    related: list[tuple[str, str]] = []
    for record in ids:
        row = org.store.get(module.api_name, record)
        if row is None:
            results.append(RowError("INVALID_DATA", "record not deleted", {"id": record}).body)
            continue
        related.extend(parents(module, row.values))
        org.store.delete(row, int(call.now), call.user.id)
        gone.append(record)
        results.append(
            {
                "code": "SUCCESS",
                "details": {"id": record},
                "message": "record deleted",
                "status": "success",
            }
        )
    org.watch.notify(module.api_name, "delete", gone)
    org.watch.related(related)
    return Reply(per_record_status(results, 200), {"data": results})
