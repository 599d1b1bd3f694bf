"""The rest of Zoho CRM's records API: related lists, attachment downloads (streamed,
size-capped), deleted records and search by key."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integrate import ConnectorError, HttpAnswer, Page, Record
from integrate_zoho_crm.api import API_DOMAIN_SOURCE

if TYPE_CHECKING:
    from integrate import ConnectorContext
    from integrate_zoho_crm.api import ZohoApi
    from integrate_zoho_crm.metadata import Metadata

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


class Extras:
    """Related lists, attachments, deleted records and search, through `api`; a related
    module's fields come from `metadata`. A download streams outside the HTTP layer, on a
    bare client of `context` (counted in its stats like any read)."""

    def __init__(self, api: ZohoApi, metadata: Metadata, context: ConnectorContext):
        self.api = api
        self.metadata = metadata
        self.context = context

    # ---- related lists and attachments ------------------------------------------------

    def related(self, object: str, id: str, related: str) -> Iterator[Page]:
        """The records of a record's related list (an Account's Contacts, Deals, Events,
        Notes, Attachments), page by page."""
        if related == "Attachments":
            fields = list(ATTACHMENT_FIELDS)
        else:
            names = [n for n in self.metadata.catalogue(related) if n != "id"]
            fields = names[:50] or ["Modified_Time"]
        page, token = 1, None
        while True:
            params: dict[str, Any] = {"fields": ",".join(fields), "per_page": 200}
            if token is not None:
                params["page_token"] = token
            else:
                params["page"] = page
            response = self.api.call("GET", (object, id, related), label="related", params=params)
            if response.status_code in (204, 304):
                return
            if response.status_code != 200:
                raise self.api.error(response, f"reading the {related} of {object} {id}")
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
        url = self.api.url((object, id, "Attachments", attachment_id))
        self.api.http.check_host(url, API_DOMAIN_SOURCE)
        headers = self.api.headers()
        with (
            self.context.http_client() as http,
            http.stream("GET", url, headers=headers) as response,
        ):
            self.context.stats.reads += 1
            self.context.stats.kinds["read:download"] += 1
            if response.status_code != 200:
                response.read()
                answer = HttpAnswer.from_httpx(response)
                raise self.api.error(answer, f"downloading attachment {attachment_id}")
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

    # ---- deleted records --------------------------------------------------------------

    def deleted(self, object: str, since: str | None = None) -> Iterator[Page]:
        """Records deleted (recycle bin and permanently), newest first, since a time."""
        page = 1
        headers = {"If-Modified-Since": since} if since else {}
        while True:
            response = self.api.call(
                "GET",
                (object, "deleted"),
                label="deleted",
                params={"type": "all", "page": page, "per_page": 200},
                headers=headers,
            )
            if response.status_code in (204, 304):
                return
            if response.status_code != 200:
                raise self.api.error(response, f"reading deleted {object}")
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
            response = self.api.call("GET", (object, "search"), label="search", params=params)
            if response.status_code in (204, 304):
                return out
            if response.status_code != 200:
                raise self.api.error(response, f"searching {object}")
            body = response.json()
            out.extend(body.get("data", []))
            if not body.get("info", {}).get("more_records") or len(out) >= SEARCH_LIMIT:
                return out
            page += 1


def _escape(value: Any) -> str:
    """Zoho's search criteria need ( ) , and \\ escaped with a backslash."""
    text = str(value)
    for char in ("\\", "(", ")", ","):
        text = text.replace(char, "\\" + char)
    return text
