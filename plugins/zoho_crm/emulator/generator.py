"""A seeded generator of a realistic org: users, accounts with contacts, deals, meetings,
notes and attachments, and stand-alone leads. Same seed and clock, same data; 100,000
accounts in a few seconds (rows go straight into the store, no per-row validation).

Realistic means what breaks naive sync code: unicode names and addresses, optional fields
left empty, lookups between modules, owners spread over several users.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from integrate import ascii_slug
from integrate_zoho_crm.emulator.catalogue import (
    ACCOUNT_STATUS,
    ACCOUNT_TYPE,
    DEAL_TYPE,
    INDUSTRY,
    LEAD_SOURCE,
    LEAD_STATUS,
    ORG,
    RATING,
    REGION,
    STAGES,
    SUPPORT_PLAN,
)
from integrate_zoho_crm.emulator.samples import (
    ACCOUNT_STEMS,
    DEPARTMENTS,
    FILES,
    FIRST,
    FREE_MAIL,
    LAST,
    MEETINGS,
    NOTES,
    PLACES,
    PRODUCTS,
    STREETS,
    SUFFIXES,
    TITLES,
    TLDS,
    USERS,
)
from integrate_zoho_crm.emulator.store import DAY, Row, Store, User
from integrate_zoho_crm.emulator.values import day, iso

STAGE_NAMES = list(STAGES)
T = TypeVar("T")


@dataclass
class Sizes:
    accounts: int = 0
    contacts_per_account: int = 0
    leads: int = 0
    deals_per_account: int = 0
    events_per_account: int = 0


def make_users(count: int, anchor: int) -> list[User]:
    users = []
    for i in range(count):
        first, last, local = USERS[i % len(USERS)]
        lap = i // len(USERS)
        users.append(
            User(
                id=f"{ORG}000000411{i + 1:03d}",
                first_name=first,
                last_name=last if not lap else f"{last} {lap + 1}",
                email=f"{local}{lap or ''}@zylker.com",
                admin=i == 0,
                created=anchor - 900 * DAY,
            )
        )
    return users


class Generator:
    def __init__(self, store: Store, seed: int, anchor: int):
        self.store = store
        self.rng = random.Random(seed)
        self.seed = seed
        self.anchor = anchor
        self.owners = [u.id for u in store.users if u.status == "active"] or [store.users[0].id]
        self.names: set[str] = set()
        self.emails: set[str] = set()
        self.account_ids: list[str] = []
        self.domains: dict[str, str] = {}

    # ---- small helpers (random.random() only: choice/randint are slow at this scale) ------

    def _chance(self, chance: float) -> bool:
        return self.rng.random() < chance

    def _pick(self, items: Sequence[T]) -> T:
        return items[int(self.rng.random() * len(items))]

    def _int(self, low: int, high: int) -> int:
        return low + int(self.rng.random() * (high - low + 1))

    def _times(self) -> tuple[int, int]:
        created = self.anchor - self._int(DAY, 730 * DAY)
        if self._chance(0.3):
            return created, created
        return created, created + self._int(0, self.anchor - created)

    def _people(self, owner: str | None = None) -> dict[str, Any]:
        owner = owner or self._pick(self.owners)
        return {"Owner": owner, "Created_By": self._pick(self.owners), "Modified_By": owner}

    def _add(self, module: str, values: dict[str, Any]) -> Row:
        created, modified = self._times()
        values = {k: v for k, v in values.items() if v is not None}
        return self.store.add(module, values, created, modified)

    def _phone(self, calling: str) -> str:
        return f"+{calling} {self._int(100, 999)} {self._int(1000, 9999)}"

    def _email(self, first: str | None, last: str, domain: str) -> str | None:
        local = ".".join(p for p in (ascii_slug(first or ""), ascii_slug(last)) if p) or "contact"
        email = f"{local}@{domain}"
        n = 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def _account_name(self) -> tuple[str, str]:
        stem = self._pick(ACCOUNT_STEMS)
        name = stem if self._chance(0.3) else f"{stem} {self._pick(SUFFIXES)}"
        if name in self.names:
            name = f"{name} {self._pick(PLACES)[0]}"
        base, n = name, 1
        while name in self.names:
            n += 1
            name = f"{base} {n}"
        self.names.add(name)
        return stem, name

    # ---- modules --------------------------------------------------------------------------

    def run(self, sizes: Sizes) -> None:
        for i in range(sizes.accounts):
            account = self.account(i)
            contacts = [self.contact(account) for _ in range(sizes.contacts_per_account)]
            for j in range(sizes.deals_per_account):
                self.deal(account, contacts, i * sizes.deals_per_account + j)
            for _ in range(sizes.events_per_account):
                self.event(account, contacts)
            if i % 10 == 1:
                self.note(account)
        for _ in range(sizes.leads):
            self.lead()

    def account(self, index: int) -> Row:
        # The hottest loop of a big org: random() inlined rather than the helpers.
        r = self.rng.random
        stem, name = self._account_name()
        city, state, code, country, calling = PLACES[int(r() * len(PLACES))]
        domain = f"{ascii_slug(stem)[:20] or 'firma'}{1 + int(r() * 99)}.{TLDS[int(r() * 4)]}"
        street = f"{STREETS[int(r() * len(STREETS))]} {1 + int(r() * 250)}"
        shipping = r() < 0.4
        start = day(self.anchor - (30 + int(r() * 1470)) * DAY) if r() < 0.6 else None
        ids = self.account_ids
        owner = self.owners[int(r() * len(self.owners))]
        row = self._add(
            "Accounts",
            {
                "Account_Name": name,
                "Account_Number": f"A-{100000 + index}" if r() < 0.5 else None,
                "Account_Type": ACCOUNT_TYPE[1 + int(r() * (len(ACCOUNT_TYPE) - 1))]
                if r() < 0.8
                else None,
                "Industry": INDUSTRY[1 + int(r() * (len(INDUSTRY) - 1))] if r() < 0.8 else None,
                "Rating": RATING[1 + int(r() * (len(RATING) - 1))] if r() < 0.3 else None,
                "Phone": self._phone(calling) if r() < 0.9 else None,
                "Fax": self._phone(calling) if r() < 0.1 else None,
                "Website": f"https://www.{domain}" if r() < 0.7 else None,
                "Annual_Revenue": float((1 + int(r() * 5000)) * 10_000) if r() < 0.6 else None,
                "Employees": 1 + int(r() * 20_000) if r() < 0.7 else None,
                "Parent_Account": ids[int(r() * len(ids))]
                if len(ids) > 10 and r() < 0.05
                else None,
                "Description": f"Kunde seit {start or 'n/a'} — {name}" if r() < 0.3 else None,
                "Billing_Street": street if r() < 0.85 else None,
                "Billing_City": city,
                "Billing_State": state,
                "Billing_Code": code if r() < 0.9 else None,
                "Billing_Country": country,
                "Shipping_Street": street if shipping else None,
                "Shipping_City": city if shipping else None,
                "Shipping_Code": code if shipping else None,
                "Shipping_Country": country if shipping else None,
                "Account_Status": ACCOUNT_STATUS[1 + int(r() * (len(ACCOUNT_STATUS) - 1))]
                if r() < 0.85
                else None,
                "Sync_with_ClientSuccess": r() < 0.4,
                "Customer_Start_Date": start,
                "Region": REGION[1 + int(r() * (len(REGION) - 1))] if r() < 0.7 else None,
                "Support_Plan": SUPPORT_PLAN[1 + int(r() * (len(SUPPORT_PLAN) - 1))]
                if r() < 0.6
                else None,
                "Customer_Success_Manager": owner if r() < 0.5 else None,
                "Tag": [],
                "Owner": owner,
                "Created_By": self.owners[int(r() * len(self.owners))],
                "Modified_By": owner,
            },
        )
        ids.append(row.id)
        self.domains[row.id] = domain
        if index % 10 == 3:
            self.attachment(row)
        return row

    def contact(self, account: Row) -> Row:
        chance, pick, number = self._chance, self._pick, self._int
        first = pick(FIRST) if chance(0.95) else None
        last = pick(LAST)
        values = account.values
        domain = self.domains.get(account.id) or pick(FREE_MAIL)
        birthday = f"{number(1950, 2000)}-0{number(1, 9)}-1{number(0, 9)}"
        return self._add(
            "Contacts",
            {
                "First_Name": first,
                "Last_Name": last,
                "Full_Name": f"{first} {last}" if first else last,
                "Email": self._email(first, last, domain) if chance(0.85) else None,
                "Phone": values.get("Phone") if chance(0.7) else None,
                "Mobile": self._phone("49") if chance(0.5) else None,
                "Title": pick(TITLES) if chance(0.6) else None,
                "Department": pick(DEPARTMENTS) if chance(0.4) else None,
                "Account_Name": account.id,
                "Date_of_Birth": birthday if chance(0.2) else None,
                "Email_Opt_Out": chance(0.1),
                "Lead_Source": pick(LEAD_SOURCE[1:]) if chance(0.5) else None,
                "Mailing_Street": values.get("Billing_Street"),
                "Mailing_City": values.get("Billing_City"),
                "Mailing_State": values.get("Billing_State"),
                "Mailing_Zip": values.get("Billing_Code"),
                "Mailing_Country": values.get("Billing_Country"),
                "Site": values.get("Billing_City") if chance(0.5) else None,
                "Tag": [],
                **self._people(str(values["Owner"])),
            },
        )

    def deal(self, account: Row, contacts: list[Row], index: int) -> Row:
        chance, pick, number = self._chance, self._pick, self._int
        stage = pick(STAGE_NAMES)
        contact = pick(contacts).id if contacts and chance(0.7) else None
        row = self._add(
            "Deals",
            {
                "Deal_Name": f"{account.values['Account_Name']} – {pick(PRODUCTS)}",  # noqa: RUF001
                "Stage": stage,
                "Pipeline": "Standard (Standard)",
                "Amount": float(number(5, 500) * 100) if chance(0.9) else None,
                "Closing_Date": day(self.anchor + number(-200, 200) * DAY),
                "Probability": STAGES[stage],
                "Account_Name": account.id,
                "Contact_Name": contact,
                "Lead_Source": pick(LEAD_SOURCE[1:]) if chance(0.5) else None,
                "Type": pick(DEAL_TYPE[1:]) if chance(0.7) else None,
                "Next_Step": "Send proposal" if chance(0.3) else None,
                "Tag": [],
                **self._people(str(account.values["Owner"])),
            },
        )
        if index % 5 == 1:
            self.attachment(row)
        return row

    def event(self, account: Row, contacts: list[Row]) -> Row:
        chance, pick, number = self._chance, self._pick, self._int
        start = self.anchor + number(-60, 60) * DAY + number(8, 17) * 3600
        who = pick(contacts).id if contacts and chance(0.5) else None
        return self._add(
            "Events",
            {
                "Event_Title": pick(MEETINGS),
                "Start_DateTime": iso(start),
                "End_DateTime": iso(start + 3600),
                "All_day": False,
                "Venue": account.values.get("Billing_City") if chance(0.4) else None,
                "What_Id": account.id,
                "$se_module": "Accounts",
                "Who_Id": who,
                "Participants": [],
                "Tag": [],
                **self._people(str(account.values["Owner"])),
            },
        )

    def note(self, parent: Row) -> Row:
        title, content = self._pick(NOTES)
        return self._add(
            "Notes",
            {
                "Note_Title": title,
                "Note_Content": content,
                "Parent_Id": parent.id,
                "$se_module": parent.module,
                **self._people(str(parent.values["Owner"])),
            },
        )

    def attachment(self, parent: Row) -> Row:
        row = self._add(
            "Attachments",
            {
                "File_Name": self._pick(FILES),
                "Size": self._int(200, 20_000),
                "Parent_Id": parent.id,
                "$se_module": parent.module,
                **self._people(str(parent.values["Owner"])),
            },
        )
        self.store.blobs[row.id] = self._int(0, (1 << 32) - 1) ^ self.seed
        return row

    def lead(self) -> Row:
        chance, pick = self._chance, self._pick
        first = pick(FIRST) if chance(0.9) else None
        last = pick(LAST)
        company = pick(ACCOUNT_STEMS) if chance(0.9) else None
        city, state, code, country, calling = pick(PLACES)
        domain = (
            f"{ascii_slug(company)[:20]}.com"
            if company and ascii_slug(company)
            else pick(FREE_MAIL)
        )
        return self._add(
            "Leads",
            {
                "First_Name": first,
                "Last_Name": last,
                "Full_Name": f"{first} {last}" if first else last,
                "Company": company,
                "Email": self._email(first, last, domain) if chance(0.8) else None,
                "Phone": self._phone(calling) if chance(0.6) else None,
                "Designation": pick(TITLES) if chance(0.5) else None,
                "Lead_Status": pick(LEAD_STATUS[1:]) if chance(0.9) else None,
                "Lead_Source": pick(LEAD_SOURCE[1:]) if chance(0.7) else None,
                "Industry": pick(INDUSTRY[1:]) if chance(0.4) else None,
                "Email_Opt_Out": chance(0.1),
                "City": city,
                "State": state,
                "Zip_Code": code if chance(0.7) else None,
                "Country": country,
                "Converted__s": False,
                "Tag": [],
                **self._people(),
            },
        )
