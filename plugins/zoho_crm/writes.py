"""Writing to Zoho CRM: insert, update and upsert 100 records a call, each record's own
result read from `data[]` (never from the HTTP status: 201, 200, 207 and 400 all carry
per-record results), and lead conversion for a record that moves from Leads to Contacts.
An insert answered 5xx without per-record results is ambiguous (it may have been carried
out): every record of it says so, and the engine looks for them before inserting again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import CREATE, MOVE, UPDATE, UPSERT, PluginError, WriteItem, WriteResult

if TYPE_CHECKING:
    from integrate_zoho_crm.api import ZohoApi
    from integrate_zoho_crm.metadata import Metadata

MAX_BATCH = 100  # records a call


class Writes:
    """Inserts, updates, upserts and lead conversions through `api`; a module's fields come
    from `metadata`. `triggers` are the automations Zoho runs on our writes (None: Zoho's
    default, all of them)."""

    def __init__(self, api: ZohoApi, metadata: Metadata, triggers: Sequence[str] | None = None):
        self.api = api
        self.metadata = metadata
        self.triggers = None if triggers is None else tuple(triggers)

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        if operation == MOVE:
            return self._convert(object, items)
        if operation not in (CREATE, UPDATE, UPSERT):
            raise PluginError(f"zoho_crm cannot {operation} records")
        results: list[WriteResult] = []
        for start in range(0, len(items), MAX_BATCH):
            results.extend(self._batch(object, operation, items[start : start + MAX_BATCH]))
        return results

    def _row(self, module: str, values: Mapping[str, Any], id: str | None) -> dict[str, Any]:
        """One record as Zoho takes it. Fields this module does not have are left out: on a
        side spanning Leads and Contacts, a spec writes both modules' field names."""
        catalogue = self.metadata.catalogue(module)
        row = {
            k: v
            for k, v in values.items()
            if not k.startswith("$") and (not catalogue or k in catalogue)
        }
        if id is not None:
            row["id"] = id
        return row

    def _batch(self, module: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        body: dict[str, Any] = {
            "data": [
                self._row(module, item.values, item.id if operation == UPDATE else None)
                for item in items
            ]
        }
        if self.triggers is not None:
            body["trigger"] = list(self.triggers)
        if operation == CREATE:
            response = self.api.call(
                "POST", module, kind="write", label="insert", json=body, idempotent=False
            )
        elif operation == UPDATE:
            response = self.api.call("PUT", module, kind="write", label="update", json=body)
        else:
            keys = list(items[0].keys) if items and items[0].keys else []
            if keys:
                body["duplicate_check_fields"] = keys
            response = self.api.call(
                "POST", (module, "upsert"), kind="write", label="upsert", json=body, idempotent=True
            )
        try:
            payload = response.json() if response.content else {}
        except ValueError:  # a 5xx page from a gateway, not Zoho's JSON
            payload = {}
        data = payload.get("data") if isinstance(payload, dict) else None
        if operation == CREATE and response.status_code >= 500 and not isinstance(data, list):
            # An insert is not resent by the HTTP layer: what it made, if anything, is unknown.
            code = payload.get("code", "") if isinstance(payload, dict) else ""
            said = f"Zoho answered {response.status_code}{f' {code}' if code else ''} to the insert"
            return [WriteResult.ambiguous(item.ref, said) for item in items]
        if not isinstance(data, list):
            raise self.api.error(response, f"writing {module}")
        results = []
        for n, item in enumerate(items):
            if n >= len(data):
                results.append(
                    WriteResult.failure(
                        item.ref, "Zoho returned no result for this record", "NO_RESULT"
                    )
                )
                continue
            results.append(_result(item, data[n]))
        return results

    def _convert(self, module: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        """A Lead becomes a Contact (Zoho's lead conversion), then takes the new values."""
        results = []
        for item in items:
            if module != "Contacts" or item.from_object != "Leads" or item.id is None:
                results.append(
                    WriteResult.failure(
                        item.ref,
                        f"Zoho CRM cannot move a record from {item.from_object} to {module}",
                        "NOT_SUPPORTED",
                    )
                )
                continue
            body = {
                "data": [
                    {
                        "overwrite": True,
                        "notify_lead_owner": False,
                        "notify_new_entity_owner": False,
                    }
                ]
            }
            response = self.api.call(
                "POST",
                ("Leads", item.id, "actions", "convert"),
                kind="write",
                label="convert",
                json=body,
                idempotent=False,
            )
            payload = response.json() if response.content else {}
            data = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(data, list) or not data:
                results.append(
                    WriteResult.failure(
                        item.ref, _message(payload), str(payload.get("code", response.status_code))
                    )
                )
                continue
            entry = data[0]
            if entry.get("status") != "success":
                results.append(
                    WriteResult.failure(item.ref, _message(entry), str(entry.get("code", "")))
                )
                continue
            contact = str(entry.get("details", {}).get("Contacts", {}).get("id", ""))
            values = {k: v for k, v in item.values.items() if not k.startswith("$")}
            if values and contact:
                [updated] = self._batch(
                    "Contacts", UPDATE, [WriteItem(item.ref, values, id=contact)]
                )
                results.append(updated)
            else:
                results.append(
                    WriteResult.success(item.ref, contact, record={**values, "id": contact})
                )
        return results


def _result(item: WriteItem, entry: Mapping[str, Any]) -> WriteResult:
    if entry.get("status") == "success":
        details = entry.get("details", {})
        record = {
            **item.values,
            "id": details.get("id"),
            "Modified_Time": details.get("Modified_Time"),
        }
        created = entry.get("action") == "insert" if "action" in entry else None
        return WriteResult.success(item.ref, str(details.get("id")), record=record, created=created)
    return WriteResult.failure(item.ref, _message(entry), str(entry.get("code", "")))


def _message(entry: Any) -> str:
    """Zoho's message, with the field it names: `required field not found (Last_Name)`."""
    if not isinstance(entry, Mapping):
        return "no answer"
    message = str(entry.get("message", "failed"))
    details = entry.get("details") or {}
    field = details.get("api_name") if isinstance(details, Mapping) else None
    return f"{message} ({field})" if field else message
