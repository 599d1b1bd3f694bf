"""A seeded generator of an account's clients and their contacts: same seed and clock, same
data. Realistic means what breaks naive sync code: names and addresses from many countries,
fields left empty, some clients with an `externalId` (a CRM id) and most without, inactive
and terminated clients, custom values on some, contacts without an email or a last name, and
creation and modification times spread over the past year."""

from __future__ import annotations

import random
from typing import Any

from integrate import StoredRow, ascii_slug
from integrate_clientsuccess.emulator.catalogue import CLIENT_FIELDS, CONTACT_FIELDS, Catalogue
from integrate_clientsuccess.emulator.records import CLIENT_FIELDS as CLIENT_KEYS
from integrate_clientsuccess.emulator.records import CONTACT_BOOLEANS
from integrate_clientsuccess.emulator.records import CONTACT_FIELDS as CONTACT_KEYS
from integrate_clientsuccess.emulator.store import CLIENTS, CONTACTS, Store
from integrate_clientsuccess.emulator.values import iso_time

DAY_MS = 86_400_000
STEMS = (
    *("Acme", "Northwind", "Żabka", "Müller", "Café Olé", "Nordlicht", "São Paulo Têxtil"),
    *("Globex", "Initech", "Umbrella", "Hooli", "Kraków Medical", "Łódź Logistics", "Østfold"),
    *("Sakura", "Blue Harbor", "Pinecrest", "Riverbend", "Lumière", "Dvořák & Partners"),
)
SUFFIXES = ("Inc.", "GmbH", "Ltd", "sp. z o.o.", "SA", "AB", "LLC", "", "Group", "KK")
PLACES = (
    ("100 Congress Ave", "Austin", "TX", "78701", "US", "America/Chicago"),
    ("1 Market St", "San Francisco", "CA", "94105", "US", "America/Los_Angeles"),
    ("Hauptstraße 5", "München", "BY", "80331", "DE", "Europe/Berlin"),
    ("ul. Piotrkowska 1", "Łódź", None, "90-001", "PL", "Europe/Warsaw"),
    ("Rue de la Paix 3", "Paris", None, "75002", "FR", "Europe/Paris"),
    ("Kungsgatan 7", "Göteborg", None, "411 19", "SE", "Europe/Stockholm"),
    ("Av. Paulista 1000", "São Paulo", "SP", "01310-100", "BR", "America/Sao_Paulo"),
    ("1-1 Marunouchi", "Tōkyō", None, "100-0005", "JP", "Asia/Tokyo"),
)
FIRST = (
    *("Zoë", "Jürgen", "Aoife", "José", "Łukasz", "Søren", "Chloé", "Ana", "Priya", "Kenji"),
    *("Małgorzata", "Ólafur", "Nuño", "Anja", "Émile", "Zuzanna", "Tomás", "Ingrid", "Jane"),
)
LAST = (
    *("Nowak", "Müller", "Kowalczyk", "O'Brien", "García", "Østergaard", "Dvořák", "Lefèvre"),
    *("Wiśniewska", "Nakamura", "van der Berg", "Smith", "Şahin", "Rossi", "Jönsson", "Doe"),
)
TITLES = ("CEO", "CFO", "IT Manager", "Head of Operations", "Office Manager", None, None)
STATUS_WEIGHTS = ((1, 70), (2, 12), (3, 10), (4, 8))


def generate(
    store: Store, catalogue: Catalogue, clients: int, per_client: int, seed: int, now: int
) -> None:
    """Add `clients` clients with `per_client` contacts each (some fewer, some more), made in
    the year before `now` (or since 1970, whichever is shorter)."""
    rng = random.Random(f"clientsuccess-generator:{seed}")
    span = max(2, min(365 * DAY_MS, now))
    for n in range(clients):
        created = now - rng.randrange(1, span)
        modified = created if rng.random() < 0.3 else rng.randrange(created, now)
        client = store.put(_client(store, catalogue, rng, n, created, modified))
        count = max(0, per_client + rng.choice((-1, 0, 0, 0, 1))) if per_client else 0
        domain = _domain(client.values["name"], n)
        for _ in range(count):
            store.put(_contact(store, catalogue, rng, client, domain, created))


