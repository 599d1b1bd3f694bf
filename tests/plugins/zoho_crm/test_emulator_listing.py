"""Get Records with If-Modified-Since, sorted by Modified_Time (what a read by key asks every
page): the emulator answers from the sorted listing it keeps, through a window rather than a
copy; each page must hold, byte for byte, the records a fresh filter of every row gives."""

from __future__ import annotations

from typing import Any

import pytest

from integrate_zoho_crm.emulator.values import iso
from tests.plugins.zoho_crm.emulator_kit import Crm

FIELDS = "Account_Name,Modified_Time,Owner,Phone"


@pytest.fixture(scope="module")
def crm() -> Crm:
    """700 Accounts; 250 of them then edited in one second (more than a page of 200)."""
    crm = Crm(accounts=700)
    for record in crm.emulator.records("Accounts")[::2][:250]:
        crm.emulator.change("Accounts", record["id"], {"Phone": "+44 113 000"})
    return crm


def _fresh(crm: Crm, since: int, order: str) -> list[Any]:
    """Every row modified at or after `since`, sorted as Zoho sorts by Modified_Time (ties by
    id), without the emulator's listing."""
    rows = [r for r in crm.emulator.org.store.rows["Accounts"].values() if r.modified >= since]
    return sorted(rows, key=lambda r: (r.modified, r.id), reverse=order == "desc")


def _seconds(crm: Crm) -> list[int]:
    times = sorted({r.modified for r in crm.emulator.org.store.rows["Accounts"].values()})
    crowded = max(times)  # the second of the 250 edits
    return [times[0] - 1, times[0], times[len(times) // 3], times[-2], crowded, crowded + 1]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_every_page_of_a_modified_since_query_is_the_fresh_filter_byte_for_byte(
    crm: Crm, order: str
) -> None:
    names = FIELDS.split(",")
    for since in _seconds(crm):
        expected = _fresh(crm, since, order)
        headers = {"If-Modified-Since": iso(since)}
        params: dict[str, Any] = {"fields": FIELDS, "sort_by": "Modified_Time", "sort_order": order}
        pages = 0
        while True:
            answer = crm.get("/Accounts", params=params, headers=headers)
            if not expected:
                assert answer.status_code == 304
                break
            assert answer.status_code == 200
            chunk = expected[pages * 200 : (pages + 1) * 200]
            data = crm.emulator.org.encode_rows("Accounts", chunk, names)
            assert answer.content.startswith(b'{"data":' + data + b',"info":'), (since, pages)
            info = answer.json()["info"]
            more = len(expected) > (pages + 1) * 200
            assert (info["count"], info["page"], info["more_records"]) == (
                len(chunk),
                pages + 1,
                more,
            )
            pages += 1
            if not more:
                break
            params = {**params, "page_token": info["next_page_token"]}
        assert pages == -(-len(expected) // 200)
