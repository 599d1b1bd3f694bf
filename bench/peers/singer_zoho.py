"""Peer contender for bench scenario T: Zoho CRM Accounts -> Singer messages with singer-sdk.

A singer-sdk ``Tap`` with one ``RESTStream`` ("accounts"): the 15 raw fields as its
schema, records at ``$.data[*]``, the next-page token taken from
``$.info.next_page_token`` by singer-sdk's ``JSONPathPaginator`` and sent back as
``page_token``. The mapping to the 10 benchmark keys is done by singer-sdk's own
stream maps (``stream_maps`` config: one expression per key, ``__else__: null`` so
only those keys remain). The tap runs in-process with its stdout, the Singer message
stream, redirected to FILE: the RECORD messages there carry the mapped records.
Logging goes to stderr at ERROR (so the per-page metrics and the one-off
warning about the ignored ``$editable``/``$state`` keys are not printed).

    bench/.peers-venv/bin/python bench/peers/singer_zoho.py --api URL --token TOKEN --out FILE
"""

import argparse
import contextlib
import logging
import os

from singer_sdk import RESTStream, Tap
from singer_sdk import typing as th
from singer_sdk.authenticators import APIKeyAuthenticator

FIELDS = [
    "Account_Name", "Account_Number", "Account_Type", "Industry", "Phone", "Website",
    "Employees", "Annual_Revenue", "Billing_Street", "Billing_City", "Billing_Country",
    "Owner", "Modified_Time", "Support_Plan",
]  # fmt: skip

STREAM_MAPS = {
    "accounts": {
        "zoho_id": "id",
        "name": "Account_Name",
        "number": "Account_Number",
        "type": "Account_Type",
        "industry": "Industry",
        "phone": "Phone",
        "website": "Website",
        "employees": "Employees",
        "city": "Billing_City",
        "owner": "Owner['name'] if Owner else None",
        "__key_properties__": ["zoho_id"],
        "__else__": None,
    }
}


class AccountsStream(RESTStream):
    name = "accounts"
    path = "/crm/v8/Accounts"
    primary_keys = ("id",)
    records_jsonpath = "$.data[*]"
    next_page_token_jsonpath = "$.info.next_page_token"  # -> JSONPathPaginator
    schema = th.PropertiesList(
        th.Property("id", th.StringType),
        th.Property("Account_Name", th.StringType),
        th.Property("Account_Number", th.StringType),
        th.Property("Account_Type", th.StringType),
        th.Property("Industry", th.StringType),
        th.Property("Phone", th.StringType),
        th.Property("Website", th.StringType),
        th.Property("Employees", th.IntegerType),
        th.Property("Annual_Revenue", th.NumberType),
        th.Property("Billing_Street", th.StringType),
        th.Property("Billing_City", th.StringType),
        th.Property("Billing_Country", th.StringType),
        th.Property(
            "Owner",
            th.ObjectType(
                th.Property("name", th.StringType),
                th.Property("id", th.StringType),
                th.Property("email", th.StringType),
            ),
        ),
        th.Property("Modified_Time", th.DateTimeType),
        th.Property("Support_Plan", th.StringType),
    ).to_dict()

    @property
    def url_base(self) -> str:
        return self.config["api_domain"].rstrip("/")

    @property
    def authenticator(self) -> APIKeyAuthenticator:
        return APIKeyAuthenticator(
            key="Authorization",
            value=f"Zoho-oauthtoken {self.config['access_token']}",
            location="header",
        )

    def get_url_params(self, context, next_page_token):
        params = {"fields": ",".join(FIELDS), "per_page": 200}
        if next_page_token:
            params["page_token"] = next_page_token
        return params


class TapZohoCRM(Tap):
    name = "tap-zoho-crm"
    config_jsonschema = th.PropertiesList(
        th.Property("api_domain", th.StringType, required=True),
        th.Property("access_token", th.StringType, required=True, secret=True),
    ).to_dict()

    def discover_streams(self):
        return [AccountsStream(self)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api", required=True, help="Zoho api_domain, e.g. http://127.0.0.1:8000")
    p.add_argument("--token", required=True, help="OAuth access token")
    p.add_argument("--out", required=True, help="file for the Singer message stream")
    a = p.parse_args()

    # stderr only (stdout carries the messages); singer-sdk reads <TAP_NAME>_LOGLEVEL
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("TAP_ZOHO_CRM_LOGLEVEL", "ERROR")
    config = {"api_domain": a.api, "access_token": a.token, "stream_maps": STREAM_MAPS}
    tap = TapZohoCRM(config=config)
    with open(a.out, "w", encoding="utf-8") as out, contextlib.redirect_stdout(out):
        tap.sync_all()


if __name__ == "__main__":
    main()
