"""A seeded generator of an account's contacts: same seed and clock, same data.

Realistic means what breaks naive sync code: unicode names and addresses, fields left
empty, birthdays on some contacts only, the four states, tags and properties on some,
contacts owned by different users, opted-out contacts, and modification times spread over
the past year with some contacts sharing a millisecond (an import makes many at once).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from integrate import ascii_slug
from integrate_salesmanago.emulator.store import ADDRESS_KEYS, CONTACTS, Store, blank

DAY_MS = 86_400_000
FIRST = (
    *("Zoë", "Jürgen", "Aoife", "José", "Łukasz", "Søren", "Chloé", "Ana", "Priya", "Kenji"),
    *("Małgorzata", "Ólafur", "Nuño", "Anja", "Émile", "Zuzanna", "Tomás", "Ingrid"),
)
LAST = (
    *("Nowak", "Müller", "Kowalczyk", "O'Brien", "García", "Østergaard", "Dvořák", "Lefèvre"),
    *("Wiśniewska", "Nakamura", "van der Berg", "Smith", "Şahin", "Rossi", "Jönsson"),
)
COMPANIES = (
    *("Acme Corp", "Żabka Retail", "Müller & Söhne GmbH", "Café Olé", "Northwind"),
    *("Kraków Medical sp. z o.o.", "Nordlicht AG", "São Paulo Têxtil", "Globex", None),
)
PLACES = (
    ("ul. Piotrkowska 1", "90-001", "Łódź", "PL"),
    ("Marszałkowska 10", "00-001", "Warszawa", "PL"),
    ("Hauptstraße 5", "80331", "München", "DE"),
    ("Rue de la Paix 3", "75002", "Paris", "FR"),
    ("Main Street 12", "78701", "Austin", "US"),
    ("Kungsgatan 7", "411 19", "Göteborg", "SE"),
)
STATES = ("PROSPECT", "PROSPECT", "PROSPECT", "CUSTOMER", "CUSTOMER", "PARTNER", "OTHER")
TAGS = ("NEWSLETTER", "VIP", "WEBINAR_2024", "LEAD_COLD", "ZOHO_CRM")


def generate(store: Store, count: int, users: Sequence[str], seed: int, now_ms: int) -> None:
    """Add `count` contacts owned by `users`, created and modified in the year before now
    (or since 1970, whichever is shorter)."""
    rng = random.Random(f"salesmanago-generator:{seed}")
    span = max(2, min(365 * DAY_MS, now_ms))  # never before 1970, on a clock that starts early
    created = now_ms
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}.{n}@{rng.choice(('example.com', 'example.pl', 'mail.example'))}"
        if not (rng.random() < 0.05 and n):  # else imported together with the one before
            created = now_ms - rng.randrange(1, span)
        modified = created if rng.random() < 0.4 else rng.randrange(created, now_ms)
        values = blank(email, rng.choice(list(users)))
        values["state"] = rng.choice(STATES)
        values["optedOut"] = rng.random() < 0.15
        values["optedOutPhone"] = rng.random() < 0.3
        values["fields"] = {
            "name": f"{first} {last}",
            "phone": f"+48 {rng.randrange(500, 800)} {rng.randrange(100, 999)} {rng.randrange(100, 999)}"
            if rng.random() < 0.7
            else None,
            "fax": f"+48 22 {rng.randrange(100, 999)} {rng.randrange(10, 99)}"
            if rng.random() < 0.1
            else None,
            "company": rng.choice(COMPANIES),
            "externalId": None,
        }
        if rng.random() < 0.6:
            values["address"] = dict(zip(ADDRESS_KEYS, rng.choice(PLACES), strict=True))
        if rng.random() < 0.3:
            values["birthday"] = [
                rng.randrange(1950, 2005),
                rng.randrange(1, 13),
                rng.randrange(1, 29),
            ]
        for tag in rng.sample(TAGS, rng.randrange(0, 3)):
            values["tags"][tag] = created
        if rng.random() < 0.2:
            values["properties"]["industry"] = rng.choice(("Retail", "Logistics", "Medical"))
        store.add(CONTACTS, values, created, modified)
