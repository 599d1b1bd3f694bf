"""The modules the emulator serves (§1.7) and the fields each one has.

Four stores: accounts, sites, departments, requesters. The URL names map onto them:
`accounts` and `customers` are one store (MSP Cloud calls accounts customers, §1.7.1);
`users` is the on-premises name of requesters (§1.7.4: `/api/v3/users` with
`{"user": ...}` on-premises; Cloud answers 404 for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ACCOUNTS = "accounts"
SITES = "sites"
DEPARTMENTS = "departments"
REQUESTERS = "requesters"
STORES = (ACCOUNTS, SITES, DEPARTMENTS, REQUESTERS)

GENERAL = "General"  # every site's default department (§1.7, ASSUMED for new sites)
READ_ONLY_FIELDS = frozenset({"id", "created_time", "last_updated_time"})
JOB_TITLES = ("job_title", "jobtitle")  # both accepted, echoed as received (§1.7.4)
OWNER_KEYS = ("account", "customer")

_ADDRESS = (
    "door_no",
    "street",
    "landmark",
    "city",
    "postal_code",
    "state",
    "country",
    "email_id",
    "phone",
    "fax",
    "web_url",
)


@dataclass(frozen=True)
class Module:
    """One store: its text attributes (strings or null) and the special fields the writer
    handles itself (lookups, flags, udf containers)."""

    store: str
    text: tuple[str, ...]
    special: tuple[str, ...]
    mandatory: tuple[str, ...]  # "owner" stands for `account` / `customer`

    def known(self, owner: str) -> frozenset[str]:
        special = [owner if s == "owner" else s for s in self.special]
        return frozenset((*self.text, *special))

    def rendered(self, owner: str) -> tuple[str, ...]:
        """The keys of a rendered record, in order (job title spelt later per record)."""
        special = [owner if s == "owner" else s for s in self.special]
        return ("id", *self.text, *special, "created_time", "last_updated_time")


MODULES: dict[str, Module] = {
    ACCOUNTS: Module(
        ACCOUNTS,
        ("name", "description", "login_url", *_ADDRESS, "support_email", "domain"),
        ("default_site", "udf_fields"),
        ("name",),
    ),
    SITES: Module(
        SITES,
        ("name", "description", *_ADDRESS),
        ("owner", "region", "time_zone"),
        ("name", "owner"),
    ),
    DEPARTMENTS: Module(DEPARTMENTS, ("name", "description"), ("site",), ("name", "site")),
    REQUESTERS: Module(
        REQUESTERS,
        (
            "name",
            "first_name",
            "middle_name",
            "last_name",
            "employee_id",
            "email_id",
            "phone",
            "mobile",
            "sms_mail_id",
            "description",
        ),
        (
            "owner",
            "site",
            "department",
            "is_vipuser",
            "secondary_emailids",
            "user_udf_fields",
            *JOB_TITLES,
        ),
        ("name", "owner"),
    ),
}


@dataclass(frozen=True)
class Path:
    """A module as a URL names it: its store, the key of one record in bodies, the key of
    the list in list answers."""

    name: str
    store: str
    entity: str
    cloud: bool = True  # served on MSP Cloud
    on_premises: bool = True


PATHS: dict[str, Path] = {
    "accounts": Path("accounts", ACCOUNTS, "account"),
    "customers": Path("customers", ACCOUNTS, "customer"),
    "sites": Path("sites", SITES, "site"),
    "departments": Path("departments", DEPARTMENTS, "department"),
    "requesters": Path("requesters", REQUESTERS, "requester"),
    "users": Path("users", REQUESTERS, "user", cloud=False),
}
ALIASES = {
    "accounts": "customers",
    "customers": "accounts",
    "requesters": "users",
    "users": "requesters",
}


def store_of(name: str) -> str:
    """The store an object name (URL name or store name) means; KeyError if none."""
    path = PATHS.get(name.lower())
    if path is None:
        raise KeyError(f"ServiceDesk Plus MSP has no module {name!r}")
    return path.store


def owner_key(accounts_module: str) -> str:
    """`account` or `customer`: the key a site or requester names its account with."""
    if accounts_module not in ("accounts", "customers"):
        raise ValueError(f"accounts_module is 'accounts' or 'customers', not {accounts_module!r}")
    return "customer" if accounts_module == "customers" else "account"


def mandatory_fields_of(given: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Instance-configured mandatory fields by store (§1.9 gotcha 8); `account`/`customer`
    mean the owner lookup."""
    out: dict[str, tuple[str, ...]] = {}
    for name, fields in given.items():
        store = store_of(name)
        module = MODULES[store]
        names = tuple("owner" if f in OWNER_KEYS else f for f in fields)
        unknown = [f for f in names if f != "owner" and f not in module.known("account")]
        if unknown:
            raise ValueError(f"{name} has no field {unknown[0]!r}")
        out[store] = names
    return out
