"""Get Records' parameters and paging (§2, §2.1): `fields`, `per_page`, `page` within the
first 2,000 rows, `page_token` past them (bound to the other parameters, 24 hours, 100,000
rows at most), sorting and If-Modified-Since."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrate import PageToken, PageTokenRefused, page_of
from integrate import PageTokens as KitPageTokens
from integrate_zoho_crm.emulator.catalogue import Module
from integrate_zoho_crm.emulator.errors import (
    AMBIGUITY,
    DISCRETE_LIMIT,
    TOKEN_EXPIRED,
    TOKEN_LIMIT,
    TOKEN_MISMATCH,
    ZohoError,
    invalid_param,
    missing_param,
)
from integrate_zoho_crm.emulator.store import Row
from integrate_zoho_crm.emulator.values import iso, parse_time

MAX_FIELDS = 50
MAX_PER_PAGE = 200
DISCRETE_ROWS = 2_000
TOKEN_ROWS = 100_000
TOKEN_SECONDS = 86_400
SORTABLE = ("id", "Created_Time", "Modified_Time")


class PageTokens:
    """Zoho's page tokens (§2.1): the kit's, bound to the other parameters of the request
    and the caller, 24 hours, refused past row 100,000, each refusal in Zoho's words."""

    def __init__(self, seed: int):
        self._tokens = KitPageTokens(seed, TOKEN_SECONDS)

    def issue(self, signature: str, offset: int, now: float) -> tuple[str, str]:
        """A token for the page at `offset`, and when it expires (as Zoho writes it)."""
        return self._tokens.issue(signature, offset, now), iso(now + TOKEN_SECONDS)

    def redeem(self, token: str, signature: str, now: float) -> PageToken:
        try:
            state = self._tokens.redeem(token, signature, now)
        except PageTokenRefused as refused:
            if refused.reason == "expired":
                raise ZohoError(
                    400,
                    "EXPIRED_VALUE",
                    TOKEN_EXPIRED,
                    {"api_name": "page_token", "json_path": "$.query.page_token"},
                ) from None
            if refused.reason == "mismatch":
                raise ZohoError(
                    400, "TOKEN_BOUND_DATA_MISMATCH", TOKEN_MISMATCH, {"param_name": "page_token"}
                ) from None
            raise invalid_param("page_token") from None
        if state.offset >= TOKEN_ROWS:
            raise ZohoError(
                400, "PAGINATION_LIMIT_EXCEEDED", TOKEN_LIMIT, {"param_name": "page_token"}
            )
        return state


def fields_param(module: Module, args: Mapping[str, str], *, required: bool) -> list[str] | None:
    """The `fields` parameter: mandatory on lists, at most 50 known API names."""
    raw = args.get("fields")
    if raw is None or not raw.strip():
        if required:
            raise missing_param("fields")
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > MAX_FIELDS:
        raise ZohoError(
            400,
            "LIMIT_EXCEEDED",
            "Max field limit exceeded",
            {"limit": MAX_FIELDS, "param_name": "fields"},
        )
    for name in names:
        if name not in module.by_name:
            raise ZohoError(
                400,
                "INVALID_DATA",
                "invalid data",
                {"api_name": name, "param_name": "fields"},
            )
    return names


def positive(args: Mapping[str, str], name: str, default: int, most: int | None = None) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1 or (most is not None and int(raw) > most):
        raise invalid_param(name)
    return int(raw)


def modified_since(headers: Mapping[str, str]) -> int | None:
    raw = headers.get("If-Modified-Since")
    if raw is None:
        return None
    seconds = parse_time(raw)
    if seconds is None:
        raise invalid_param("If-Modified-Since")
    return seconds


@dataclass
class Sorting:
    by: str
    order: str


def sorting(args: Mapping[str, str]) -> Sorting:
    by = args.get("sort_by", "id")
    order = args.get("sort_order", "desc")
    if by not in SORTABLE:
        raise invalid_param("sort_by")
    if order not in ("asc", "desc"):
        raise invalid_param("sort_order")
    return Sorting(by, order)


def sort_rows(rows: list[Row], order: Sorting) -> list[Row]:
    """Rows come in id order (ids only grow); other sorts break ties by id."""
    if order.by == "id":
        return rows[::-1] if order.order == "desc" else rows
    if order.by == "Created_Time":
        return sorted(rows, key=lambda r: (r.created, r.id), reverse=order.order == "desc")
    return sorted(rows, key=lambda r: (r.modified, r.id), reverse=order.order == "desc")


@dataclass
class Page:
    rows: Sequence[Row]
    info: dict[str, Any]


def paginate(
    rows: Sequence[Row],
    args: Mapping[str, str],
    *,
    tokens: PageTokens,
    signature: str,
    now: float,
    sort: Sorting | None = None,
) -> Page:
    """One page of rows by `page` (first 2,000 rows only) or `page_token` (§2.1)."""
    per_page = positive(args, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
    token = args.get("page_token")
    if token is not None and "page" in args:
        raise ZohoError(
            400,
            "AMBIGUITY_DURING_PROCESSING",
            AMBIGUITY,
            {
                "ambiguity_due_to": [
                    {"api_name": "page", "json_path": "$.query.page"},
                    {"api_name": "page_token", "json_path": "$.query.page_token"},
                ]
            },
        )
    if token is not None:
        offset = tokens.redeem(token, signature, now).offset
    else:
        page = positive(args, "page", 1)
        if page * per_page > DISCRETE_ROWS:
            raise ZohoError(
                400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED", DISCRETE_LIMIT, {"limit": DISCRETE_ROWS}
            )
        offset = (page - 1) * per_page
    chunk, more = page_of(rows, offset, per_page)
    next_token, expiry = tokens.issue(signature, offset + per_page, now) if more else (None, None)
    info: dict[str, Any] = {
        "per_page": per_page,
        "count": len(chunk),
        "page": offset // per_page + 1,
        "more_records": more,
        "next_page_token": next_token,
        "previous_page_token": None,
        "page_token_expiry": expiry,
        "call": False,
        "email": False,
    }
    if sort is not None:
        info["sort_by"] = sort.by
        info["sort_order"] = sort.order
    return Page(chunk, info)


def simple_page(
    rows: Sequence[Any], args: Mapping[str, str]
) -> tuple[Sequence[Any], dict[str, Any]]:
    """page/per_page without tokens (deleted records, users, search, attachments)."""
    per_page = positive(args, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
    page = positive(args, "page", 1)
    chunk, more = page_of(rows, (page - 1) * per_page, per_page)
    info = {"per_page": per_page, "count": len(chunk), "page": page, "more_records": more}
    return chunk, info


def signature(*parts: Any) -> str:
    return repr(parts)
