"""A seeded generator of a realistic MSP instance: accounts with their sites, each site's
departments and requesters. Same seed and clock, same data.

Realistic means what breaks naive sync code: unicode names and addresses, optional fields
left empty, default sites not always called "... Base Site", the same person (e-mail) as
a requester under two accounts, job titles and VIP flags on some requesters only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from integrate import ascii_slug
from integrate_servicedesk_msp.emulator.modules import ACCOUNTS, DEPARTMENTS, REQUESTERS, SITES
from integrate_servicedesk_msp.emulator.store import Row, Store
from integrate_servicedesk_msp.emulator.writes import Writer

T = TypeVar("T")
DAY_MS = 86_400_000

STEMS = (
    "Acme",
    "Müller & Söhne",
    "Nordlicht",
    "Ōkubo Trading",
    "Łódź Logistics",
    "Café Olé",
    "Brøndby Byg",
    "Sørensen Shipping",
    "Zürich Analytics",
    "Hôtel Bellevue",
    "Pražská Strojírna",
    "Αθηνά Software",
    "Ålesund Fisk",
    "Żabka Retail",
    "Green Valley",
    "Blue Harbour",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin Toys",
    "São Paulo Têxtil",
    "Đà Nẵng Foods",
    "İzmir Bilişim",
    "Kraków Medical",
)
SUFFIXES = ("GmbH", "Ltd", "Inc.", "S.A.", "AG", "sp. z o.o.", "K.K.", "A/S", "LLC", "")
CITIES = (
    ("München", "Bayern", "Germany", "80331"),
    ("Zürich", "ZH", "Switzerland", "8001"),
    ("Kraków", "Małopolskie", "Poland", "30-001"),
    ("Lyon", "Auvergne-Rhône-Alpes", "France", "69001"),
    ("Leeds", "West Yorkshire", "United Kingdom", "LS1 4AP"),
    ("Austin", "TX", "United States", "78701"),
    ("Osaka", "大阪府", "Japan", "530-0001"),
    ("São Paulo", "SP", "Brazil", "01000-000"),
    ("Aarhus", "Midtjylland", "Denmark", "8000"),
    ("Toronto", "ON", "Canada", "M5H 2N2"),
    ("Pune", "Maharashtra", "India", "411001"),
    ("Göteborg", "Västra Götaland", "Sweden", "411 01"),
)
STREETS = (
    "Hauptstraße",
    "Rue de la Paix",
    "Main Street",
    "ulica Długa",
    "Kungsgatan",
    "Øster Allé",
)
FIRST = (
    "Zoë",
    "Jürgen",
    "Aoife",
    "José",
    "Łukasz",
    "Søren",
    "Chloé",
    "Mateo",
    "Priya",
    "Ngozi",
    "Hiroshi",
    "Émilie",
    "Raj",
    "Jane",
    "Olga",
    "Björn",
    "Siobhán",
    "Ana",
    "Kwame",
    "Yasmin",
)
LAST = (
    "Müller",
    "Ní Bhriain",
    "García",
    "Kowalczyk",
    "Østergaard",
    "Dubois",
    "Rao",
    "Okafor",
    "Tanaka",
    "Doe",
    "Ivanova",
    "Åberg",
    "Fernández",
    "Mensah",
    "O'Connor",
    "van der Berg",
    "Nguyễn",
    "Smith",
)
TITLES = ("IT Manager", "Office Manager", "CFO", "Buchhalterin", "Développeur", "Técnico", "CEO")
DEPARTMENT_NAMES = ("IT", "Finance", "Ventes", "Personalabteilung", "経理部", "Logistics", "R&D")
TLDS = ("example", "example.com", "example.de", "example.co.uk", "example.pl")


@dataclass
class Sizes:
    accounts: int = 0
    sites_per_account: int = 1  # the default site included
    departments_per_site: int = 2  # "General" included
    requesters_per_site: int = 2


class Generator:
    def __init__(self, store: Store, seed: int, anchor_ms: int, job_title: str):
        self.store = store
        self.rng = random.Random(seed)
        self.anchor = anchor_ms
        self.job_title = job_title
        self.names: set[str] = set()
        self.people: list[dict[str, Any]] = []  # requesters made so far (for shared e-mails)

    def _chance(self, chance: float) -> bool:
        return self.rng.random() < chance

    def _pick(self, items: Sequence[T]) -> T:
        return items[int(self.rng.random() * len(items))]

    def _maybe(self, chance: float, value: str) -> str | None:
        return value if self._chance(chance) else None

    def _writer(self, after: int | None = None) -> Writer:
        """A writer whose records are made at a past moment (after `after`, if given)."""
        earliest = after if after is not None else self.anchor - 700 * DAY_MS
        created = earliest + int(self.rng.random() * (self.anchor - DAY_MS - earliest))
        return Writer(self.store, created, "account")

    def _touch(self, row: Row) -> None:
        if self._chance(0.6):
            row.modified = row.created + int(self.rng.random() * (self.anchor - row.created))
            self.store.version += 1

    def run(self, sizes: Sizes) -> None:
        for _ in range(sizes.accounts):
            self.account(sizes)

    def _account_name(self) -> str:
        while True:
            name = f"{self._pick(STEMS)} {self._pick(SUFFIXES)}".strip()
            if name in self.names:
                name = f"{name} {len(self.names) + 1}"
            if name not in self.names:
                self.names.add(name)
                return name

    def account(self, sizes: Sizes) -> None:
        name = self._account_name()
        city, state, country, code = self._pick(CITIES)
        domain = f"{ascii_slug(name)[:12] or 'firma'}.{self._pick(TLDS)}"
        data: dict[str, Any] = {
            "name": name,
            "description": self._maybe(0.4, f"Managed since {2010 + int(self.rng.random() * 15)}"),
            "street": self._maybe(0.8, f"{self._pick(STREETS)} {1 + int(self.rng.random() * 120)}"),
            "city": self._maybe(0.9, city),
            "state": self._maybe(0.6, state),
            "postal_code": self._maybe(0.7, code),
            "country": country,
            "email_id": self._maybe(0.7, f"it@{domain}"),
            "phone": self._maybe(
                0.6,
                f"+{1 + int(self.rng.random() * 98)} {1000000 + int(self.rng.random() * 8999999)}",
            ),
            "web_url": self._maybe(0.5, f"https://www.{domain}"),
        }
        if self._chance(0.3):
            data["udf_fields"] = {"udf_char1": f"CRM-{int(self.rng.random() * 100000):05d}"}
        if self._chance(0.6):
            data["default_site"] = {"name": f"{city} HQ"}
        writer = self._writer()
        account = writer.create(ACCOUNTS, {k: v for k, v in data.items() if v is not None})
        self._touch(account)
        sites = [self.store.by_id[account.values["default_site"]]]
        cities = [c for c in CITIES if c[0] != city]
        for i in range(max(0, sizes.sites_per_account - 1)):
            other = cities[i % len(cities)]
            site = writer.create(
                SITES,
                {
                    "name": f"{other[0]} Office",
                    "account": {"id": account.id},
                    "city": other[0],
                    "country": other[2],
                },
            )
            sites.append(site)
        for site in sites:
            departments = [self.store.general(site.id)]
            names = list(DEPARTMENT_NAMES)
            for _ in range(max(0, sizes.departments_per_site - 1)):
                if not names:
                    break
                pick = names.pop(int(self.rng.random() * len(names)))
                departments.append(
                    writer.create(DEPARTMENTS, {"name": pick, "site": {"id": site.id}})
                )
            for _ in range(sizes.requesters_per_site):
                department = self._pick([d for d in departments if d is not None])
                self.requester(account, site, department, domain)

    def requester(self, account: Row, site: Row, department: Row, domain: str) -> None:
        first, last = self._pick(FIRST), self._pick(LAST)
        data: dict[str, Any] = {
            "name": f"{first} {last}",
            "first_name": first,
            "last_name": last,
            "account": {"id": account.id},
            "site": {"id": site.id},
            "department": {"id": department.id},
            "is_vipuser": self._chance(0.1),
        }
        email: str | None = f"{ascii_slug(first)}.{ascii_slug(last)}@{domain}"
        if self.people and self._chance(0.05):  # a consultant working for two customers
            other = self._pick(self.people)
            if other["account"]["id"] != account.id:
                data.update(
                    name=other["name"], first_name=other["first_name"], last_name=other["last_name"]
                )
                email = other.get("email_id")
        elif self._chance(0.1):
            email = None
        if email is not None:
            taken = self.store.holder((REQUESTERS, account.id, email.casefold()))
            if taken is not None:
                email = f"{ascii_slug(first)}.{ascii_slug(last)}{len(self.people)}@{domain}"
            data["email_id"] = email
        for key, chance, value in (
            (
                "phone",
                0.6,
                f"+44 20 {7000 + int(self.rng.random() * 2999)} {1000 + int(self.rng.random() * 8999)}",
            ),
            ("mobile", 0.4, f"+49 151 {10000000 + int(self.rng.random() * 89999999)}"),
            (self.job_title, 0.7, self._pick(TITLES)),
        ):
            if self._chance(chance):
                data[key] = value
        row = self._writer(after=account.created).create(REQUESTERS, data)
        self._touch(row)
        self.people.append(data)
