"""The Watch (notifications) API (§9): channels subscribed to module events, and the
callbacks POSTed to each channel's notify_url when records change (delivery.py sends them);
with `notify_on_related_action`, a parent record hears of changes to its related records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from integrate import Reply
from integrate_zoho_crm.emulator.catalogue import MODULES, RECORD_MODULES
from integrate_zoho_crm.emulator.delivery import Outbox, RetryPolicy, is_loopback
from integrate_zoho_crm.emulator.errors import (
    INVALID_DATA,
    MANDATORY,
    ZohoError,
    per_record_status,
)
from integrate_zoho_crm.emulator.values import iso, parse_time

DEFAULT_EXPIRY = 3600  # seconds (§9: default one hour)
MAX_EXPIRY = 7 * 86_400  # one week from v4 on
MAX_TOKEN = 50
EVENT_OPERATIONS = {"create": "insert", "edit": "update", "delete": "delete"}
SUBSCRIBED = "Successfully subscribed for actions-watch of the given module"
UPDATED = "Successfully updated the subscribe details"
REMOVED = "Successfully removed the subscribe details"
UNSUBSCRIBED = "Successfully un-subscribed from actions-watch"


@dataclass
class Channel:
    channel_id: str
    events: list[str]
    notify_url: str
    token: str | None
    expiry: int
    return_affected_field_values: bool = False
    notify_on_related_action: bool = True

    def modules(self) -> list[str]:
        return list(dict.fromkeys(e.split(".")[0] for e in self.events))

    def wants(self, module: str, operation: str) -> bool:
        for event in self.events:
            name, _, op = event.partition(".")
            if name == module and (op == "all" or EVENT_OPERATIONS.get(op) == operation):
                return True
        return False


class Refused(Exception):
    """One watch item refused; `body` is its entry in the answer's `watch` array."""

    def __init__(self, code: str, message: str, details: dict[str, Any]):
        super().__init__(message)
        self.body: dict[str, Any] = {
            "code": code,
            "details": details,
            "message": message,
            "status": "error",
        }


def _path(i: int, key: str) -> dict[str, str]:
    return {"api_name": key, "json_path": f"$.watch[{i}].{key}"}


