"""The hand-written floor for scenario T: httpx, a loop over pages, a dict per record.

    python bench/contenders/floor.py --api URL --token TOKEN --out FILE [--codec json|orjson|jmespath]

`json` and `orjson` map with a dict literal (the floor, with either JSON codec);
`jmespath` maps each field with a compiled `jmespath` expression (what a naive
expression-driven engine pays per field), with orjson as the codec.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from typing import Any

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


def pages(api: str, token: str, loads: Callable[[bytes], Any]) -> Iterator[list[dict[str, Any]]]:
    params: dict[str, Any] = {"fields": FIELDS, "per_page": 200}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--codec", choices=("json", "orjson", "jmespath"), default="json")
    args = parser.parse_args()
    with open(args.out, "wb") as out:
        if args.codec == "json":
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
