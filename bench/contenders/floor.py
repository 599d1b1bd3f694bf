"""The hand-written floor for scenario T: httpx, a loop over pages, a dict per record.

    python bench/contenders/floor.py --api URL --token TOKEN --out FILE [--codec json|orjson|jmespath]
    python bench/contenders/floor.py --api URL --token TOKEN --out FILE --durable [--state FILE]
        [--order modified]

`json` and `orjson` map with a dict literal (the floor, with either JSON codec);
`jmespath` maps each field with a compiled `jmespath` expression (what a naive
expression-driven engine pays per field), with orjson as the codec.

`--durable` is the durable floor: the orjson floor doing what a sync must do to survive a
kill, per 1,000 records (integrate's batch for a files target): append the mapped records
(each with the id it gets in the file) to the JSONL file and fsync it, then one SQLite
transaction (WAL, synchronous=FULL, as integrate's state store) of one link row per record:
source id, target id, a 16-byte digest of the line written (a small snapshot).

`--order modified` reads the Accounts in order of modification (`sort_by=Modified_Time`), the
order `integrate`'s read by key hands them over in, instead of Zoho's default (by id): the
link rows then arrive in no order of their id, which is what SQLite's indexes pay for.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import httpx
import jmespath
import orjson

FIELDS = (
    "Account_Name,Account_Number,Account_Type,Industry,Phone,Website,Employees,"
    "Annual_Revenue,Billing_Street,Billing_City,Billing_Country,Owner,Modified_Time,"
    "Support_Plan"
)
MAPPING = {
    "zoho_id": "id",
    "name": "Account_Name",
    "number": "Account_Number",
    "type": "Account_Type",
    "industry": "Industry",
    "phone": "Phone",
    "website": "Website",
    "employees": "Employees",
    "city": "Billing_City",
    "owner": "Owner.name",
}


def pages(
    api: str, token: str, loads: Callable[[bytes], Any], order: str = "id"
) -> Iterator[list[dict[str, Any]]]:
    params: dict[str, Any] = {"fields": FIELDS, "per_page": 200}
    if order == "modified":
        params.update(sort_by="Modified_Time", sort_order="asc")
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    with httpx.Client(base_url=api, headers=headers, timeout=60) as client:
        while True:
            response = client.get("/crm/v8/Accounts", params=params)
            response.raise_for_status()
            if response.status_code == 204:
                return
            body = loads(response.content)
            yield body["data"]
            if not body["info"]["more_records"]:
                return
            params["page_token"] = body["info"]["next_page_token"]


def by_hand(r: dict[str, Any]) -> dict[str, Any]:
    owner = r.get("Owner")
    return {
        "zoho_id": r["id"],
        "name": r.get("Account_Name"),
        "number": r.get("Account_Number"),
        "type": r.get("Account_Type"),
        "industry": r.get("Industry"),
        "phone": r.get("Phone"),
        "website": r.get("Website"),
        "employees": r.get("Employees"),
        "city": r.get("Billing_City"),
        "owner": owner.get("name") if owner else None,
    }


def by_jmespath() -> Callable[[dict[str, Any]], dict[str, Any]]:
    compiled = [(key, jmespath.compile(path)) for key, path in MAPPING.items()]
    return lambda r: {key: expr.search(r) for key, expr in compiled}


BATCH = 1000  # records per fsync and per transaction, as integrate's batch to a files target
LINKS = """
CREATE TABLE IF NOT EXISTS links(
  a_id TEXT PRIMARY KEY,
  b_id TEXT NOT NULL,
  snapshot BLOB NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS links_by_b ON links(b_id);
"""


class Durable:
    """The durable floor's writer: lines and link rows held until 1,000 records, then the
    lines appended and fsynced, then the link rows committed in one transaction."""

    def __init__(self, out: BinaryIO, state: str):
        self.out = out
        self.db = sqlite3.connect(state, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.executescript(LINKS)
        self.lines: list[bytes] = []
        self.links: list[tuple[str, str, bytes]] = []
        self.next_id = 1

    def add(self, page: list[dict[str, Any]]) -> None:
        for r in page:
            record = by_hand(r)
            target = str(self.next_id)
            self.next_id += 1
            record["id"] = target
            line = orjson.dumps(record)
            self.lines.append(line + b"\n")
            self.links.append(
                (record["zoho_id"], target, hashlib.blake2b(line, digest_size=16).digest())
            )
            if len(self.lines) >= BATCH:
                self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        self.out.write(b"".join(self.lines))
        self.out.flush()
        os.fsync(self.out.fileno())
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("INSERT INTO links(a_id, b_id, snapshot) VALUES (?, ?, ?)", self.links)
        self.db.execute("COMMIT")
        self.lines.clear()
        self.links.clear()

    def close(self) -> None:
        self.flush()
        self.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--codec", choices=("json", "orjson", "jmespath"), default="json")
    parser.add_argument(
        "--durable",
        action="store_true",
        help="the durable floor (orjson): per 1,000 records, fsync the file, then commit links",
    )
    parser.add_argument(
        "--state", help="--durable: the SQLite file of links (default: beside --out)"
    )
    parser.add_argument(
        "--order",
        choices=("id", "modified"),
        default="id",
        help="the order to read in: Zoho's default (id) or by modification time",
    )
    args = parser.parse_args()
    with open(args.out, "wb") as out:
        if args.durable:
            durable = Durable(
                out, args.state or os.path.join(os.path.dirname(args.out), "links.db")
            )
            for page in pages(args.api, args.token, orjson.loads, args.order):
                durable.add(page)
            durable.close()
        elif args.codec == "json":
            for page in pages(args.api, args.token, json.loads):
                out.write(
                    "".join(
                        json.dumps(by_hand(r), ensure_ascii=False) + "\n" for r in page
                    ).encode()
                )
        else:
            mapper = by_hand if args.codec == "orjson" else by_jmespath()
            for page in pages(args.api, args.token, orjson.loads):
                out.write(b"".join(orjson.dumps(mapper(r)) + b"\n" for r in page))


if __name__ == "__main__":
    main()