class Watch:
    def __init__(
        self,
        now: Callable[[], float],
        resource_base: Callable[[], str],
        policy: RetryPolicy | None = None,
    ):
        self.now = now
        self.resource_base = resource_base  # https://www.zohoapis.{dc}/crm/v2 (§9)
        self.channels: dict[str, Channel] = {}
        self.queue: list[dict[str, Any]] = []  # every callback body, for notifications()
        self.outbox = Outbox(now, self._deliverable, policy)

    def snapshot(self) -> list[dict[str, Any]]:
        """The channels, for save/restore (queued callbacks are not kept)."""
        return [asdict(c) for c in self.channels.values()]

    def restore(self, state: list[dict[str, Any]]) -> None:
        self.channels = {c["channel_id"]: Channel(**c) for c in state}

    # ---- requests ---------------------------------------------------------------------

    def _items(self, body: Any) -> list[Any]:
        items = body.get("watch") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise ZohoError(
                400, "MANDATORY_NOT_FOUND", MANDATORY, _path(0, "watch") | {"json_path": "$.watch"}
            )
        return items

    def _events(self, i: int, item: Mapping[str, Any], required: bool) -> list[str] | None:
        events = item.get("events")
        if events is None and not required:
            return None
        if not isinstance(events, list) or not events:
            raise Refused("MANDATORY_NOT_FOUND", MANDATORY, _path(i, "events"))
        for j, event in enumerate(events):
            name, _, op = str(event).partition(".")
            if name not in RECORD_MODULES or (op not in EVENT_OPERATIONS and op != "all"):
                raise Refused(
                    "INVALID_DATA",
                    INVALID_DATA,
                    {"api_name": "events", "json_path": f"$.watch[{i}].events[{j}]"},
                )
        return [str(e) for e in events]

    def _settings(self, i: int, item: Mapping[str, Any], channel: Channel) -> None:
        if "notify_url" in item:
            url = item["notify_url"]
            if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
                raise Refused("INVALID_DATA", INVALID_DATA, _path(i, "notify_url"))
            if not is_loopback(url):  # the emulator's own safety rule, not Zoho's
                raise Refused("INVALID_DATA", INVALID_DATA, _path(i, "notify_url"))
            channel.notify_url = url
        if "token" in item:
            token = item["token"]
            if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
                raise Refused("INVALID_DATA", INVALID_DATA, _path(i, "token"))
            channel.token = token
        if "channel_expiry" in item:
            raw = item["channel_expiry"]
            at = parse_time(raw) if isinstance(raw, str) else None
            if at is None:
                details = _path(i, "channel_expiry") | {"expected_data_type": "datetime"}
                raise Refused("INVALID_DATA", INVALID_DATA, details)
            if not self.now() < at <= self.now() + MAX_EXPIRY:
                raise Refused("INVALID_DATA", INVALID_DATA, _path(i, "channel_expiry"))
            channel.expiry = at
        for flag in ("return_affected_field_values", "notify_on_related_action"):
            if flag in item:
                if not isinstance(item[flag], bool):
                    details = _path(i, flag) | {"expected_data_type": "boolean"}
                    raise Refused("INVALID_DATA", INVALID_DATA, details)
                setattr(channel, flag, item[flag])

    def _channel_id(self, i: int, item: Mapping[str, Any]) -> str:
        raw = item.get("channel_id")
        if raw is None:
            raise Refused("MANDATORY_NOT_FOUND", MANDATORY, _path(i, "channel_id"))
        text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if not isinstance(text, str) or not text.isdigit():
            details = _path(i, "channel_id") | {"expected_data_type": "long"}
            raise Refused("INVALID_DATA", INVALID_DATA, details)
        return text

    def _success(self, channel: Channel, message: str) -> dict[str, Any]:
        return {
            "code": "SUCCESS",
            "details": {"events": self._event_details(channel)},
            "message": message,
            "status": "success",
        }

    def _event_details(self, channel: Channel) -> list[dict[str, Any]]:
        return [
            {
                "channel_expiry": iso(channel.expiry),
                "resource_uri": f"{self.resource_base()}/{module}",
                "resource_id": MODULES[module].id,
                "resource_name": module,
                "channel_id": channel.channel_id,
                "notification_condition": [],
            }
            for module in channel.modules()
        ]

    def subscribe(self, body: Any) -> Reply:
        """POST /actions/watch. Re-subscribing a channel id replaces it (ASSUMED)."""
        results = []
        for i, item in enumerate(self._items(body)):
            try:
                if not isinstance(item, dict):
                    raise Refused("INVALID_DATA", INVALID_DATA, _path(i, "watch"))
                channel_id = self._channel_id(i, item)
                events = self._events(i, item, required=True) or []
                if "notify_url" not in item:
                    raise Refused("MANDATORY_NOT_FOUND", MANDATORY, _path(i, "notify_url"))
                channel = Channel(channel_id, events, "", None, int(self.now()) + DEFAULT_EXPIRY)
                self._settings(i, item, channel)
            except Refused as refused:
                results.append(refused.body)
                continue
            self.channels[channel_id] = channel
            results.append(self._success(channel, SUBSCRIBED))
        return Reply(per_record_status(results, 201), {"watch": results})

    def update(self, body: Any, *, replace: bool) -> Reply:
        """PUT (replace) or PATCH (merge; `_delete_events: true` removes the events given)."""
        results = []
        for i, item in enumerate(self._items(body)):
            try:
                if not isinstance(item, dict):
                    raise Refused("INVALID_DATA", INVALID_DATA, _path(i, "watch"))
                channel_id = self._channel_id(i, item)
                current = self._live().get(channel_id)
                if current is None:
                    raise Refused("NOT_SUBSCRIBED", "Not subscribed for actions-watch", {})
                events = self._events(i, item, required=replace)
                channel = Channel(**vars(current))
                message = UPDATED
                if item.get("_delete_events") is True:
                    channel.events = [e for e in channel.events if e not in (events or [])]
                    message = REMOVED
                elif replace:
                    channel.events = events or []
                    channel.expiry = int(self.now()) + DEFAULT_EXPIRY
                elif events:
                    channel.events = list(dict.fromkeys([*channel.events, *events]))
                self._settings(i, item, channel)
            except Refused as refused:
                results.append(refused.body)
                continue
            if channel.events:
                self.channels[channel_id] = channel
            else:
                self.channels.pop(channel_id, None)
            results.append(self._success(channel, message))
        return Reply(per_record_status(results, 200), {"watch": results})

    def disable(self, channel_ids: str | None) -> Reply:
        """DELETE /actions/watch?channel_ids=1,2."""
        if not channel_ids:
            raise ZohoError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "channel_ids", "param": "channel_ids"},
            )
        results = []
        live = self._live()
        for channel_id in channel_ids.split(","):
            channel = live.get(channel_id.strip())
            if channel is None:
                results.append(
                    Refused("NOT_SUBSCRIBED", "Not subscribed for actions-watch", {}).body
                )
                continue
            del self.channels[channel.channel_id]
            results.append(self._success(channel, UNSUBSCRIBED))
        return Reply(per_record_status(results, 200), {"watch": results})

    def details(self, args: Mapping[str, str]) -> Reply:
        """GET /actions/watch: one entry per channel and module; 204 when none."""
        entries = []
        for channel in self._live().values():
            if args.get("channel_id") and channel.channel_id != args["channel_id"]:
                continue
            for module in channel.modules():
                if args.get("module") and module.lower() != args["module"].lower():
                    continue
                entries.append(
                    {
                        "channel_id": channel.channel_id,
                        "events": [e for e in channel.events if e.split(".")[0] == module],
                        "notify_url": channel.notify_url,
                        "token": channel.token,
                        "channel_expiry": iso(channel.expiry),
                        "resource_name": module,
                        "resource_id": MODULES[module].id,
                        "resource_uri": f"{self.resource_base()}/{module}",
                        "return_affected_field_values": channel.return_affected_field_values,
                        "notify_on_related_action": channel.notify_on_related_action,
                    }
                )
        if not entries:
            return Reply(204)
        info = {"per_page": 200, "page": 1, "count": len(entries), "more_records": False}
        return Reply(200, {"watch": entries, "info": info})

    def _live(self) -> dict[str, Channel]:
        now = self.now()
        for channel_id in [c for c, ch in self.channels.items() if ch.expiry <= now]:
            del self.channels[channel_id]
        return self.channels

    # ---- callbacks ----------------------------------------------------------------------

    def _deliverable(self, channel_id: str, url: str) -> bool:
        """Whether a callback queued for `url` may still go out: its channel is subscribed,
        not expired, and still notifies that URL (read only: called from the delivery
        thread)."""
        channel = self.channels.get(channel_id)
        return channel is not None and channel.expiry > self.now() and channel.notify_url == url

    def _send(self, channel: Channel, body: dict[str, Any]) -> None:
        self.queue.append(body)
        self.outbox.put(channel.channel_id, channel.notify_url, orjson.dumps(body))

    def _body(
        self, channel: Channel, module: str, operation: str, ids: list[str]
    ) -> dict[str, Any]:
        return {
            "server_time": int(self.now() * 1000),
            "query_params": dict(parse_qsl(urlsplit(channel.notify_url).query)),
            "module": module,
            "resource_uri": f"{self.resource_base()}/{module}",
            "ids": ids,
            "operation": operation,
            "channel_id": channel.channel_id,
            "token": channel.token,
        }

    def notify(
        self,
        module: str,
        operation: str,
        ids: Iterable[str],
        changed: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        """Send one callback per live channel that watches this module and operation.
        `changed` maps each id to the fields (and new values) an update touched."""
        ids = list(ids)
        if not ids:
            return
        for channel in self._live().values():
            if not channel.wants(module, operation):
                continue
            body = self._body(channel, module, operation, ids)
            if operation == "update" and changed is not None:
                body["affected_fields"] = [{i: sorted(changed.get(i, {}))} for i in ids]
                if channel.return_affected_field_values:
                    body["affected_values"] = [
                        {"record_id": i, "values": changed.get(i, {})} for i in ids
                    ]
            self._send(channel, body)

    def related(self, parents: Iterable[tuple[str, str]]) -> None:
        """A record related to each (module, id) parent was added, changed, moved away or
        deleted (§9 `notify_on_related_action`, default true: "changes to related records
        also notify"). Each channel that watches the parent's edits and asked for related
        actions gets an `update` of the parent. ASSUMED: no field of the parent itself
        changed, so its `affected_fields` list none (and `affected_values` is empty)."""
        by_module: dict[str, list[str]] = {}
        for module, record_id in dict.fromkeys(parents):
            by_module.setdefault(module, []).append(record_id)
        for module, ids in by_module.items():
            for channel in self._live().values():
                if not channel.notify_on_related_action or not channel.wants(module, "update"):
                    continue
                body = self._body(channel, module, "update", ids)
                body["affected_fields"] = [{i: []} for i in ids]
                if channel.return_affected_field_values:
                    body["affected_values"] = [{"record_id": i, "values": {}} for i in ids]
                self._send(channel, body)

    def drain(self) -> list[dict[str, Any]]:
        queued, self.queue = self.queue, []
        return queued
