"""What the clientsuccess tests share: an emulator and a connector on one fake clock, a
read helper, and a client and a contact with every writable field set."""

from __future__ import annotations

from typing import Any

from integrate import ConnectorContext, FakeClock, WriteItem
from integrate.oauth import MemoryTokenCache
from integrate_clientsuccess import ClientSuccessConnector
from integrate_clientsuccess.emulator import ClientSuccessEmulator

START = 1_790_000_000.0


def account(**options: Any) -> tuple[ClientSuccessEmulator, FakeClock]:
    clock = FakeClock(START)
    options.setdefault("clients", 3)
    options.setdefault("contacts_per_client", 2)
    return ClientSuccessEmulator(clock=clock, **options), clock


def connect(
    emulator: ClientSuccessEmulator, clock: FakeClock, **config: Any
) -> ClientSuccessConnector:
    context = ConnectorContext(
        connection="cs", transport=emulator.transport(), clock=clock, tokens=MemoryTokenCache()
    )
    return ClientSuccessConnector({**emulator.connection_config(), **config}, context)


def read(
    connector: ClientSuccessConnector, object: str = "clients", since: Any = None, **kw: Any
) -> tuple[list[dict[str, Any]], Any]:
    records: list[dict[str, Any]] = []
    cursor = since
    for page in connector.read(object, since=since, **kw):
        records.extend(page.records)
        if page.cursor is not None:
            cursor = page.cursor
    return records, cursor


def item(ref: int = 0, id: Any = None, keys: tuple[str, ...] = (), **values: Any) -> WriteItem:
    return WriteItem(ref=ref, values=values, id=None if id is None else str(id), keys=keys)


def full_client(n: int = 1) -> dict[str, Any]:
    """A client with every writable field of the v1 API set, custom values included."""
    return {
        "name": f"Everything {n}",
        "siteUrl": f"https://everything{n}.example",
        "clientSegmentId": 2,
        "statusId": 3,
        "active": True,
        "successScore": 77,
        "npsScore": -12,
        "externalId": f"zcrm_full_{n}",
        "crmCustomerId": 4242 + n,
        "crmCustomerUrl": f"https://crm.example/{n}",
        "salesforceAccountId": "001A000001abcdEFG",
        "zendeskId": "zd-1",
        "deskId": "desk-1",
        "freshdeskId": "fd-1",
        "uservoiceId": "uv-1",
        "jiraId": "JIRA-1",
        "usageId": "usage-1",
        "street": "1 Long Road",
        "city": "Austin",
        "state": "TX",
        "zip": "73301",
        "country": "US",
        "timezone": "America/Chicago",
        "note": "Keep every field",
        "inceptionDate": "2024-01-05",
        "terminatedDate": "2030-06-30",
        "managedByEmployeeId": 2,
        "assignedSalesRep": "Kwame Mensah",
        "assignedSalesRepId": 4,
        "successCycleId": 7,
        "activeClientSuccessCycleId": 8,
        "keyContactId": 9,
        "currencyId": 1,
        "linkedinUrl": "https://linkedin.example/everything",
        "customFieldValues": [
            {"label": "Zoho Owner", "value": "Avery Quinn"},
            {"label": "Renewal Date", "value": "2027-01-01"},
            {"label": "Contract Value", "value": "12000"},
            {"label": "Health Notes", "value": "Green"},
        ],
    }


def full_contact(client_id: Any, n: int = 1) -> dict[str, Any]:
    """A contact with every writable field of the v1 API set, custom values included."""
    return {
        "clientId": client_id,
        "statusId": 1,
        "firstName": "Jane",
        "lastName": f"Doe{n}",
        "preferredName": "JD",
        "email": f"jane.doe{n}@everything.example",
        "phone": "+1 555 0100",
        "mobile": "+1 555 0101",
        "title": "IT Manager",
        "linkedinUrl": "https://linkedin.example/jane",
        "note": "Every field",
        "street": "2 Short Lane",
        "city": "Austin",
        "zip": "73301",
        "country": "US",
        "timezone": "America/Chicago",
        "externalId": f"zcrm_contact_full_{n}",
        "salesforceId": "003A000001abcdEFG",
        "usageId": "usage-c1",
        "executiveSponsor": True,
        "advocate": True,
        "champion": True,
        "starred": True,
        "keyContact": True,
        "photoUrl": "https://photos.example/jane.png",
        "contactState": "engaged",
        "customFieldValues": [
            {"label": "Zoho Contact Owner", "value": "Inès Laurent"},
            {"label": "Preferred Language", "value": "fr"},
            {"label": "Newsletter", "value": "true"},
        ],
    }
