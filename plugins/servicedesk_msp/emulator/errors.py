"""SDP's answers (§1.6): the `response_status` envelope, success and failure, and the HTTP
status each failure comes with.

Every failure has the outer `status_code` 4000 ("generic failure wrapper") with
`status: "failed"` and one message carrying the specific code. Which HTTP status a failure
comes with is ASSUMED (§1.6 gives brackets, §1.9 warns that API-level errors arrive as HTTP
200); the rule here is: what concerns the content of `input_data` (list_info, the record
sent) is answered with HTTP 200, what concerns the request itself (key, URL, rate, server)
with the HTTP status in brackets in §1.6.

| inner code | when (this emulator)                                              | HTTP |
|------------|-------------------------------------------------------------------|------|
| 4000       | input_data not JSON, list_info invalid (row_count > 100, unknown  | 200  |
|            | condition/field, start_index < 1), list_info on a non-list call,  |      |
|            | a field the module does not have                                  |      |
| 4001       | a lookup `{"id"}`/`{"name"}` that matches nothing (or more than   | 200  |
|            | one), a site/department outside the requester's account/site      |      |
| 4005       | delete of a record others refer to (account with requesters, the  | 200  |
|            | default site, a General department, a site with requesters ...)   |      |
| 4007       | unknown URL, module, record id or portal; a method the path does  | 404  |
|            | not serve; no v3 `Accept` header; department writes on-premises   |      |
| 4008       | not unique (account name, site name in its account, department    | 200  |
|            | name in its site, requester email_id in its account)              |      |
| 4009       | non-editable (a site's account, a department's site, General's    | 200  |
|            | name)                                                             |      |
| 4012       | mandatory field missing; `fields` lists them                      | 200  |
| 4014       | read-only field sent (`id`, `created_time`, `last_updated_time`)  | 200  |
| 4021       | data type mismatch (a lookup that is not an object, a text field  | 200  |
|            | that is not a string, `is_vipuser` not a boolean or "true"/"false")|     |
| 4022       | missing, unknown or expired API key / OAuth token                 | 401  |
| 4015       | rate limit reached                                                | 429  |
| 4004       | internal error (the injected 500)                                 | 500  |

A failed list call answers the failure envelope (`response_status` an object, as in §1.6's
failure example), not the list's array shape (ASSUMED).
"""

from __future__ import annotations

from typing import Any

from integrate import Refusal

SUCCESS = 2000
FAILED = 4000
NOT_FOUND_VALUE = 4001
INTERNAL = 4004
REFERENCED = 4005
BAD_URL = 4007
NOT_UNIQUE = 4008
NON_EDITABLE = 4009
MANDATORY = 4012
READ_ONLY = 4014
RATE_LIMIT = 4015
TYPE_MISMATCH = 4021
BAD_KEY = 4022

HTTP_STATUS = {BAD_URL: 404, BAD_KEY: 401, RATE_LIMIT: 429, INTERNAL: 500}


def success() -> dict[str, Any]:
    return {"status_code": SUCCESS, "status": "success"}


def failure(
    code: int, message: str, *, fields: list[str] | None = None, field: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {"status_code": code, "type": "failed", "message": message}
    if field is not None:
        item["field"] = field
    if fields is not None:
        item["fields"] = fields
    return {"response_status": {"status_code": FAILED, "status": "failed", "messages": [item]}}


class SdpError(Refusal):
    """A refusal, answered with the failure envelope and the HTTP status of its code."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        fields: list[str] | None = None,
        field: str | None = None,
    ):
        super().__init__(HTTP_STATUS.get(code, 200), f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields
        self.field = field

    def body(self) -> dict[str, Any]:
        return failure(self.code, self.message, fields=self.fields, field=self.field)


def bad_input(message: str, field: str | None = None) -> SdpError:
    return SdpError(FAILED, message, field=field)


def bad_url(message: str = "Invalid URL") -> SdpError:
    return SdpError(BAD_URL, message)


def no_such(field: str, given: Any) -> SdpError:
    return SdpError(
        NOT_FOUND_VALUE, f"{field}: {given!r} does not exist or is not in use", field=field
    )


def mismatch(field: str, expected: str) -> SdpError:
    return SdpError(TYPE_MISMATCH, f"{field} must be {expected}", field=field)