def _client(
    store: Store, catalogue: Catalogue, rng: random.Random, n: int, created: int, modified: int
) -> StoredRow:
    name = f"{rng.choice(STEMS)} {rng.choice(SUFFIXES)}".strip()
    if rng.random() < 0.3:
        name = f"{name} ({n + 1})"  # names repeat in real accounts; these differ a little
    street, city, state, zip, country, zone = rng.choice(PLACES)
    status = rng.choices([s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS])[0]
    inception = created - rng.randrange(0, 400) * DAY_MS
    values: dict[str, Any] = {f.name: None for f in CLIENT_KEYS}
    values.update(
        name=name,
        siteUrl=f"https://www.{_domain(name, n)}",
        statusId=status,
        active=status != 4 and rng.random() < 0.95,
        clientSegmentId=rng.choice([*catalogue.segments, None]) if catalogue.segments else None,
        successScore=rng.randrange(20, 101),
        npsScore=rng.choice((None, None, rng.randrange(-100, 101))),
        externalId=f"zcrm_4876000000{rng.randrange(100000, 999999)}{n}"
        if rng.random() < 0.4
        else None,
        street=street if rng.random() < 0.85 else None,
        city=city,
        state=state,
        zip=zip,
        country=country,
        timezone=zone if rng.random() < 0.7 else None,
        inceptionDate=_day(inception),
        terminatedDate=_day(modified) if status == 4 else None,
        managedByEmployeeId=rng.choice([*catalogue.employees, None]),
        note="Renewal call booked." if rng.random() < 0.1 else None,
    )
    id = store.new_id()
    values["uuid"] = store.uuid_for(CLIENTS, id)
    values["createdByEmployeeId"] = values["modifiedByEmployeeId"] = 1
    values["custom"] = {}
    if rng.random() < 0.5:
        owner = catalogue.employee_name(rng.choice(list(catalogue.employees)))
        values["custom"][str(CLIENT_FIELDS[0].id)] = [int(store.new_id()), owner]
    if rng.random() < 0.4:
        renewal = _day(created + rng.randrange(200, 500) * DAY_MS)
        values["custom"][str(CLIENT_FIELDS[1].id)] = [int(store.new_id()), renewal]
    return StoredRow(id, CLIENTS, values, created, modified)


def _contact(
    store: Store,
    catalogue: Catalogue,
    rng: random.Random,
    client: StoredRow,
    domain: str,
    created: int,
) -> StoredRow:
    first: str = rng.choice(FIRST)
    last: str | None = rng.choice(LAST)
    roll = rng.random()
    if roll < 0.05:
        last = None
    email = f"{ascii_slug(first)}.{ascii_slug(last or 'x')}@{domain}" if roll > 0.1 else None
    values: dict[str, Any] = {f.name: None for f in CONTACT_KEYS}
    values.update(dict.fromkeys(CONTACT_BOOLEANS, False))
    values.update(
        firstName=first,
        lastName=last,
        email=email,
        title=rng.choice(TITLES),
        phone=f"+1 555 {rng.randrange(1000, 9999)}" if rng.random() < 0.6 else None,
        mobile=f"+1 555 {rng.randrange(1000, 9999)}" if rng.random() < 0.3 else None,
        city=client.values["city"],
        country=client.values["country"],
        externalId=f"zcrm_contact_{rng.randrange(10**6, 10**7)}" if rng.random() < 0.3 else None,
        executiveSponsor=rng.random() < 0.1,
        champion=rng.random() < 0.2,
        keyContact=rng.random() < 0.15,
    )
    id = store.new_id()
    values["uuid"] = store.uuid_for(CONTACTS, id)
    values["clientId"] = int(client.id)
    values["lastEngagement"] = None
    values["engagementCount"] = rng.randrange(0, 40)
    values["custom"] = {}
    if rng.random() < 0.3:
        language = rng.choice(("English", "Deutsch", "Polski", "Français"))
        values["custom"][str(CONTACT_FIELDS[1].id)] = [int(store.new_id()), language]
    return StoredRow(id, CONTACTS, values, created, created)


def _domain(name: str, n: int) -> str:
    return f"{ascii_slug(name)[:20] or 'client'}{n}.example"


def _day(ms: int) -> str:
    return iso_time(max(0, ms))[:10]
