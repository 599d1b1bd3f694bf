"""Zoho CRM's notifications (watch) API: subscribe a URL to a module's events, renew the
channel before it expires, end it; and the check of a callback's channel token."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from integrate import ConnectorError, Notice

if TYPE_CHECKING:
    from integrate_zoho_crm.api import ZohoApi


@dataclass(frozen=True)
class Notification:
    """One notification callback, checked: which records of which module changed how."""

    module: str
    operation: str  # insert | update | delete
    ids: tuple[str, ...]
    channel_id: str
    fields: Mapping[str, tuple[str, ...]]


class Notifications:
    """Notification channels of the connection, through `api`."""

    def __init__(self, api: ZohoApi):
        self.api = api

    def subscribe(
        self,
        channel_id: str,
        events: Sequence[str],
        notify_url: str,
        token: str,
        expiry: dt.datetime,
    ) -> dict[str, Any]:
        """Watch events (Accounts.all, Deals.create ...) until `expiry` (at most a week)."""
        channel = _channel(channel_id, events, notify_url, token, expiry)
        return self._watch("POST", channel, "subscribing to notifications")

    def renew(
        self,
        channel_id: str,
        events: Sequence[str],
        notify_url: str,
        token: str,
        expiry: dt.datetime,
    ) -> dict[str, Any]:
        """Extend a channel before it expires (Zoho replaces the channel's details, so all
        of them are sent again, the flags too)."""
        channel = _channel(channel_id, events, notify_url, token, expiry)
        return self._watch("PUT", channel, "renewing notifications")

    def _watch(self, method: str, channel: dict[str, Any], what: str) -> dict[str, Any]:
        """Send one channel to the watch endpoint; its details, or the API's error."""
        response = self.api.call(
            method,
            ("actions", "watch"),
            kind="write",
            label="watch",
            json={"watch": [channel]},
            idempotent=True,  # the channel id makes sending it again harmless
        )
        answer = response.json().get("watch", [{}])[0] if response.content else {}
        if answer.get("status") != "success":
            raise self.api.error(response, what)
        details: dict[str, Any] = answer.get("details", {})
        return details

    def unsubscribe(self, channel_ids: Sequence[str]) -> None:
        response = self.api.call(
            "DELETE",
            ("actions", "watch"),
            kind="write",
            label="watch",
            params={"channel_ids": ",".join(channel_ids)},
        )
        if response.status_code not in (200, 204):
            raise self.api.error(response, "ending notifications")


def _channel(
    channel_id: str,
    events: Sequence[str],
    notify_url: str,
    token: str,
    expiry: dt.datetime,
) -> dict[str, Any]:
    """One channel's entry of a watch body."""
    if len(token) > 50:
        raise ConnectorError("a Zoho channel token is at most 50 characters", code="INVALID_DATA")
    return {
        "channel_id": channel_id,
        "events": list(events),
        "notify_url": notify_url,
        "token": token,
        "channel_expiry": expiry.isoformat(timespec="seconds"),
        "return_affected_field_values": True,
        # A parent record hears of its related records' changes (a Deal or a Meeting added
        # to an Account) as an `update` of its own (zoho_crm.md §9).
        "notify_on_related_action": True,
    }


def parse_notification(body: Mapping[str, Any], expected_token: str) -> Notification:
    """Check a callback's channel token (constant time) and read it. Raises
    ConnectorError for a wrong or missing token. The callback carries ids only: the
    records are read through the API afterwards."""
    token = str(body.get("token") or "")
    if not token or not hmac.compare_digest(token.encode(), expected_token.encode()):
        raise ConnectorError(
            "a notification with a wrong or missing channel token", code="BAD_TOKEN"
        )
    fields: dict[str, tuple[str, ...]] = {}
    for entry in body.get("affected_fields") or []:
        for record_id, names in entry.items():
            fields[str(record_id)] = tuple(names)
    return Notification(
        module=str(body.get("module", "")),
        operation=str(body.get("operation", "")),
        ids=tuple(str(i) for i in body.get("ids", [])),
        channel_id=str(body.get("channel_id", "")),
        fields=fields,
    )


# Zoho's operations in a callback, in the core's words (zoho_crm.md §9; `delete` unverified).
OPERATIONS = {"insert": "created", "update": "updated", "delete": "deleted"}


def read_notice(body: bytes, content_type: str) -> Notice:
    """One callback's JSON body as a Notice. Its key is a digest of the body: Zoho sends no
    event id, and a call delivered again carries the same body (its `server_time` too)."""
    if "json" not in content_type.lower():
        raise ConnectorError(f"a Zoho notification is JSON, not {content_type or 'untyped'}")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ConnectorError(f"a Zoho notification that is not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("ids"), list):
        raise ConnectorError("a Zoho notification without ids")
    operation = str(data.get("operation", ""))
    return Notice(
        channel_id=str(data.get("channel_id", "")),
        token=str(data.get("token") or ""),
        object=str(data.get("module", "")),
        operation=OPERATIONS.get(operation, operation),
        ids=tuple(str(i) for i in data["ids"]),
        key=hashlib.sha256(body).hexdigest(),
    )
