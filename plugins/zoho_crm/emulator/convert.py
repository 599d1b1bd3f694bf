"""Lead conversion (§6): POST /Leads/{id}/actions/convert makes a Contact (and an Account
from the lead's Company unless one is given, and a Deal when asked), then marks the lead
Converted__s so default reads no longer show it."""

from __future__ import annotations

from typing import Any

from integrate import Reply
from integrate_zoho_crm.emulator.errors import INVALID_DATA, ZohoError
from integrate_zoho_crm.emulator.org import Call, Org
from integrate_zoho_crm.emulator.store import Row
from integrate_zoho_crm.emulator.values import iso
from integrate_zoho_crm.emulator.writes import RowError, Writer, rows_of

# lead field -> contact field
TO_CONTACT = {
    "First_Name": "First_Name",
    "Last_Name": "Last_Name",
    "Email": "Email",
    "Phone": "Phone",
    "Mobile": "Mobile",
    "Designation": "Title",
    "Lead_Source": "Lead_Source",
    "Email_Opt_Out": "Email_Opt_Out",
    "Street": "Mailing_Street",
    "City": "Mailing_City",
    "State": "Mailing_State",
    "Zip_Code": "Mailing_Zip",
    "Country": "Mailing_Country",
    "Description": "Description",
}
TO_ACCOUNT = {
    "Company": "Account_Name",
    "Phone": "Phone",
    "Website": "Website",
    "Industry": "Industry",
    "Annual_Revenue": "Annual_Revenue",
    "No_of_Employees": "Employees",
    "Street": "Billing_Street",
    "City": "Billing_City",
    "State": "Billing_State",
    "Zip_Code": "Billing_Code",
    "Country": "Billing_Country",
}


def _mapped(lead: Row, mapping: dict[str, str]) -> dict[str, Any]:
    return {
        target: lead.values[source]
        for source, target in mapping.items()
        if lead.values.get(source) not in (None, "")
    }


def _ref(org: Org, row: Row | None) -> dict[str, Any] | None:
    return None if row is None else {"name": org.store.display_name(row), "id": row.id}


def _existing(org: Org, module: str, given: Any, key: str) -> Row | None:
    if given is None:
        return None
    ref = given.get("id") if isinstance(given, dict) else None
    row = org.store.get(module, str(ref)) if ref is not None else None
    if row is None:
        raise RowError(
            "INVALID_DATA", INVALID_DATA, {"api_name": key, "json_path": f"$.data[0].{key}"}
        )
    return row


def _deal_error(refused: RowError) -> Reply:
    body = dict(refused.body)
    details = dict(body["details"])
    path = str(details.get("json_path", ""))
    details["json_path"] = path.replace("$.data[0].", "$.data[0].Deals.", 1)
    return Reply(400, {"data": [body | {"details": details}]})


def convert(org: Org, lead_id: str, call: Call) -> Reply:
    lead = org.store.get("Leads", lead_id)
    if lead is None:
        raise ZohoError(400, "INVALID_DATA", INVALID_DATA, {"resource_path_index": 1})
    if lead.values.get("Converted__s"):
        raise ZohoError(
            400, "ID_ALREADY_CONVERTED", "id already converted", {"resource_path_index": 1}
        )
    body = call.json()
    options = rows_of(body)[0] if body is not None else {}
    if not isinstance(options, dict):
        raise ZohoError(
            400, "INVALID_DATA", INVALID_DATA, {"api_name": "data", "json_path": "$.data[0]"}
        )
    now = int(call.now)

    def writer(module: str) -> Writer:
        return Writer(org, org.module(module), call.user, now)

    owner_id = str(lead.values.get("Owner") or call.user.id)
    deal_values = options.get("Deals")
    try:
        assignee = options.get("assign_to")
        if assignee is not None:
            owner_id = str(assignee.get("id")) if isinstance(assignee, dict) else ""
            if owner_id not in org.store.user_by_id:
                raise RowError(
                    "INVALID_DATA",
                    INVALID_DATA,
                    {"api_name": "assign_to", "json_path": "$.data[0].assign_to"},
                )
        account = _existing(org, "Accounts", options.get("Accounts"), "Accounts")
        contact = _existing(org, "Contacts", options.get("Contacts"), "Contacts")
        if deal_values is not None and not isinstance(deal_values, dict):
            raise RowError(
                "INVALID_DATA", INVALID_DATA, {"api_name": "Deals", "json_path": "$.data[0].Deals"}
            )
    except RowError as refused:
        return Reply(400, {"data": [refused.body]})
    if deal_values is not None:
        try:  # check the deal before anything is made, so a refusal changes nothing
            writer("Deals").values(0, {"Owner": {"id": owner_id}, **deal_values}, None)
        except RowError as refused:
            return _deal_error(refused)

    try:  # the same for the account and contact the lead becomes (unique fields, lengths)
        if account is None and lead.values.get("Company"):
            writer("Accounts").values(0, _mapped(lead, TO_ACCOUNT), None)
        if contact is None:
            writer("Contacts").values(0, _mapped(lead, TO_CONTACT), None)
    except RowError as refused:
        return Reply(400, {"data": [refused.body]})

    accounts, contacts, deals, leads = (
        writer(m) for m in ("Accounts", "Contacts", "Deals", "Leads")
    )
    if account is None and lead.values.get("Company"):
        made = accounts.insert(0, _mapped(lead, TO_ACCOUNT) | {"Owner": {"id": owner_id}})
        account = org.store.get("Accounts", made["details"]["id"])
    link = {"Account_Name": {"id": account.id}} if account else {}
    if contact is None:
        made = contacts.insert(0, _mapped(lead, TO_CONTACT) | link | {"Owner": {"id": owner_id}})
        contact = org.store.get("Contacts", made["details"]["id"])
    elif options.get("overwrite") or link:
        extra = _mapped(lead, TO_CONTACT) if options.get("overwrite") else {}
        contacts.update(0, contact, extra | link)
    deal = None
    if deal_values is not None:
        values = {"Owner": {"id": owner_id}, **deal_values}
        if contact is not None:
            values["Contact_Name"] = {"id": contact.id}
        if account is not None:
            values["Account_Name"] = {"id": account.id}
        made = deals.insert(0, values)
        deal = org.store.get("Deals", made["details"]["id"])
    converted = {"Converted__s": True, "Converted_Date_Time": iso(now), "Modified_By": call.user.id}
    org.store.replace(lead, lead.values | converted, now)
    leads.updated[lead.id] = {"Converted__s": True}
    for done in (accounts, contacts, deals, leads):
        done.announce()
    return Reply(
        200,
        {
            "data": [
                {
                    "code": "SUCCESS",
                    "details": {
                        "Contacts": _ref(org, contact),
                        "Accounts": _ref(org, account),
                        "Deals": _ref(org, deal),
                    },
                    "message": "The record has been converted successfully",
                    "status": "success",
                }
            ]
        },
    )
