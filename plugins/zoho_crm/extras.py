"""The rest of Zoho CRM: related lists, attachment downloads (streamed, size-capped),
deleted records, search by key, and the notifications (watch) API."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from integrate import ConnectorError, HttpAnswer, Page, Record, path_segment

if TYPE_CHECKING:
    from integrate import ConnectorContext, FieldInfo, HttpClient

ATTACHMENT_FIELDS = (
    "id",
    "File_Name",
    "Size",
    "Created_Time",
    "Modified_Time",
    "Parent_Id",
    "$file_id",
)
MAX_ATTACHMENT = 25 * 1024 * 1024
TOO_LARGE = "RESPONSE_TOO_LARGE"  # the code of every answer over its size limit
SEARCH_LIMIT = 2000


@dataclass(frozen=True)
class Notification:
    """One notification callback, checked: which records of which module changed how."""

    module: str
    operation: str  # insert | update | delete
    ids: tuple[str, ...]
    channel_id: str
    fields: Mapping[str, tuple[str, ...]]


class ZohoExtras:
    """Related lists, attachments, deleted records, search and notifications."""

    if TYPE_CHECKING:
        context: ConnectorContext
        http: HttpClient

        def call(
            self,
            method: str,
            path: str | tuple[str, ...],
            *,
            kind: str = ...,
            label: str = ...,
            **kwargs: Any,
        ) -> HttpAnswer: ...

        def error(self, response: HttpAnswer, what: str) -> ConnectorError: ...

        def catalogue(self, module: str) -> dict[str, FieldInfo]: ...

        @property
        def api_domain(self) -> str: ...

    # ---- related lists and attachments ------------------------------------------------

    def related(self, object: str, id: str, related: str) -> Iterator[Page]:
        """The records of a record's related list (an Account's Contacts, Deals, Events,
        Notes, Attachments), page by page."""
        if related == "Attachments":
            fields = list(ATTACHMENT_FIELDS)
        else:
            fields = [n for n in self.catalogue(related) if n != "id"][:50] or ["Modified_Time"]
        page, token = 1, None
        while True:
            params: dict[str, Any] = {"fields": ",".join(fields), "per_page": 200}
            if token is not None:
                params["page_token"] = token
            else:
                params["page"] = page
            response = self.call("GET", (object, id, related), label="related", params=params)
            if response.status_code in (204, 304):
                return
            if response.status_code != 200:
                raise self.error(response, f"reading the {related} of {object} {id}")
            body = response.json()
            yield Page(body.get("data", []))
            info = body.get("info", {})
            if not info.get("more_records"):
                return
            token = info.get("next_page_token")
            if token is None:
                page += 1

    def download(
        self, object: str, id: str, attachment_id: str, *, limit: int = MAX_ATTACHMENT
    ) -> Iterator[bytes]:
        """An attachment's bytes, streamed; stops with RESPONSE_TOO_LARGE past `limit` bytes
        (announced or counted: a body is never read further than the limit and one piece)."""
        path = "/".join(path_segment(p) for p in (object, id, "Attachments", attachment_id))
        url = f"{self.api_domain}/crm/v8/{path}"
        self.http.check_host(url, "the token answer (api_domain)")
        headers = self.http_headers()
        with (
            self.context.http_client() as http,
            http.stream("GET", url, headers=headers) as response,
        ):
            self.context.stats.reads += 1
            self.context.stats.kinds["read:download"] += 1
            if response.status_code != 200:
                response.read()
                answer = HttpAnswer.from_httpx(response)
                raise self.error(answer, f"downloading attachment {attachment_id}")
            size = int(response.headers.get("Content-Length") or 0)
            if size > limit:
                raise ConnectorError(
                    f"attachment {attachment_id} is {size:,} bytes, over the limit of {limit:,}",
                    code=TOO_LARGE,
                )
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise ConnectorError(
                        f"attachment {attachment_id} is over the limit of {limit:,} bytes",
                        code=TOO_LARGE,
                    )
                yield chunk

    def http_headers(self) -> dict[str, str]:
        auth = getattr(self, "auth", None)
        return auth.headers() if auth is not None else {}

    # ---- deleted records --------------------------------------------------------------

    def deleted(self, object: str, since: str | None = None) -> Iterator[Page]:
        """Records deleted (recycle bin and permanently), newest first, since a time."""
        page = 1
        headers = {"If-Modified-Since": since} if since else {}
        while True:
            response = self.call(
                "GET",
                (object, "deleted"),
                label="deleted",
                params={"type": "all", "page": page, "per_page": 200},
                headers=headers,
            )
            if response.status_code in (204, 304):
                return
            if response.status_code != 200:
                raise self.error(response, f"reading deleted {object}")
            body = response.json()
            yield Page(body.get("data", []))
            if not body.get("info", {}).get("more_records"):
                return
            page += 1

    # ---- search by key ------------------------------------------------------------------

    def search(
        self, object: str, criteria: Mapping[str, Any], fields: Sequence[str] | None = None
    ) -> list[Record]:
        """Records whose fields equal the criteria (Zoho's search API; at most 2,000)."""
        parts = [f"({name}:equals:{_escape(value)})" for name, value in criteria.items()]
        query = parts[0] if len(parts) == 1 else "(" + "and".join(parts) + ")"
        out: list[Record] = []
        page = 1
        while True:
            params = {"criteria": query, "page": page, "per_page": 200}
            response = self.call("GET", (object, "search"), label="search", params=params)
            if response.status_code in (204, 304):
                return out
            if response.status_code != 200:
                raise self.error(response, f"searching {object}")
            body = response.json()
            out.extend(body.get("data", []))
            if not body.get("info", {}).get("more_records") or len(out) >= SEARCH_LIMIT:
                return out
            page += 1

    # ---- notifications (watch) ----------------------------------------------------------

    def subscribe(
        self,
        channel_id: str,
        events: Sequence[str],
        notify_url: str,
        token: str,
        expiry: dt.datetime,
    ) -> dict[str, Any]:
        """Watch events (Accounts.all, Deals.create ...) until `expiry` (at most a week)."""
        if len(token) > 50:
            raise ConnectorError(
                "a Zoho channel token is at most 50 characters", code="INVALID_DATA"
            )
        body = {
            "watch": [
                {
                    "channel_id": channel_id,
                    "events": list(events),
                    "notify_url": notify_url,
                    "token": token,
                    "channel_expiry": expiry.isoformat(timespec="seconds"),
                    "return_affected_field_values": True,
                    "notify_on_related_action": True,
                }
            ]
        }
        response = self.call(
            "POST", ("actions", "watch"), kind="write", label="watch", json=body, idempotent=True
        )
        answer = response.json().get("watch", [{}])[0] if response.content else {}
        if answer.get("status") != "success":
            raise self.error(response, "subscribing to notifications")
        details: dict[str, Any] = answer.get("details", {})
        return details

    def renew(
        self,
        channel_id: str,
        events: Sequence[str],
        notify_url: str,
        token: str,
        expiry: dt.datetime,
    ) -> dict[str, Any]:
        """Extend a channel before it expires (Zoho replaces the channel's details)."""
        body = {
            "watch": [
                {
                    "channel_id": channel_id,
                    "events": list(events),
                    "notify_url": notify_url,
                    "token": token,
                    "channel_expiry": expiry.isoformat(timespec="seconds"),
                }
            ]
        }
        response = self.call("PUT", ("actions", "watch"), kind="write", label="watch", json=body)
        answer = response.json().get("watch", [{}])[0] if response.content else {}
        if answer.get("status") != "success":
            raise self.error(response, "renewing notifications")
        details: dict[str, Any] = answer.get("details", {})
        return details

    def unsubscribe(self, channel_ids: Sequence[str]) -> None:
        response = self.call(
            "DELETE",
            ("actions", "watch"),
            kind="write",
            label="watch",
            params={"channel_ids": ",".join(channel_ids)},
        )
        if response.status_code not in (200, 204):
            raise self.error(response, "ending notifications")

    @staticmethod
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


def _escape(value: Any) -> str:
    """Zoho's search criteria need ( ) , and \\ escaped with a backslash."""
    text = str(value)
    for char in ("\\", "(", ")", ","):
        text = text.replace(char, "\\" + char)
    return text
