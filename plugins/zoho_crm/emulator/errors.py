"""Zoho's answers: the error envelope `{code, details, message, status: "error"}` (§10.4), the
refusal that carries it, and the status of a write answer. (Handlers answer with the kit's
`Reply`.)"""

from __future__ import annotations

from typing import Any

from integrate import Refusal

# Messages as Zoho's OpenAPI files spell them (record.json `API_Exception`), or as seen in
# the wild (§2.1). The pagination ones Zoho's files do not list are ASSUMED wording.
INVALID_DATA = "invalid data"
INVALID_ID = "the id given seems to be invalid"
INVALID_MODULE = "The module name given seems to be invalid"
INVALID_TOKEN = "invalid oauth token"
MANDATORY = "required field not found"
DUPLICATE = "duplicate data"
PARAM_MISSING = "One of the expected parameter is missing"
DISCRETE_LIMIT = "You can only get the first 2000 records without using page_token param"
TOKEN_LIMIT = "You can only get the first 100000 records using page_token param"
TOKEN_MISMATCH = "the given page_token does not match the other parameters of the request"
TOKEN_EXPIRED = "the given page_token has expired"
AMBIGUITY = "page and page_token cannot be used together"
SCOPE_MISMATCH = "invalid oauth scope to access this URL"
BAD_URL = "Please check if the URL trying to access is a correct one"
BAD_METHOD = "The http request method type is not a valid one"
TOO_MANY = "You have exceeded the concurrency limit or the API credits for the day"
INTERNAL = "Internal server error occurred."
RELATED_ID = "the related id given seems to be invalid"
RELATION_NAME = "The relation name given seems to be invalid"


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


class ZohoError(Refusal):
    """A request-level refusal: answered at the top level with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(status, f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return envelope(self.code, self.message, self.details)


def invalid_param(name: str, message: str = INVALID_DATA) -> ZohoError:
    return ZohoError(400, "INVALID_DATA", message, {"param_name": name})


def missing_param(name: str) -> ZohoError:
    return ZohoError(400, "REQUIRED_PARAM_MISSING", PARAM_MISSING, {"param_name": name})


def per_record_status(results: list[dict[str, Any]], all_ok: int) -> int:
    """The HTTP status of a write answer: `all_ok` when every row succeeded, 207 when some
    did, 400 when none did (§3.1; the mixed/all-failed mapping is [obs])."""
    ok = sum(1 for r in results if r.get("status") == "success")
    if ok == len(results):
        return all_ok
    return 207 if ok else 400
