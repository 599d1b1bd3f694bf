"""Peer contender for bench scenario T: Zoho CRM Accounts -> JSON lines with dlt.

Pulls every Account through dlt's declarative REST API source
(``dlt.sources.rest_api.rest_api_source``: a client with the Zoho auth header,
a cursor paginator that reads ``info.next_page_token`` from the JSON body and sends
it back as ``page_token``, ``data_selector: data``), maps each record to the 10
benchmark keys with the resource's ``add_map``, and writes one JSON object a line
(stdlib ``json``) to FILE.

No dlt pipeline or destination is run: iterating the resource measures the
declarative source plus the mapping, like the reference numbers, without dlt's
normalize/load stages (which would only add to its time).

    bench/.peers-venv/bin/python bench/peers/dlt_zoho.py --api URL --token TOKEN --out FILE
"""

import argparse
import json
import os

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no outbound tracking calls

from dlt.sources.rest_api import rest_api_source

FIELDS = (
    "Account_Name,Account_Number,Account_Type,Industry,Phone,Website,Employees,"
    "Annual_Revenue,Billing_Street,Billing_City,Billing_Country,Owner,Modified_Time,"
    "Support_Plan"
)


def to_row(r: dict) -> dict:
    owner = r.get("Owner")
    return {
        "zoho_id": r.get("id"),
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


def zoho_crm(api: str, token: str):
    """The declarative source: one resource, ``accounts``."""
    config = {
        "client": {
            "base_url": f"{api.rstrip('/')}/crm/v8/",
            "auth": {
                "type": "api_key",
                "name": "Authorization",
                "api_key": f"Zoho-oauthtoken {token}",
                "location": "header",
            },
            "paginator": {
                "type": "cursor",
                "cursor_path": "info.next_page_token",
                "cursor_param": "page_token",
            },
        },
        "resources": [
            {
                "name": "accounts",
                "endpoint": {
                    "path": "Accounts",
                    "params": {"fields": FIELDS, "per_page": 200},
                    "data_selector": "data",
                },
            }
        ],
    }
    return rest_api_source(config, name="zoho_crm")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", required=True, help="Zoho api_domain, e.g. http://127.0.0.1:8000")
    p.add_argument("--token", required=True, help="OAuth access token")
    p.add_argument("--out", required=True, help="JSON-lines file to write")
    a = p.parse_args()

    accounts = zoho_crm(a.api, a.token).resources["accounts"].add_map(to_row)
    with open(a.out, "w", encoding="utf-8") as out:
        for row in accounts:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
