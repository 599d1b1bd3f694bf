"""The emulated org's modules and their field catalogues (Zoho CRM v8, §4 of the reference).

One `Module` per API module, each with the fields a default Zoho org has plus the custom
fields the project's specs use. Everything the emulator checks, lists or renders (value
types, mandatory fields, metadata answers) comes from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

ORG = "5725767"  # every id in the emulated org starts with this (19-digit ids, §4.2)
LAYOUT = {"name": "Standard", "id": f"{ORG}000000091055"}  # every record's layout

JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "picklist": "string",
    "date": "string",
    "datetime": "string",
    "autonumber": "string",
    "bigint": "string",
    "integer": "integer",
    "double": "double",
    "currency": "double",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "userlookup": "jsonobject",
    "layout": "jsonobject",
    "profileimage": "string",
    "multiselectpicklist": "jsonarray",
    "tag": "jsonarray",
    "participants": "jsonarray",
}

# Zoho's ui_type numbers for the metadata answers (cosmetic, but clients sometimes log them).
UI_TYPES = {
    "text": 1,
    "textarea": 3,
    "email": 25,
    "phone": 33,
    "website": 21,
    "picklist": 2,
    "date": 24,
    "datetime": 333,
    "autonumber": 1,
    "bigint": 1,
    "integer": 32,
    "double": 38,
    "currency": 36,
    "boolean": 301,
    "lookup": 133,
    "ownerlookup": 8,
    "userlookup": 133,
    "layout": 1,
    "profileimage": 1,
    "multiselectpicklist": 100,
    "tag": 1,
    "participants": 1,
}


@dataclass(frozen=True)
class Field:
    api_name: str
    label: str
    data_type: str
    length: int = 255
    system_mandatory: bool = False
    read_only: bool = False
    custom_field: bool = False
    lookup: str | None = None  # target module of a lookup ("*" = the one named by $se_module)
    picklist: tuple[str, ...] = ()
    id: str = ""

    @property
    def json_type(self) -> str:
        return JSON_TYPES[self.data_type]


@dataclass(frozen=True)
class Related:
    """A related list of a module: the child module and the child's field pointing back."""

    api_name: str
    module: str
    field: str  # the child's lookup (Parent_Id / What_Id / Account_Name ...)
    id: str = ""


@dataclass(frozen=True)
class Module:
    api_name: str
    singular: str
    id: str
    fields: tuple[Field, ...]
    display_field: str  # whose value is a record's name in lookups
    duplicate_check: tuple[str, ...] = ()  # the system duplicate-check field(s) for upsert
    related: tuple[Related, ...] = ()
    convertable: bool = False
    sequence: int = 0
    by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)
    lookups: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # field list -> how each field renders (worked out once: see store._plan)
    plans: dict[tuple[str, ...] | None, tuple[tuple[str, str], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        self.by_name.update({f.api_name: f for f in self.fields})
        names = tuple(f.api_name for f in self.fields if f.data_type == "lookup")
        object.__setattr__(self, "lookups", names)

    @property
    def plural(self) -> str:
        return self.api_name.replace("_", " ")

    @property
    def mandatory(self) -> list[str]:
        return [f.api_name for f in self.fields if f.system_mandatory]

    def with_field(self, added: Field) -> Module:
        """This module with one more (custom) field, its id the next of the module's."""
        number = f"{ORG}{self.sequence:06d}{len(self.fields) + 1:06d}"
        fields = (*self.fields, replace(added, id=number, custom_field=True))
        return replace(self, fields=fields, by_name={}, lookups=(), plans={})

    def related_list(self, name: str) -> Related | None:
        for rel in self.related:
            if rel.api_name.lower() == name.lower():
                return rel
        return None


def _picklist(*values: str) -> tuple[str, ...]:
    return ("-None-", *values)


LEAD_SOURCE = _picklist(
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Sales Email Alias",
    "Seminar Partner",
    "Internal Seminar",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
INDUSTRY = _picklist(
    "ASP (Application Service Provider)",
    "Communications",
    "Consulting",
    "Education",
    "Financial Services",
    "Government/Military",
    "Healthcare",
    "Large Enterprise",
    "Manufacturing",
    "MSP (Management Service Provider)",
    "Real Estate",
    "Small/Medium Enterprise",
    "Systems Integrator",
    "Technology",
)
ACCOUNT_TYPE = _picklist(
    "Analyst",
    "Competitor",
    "Customer",
    "Distributor",
    "Integrator",
    "Investor",
    "Other",
    "Partner",
    "Press",
    "Prospect",
    "Reseller",
    "Supplier",
    "Vendor",
)
ACCOUNT_STATUS = _picklist("Prospect", "Onboarding", "Customer", "At Risk", "Former Customer")
OWNERSHIP = _picklist("Other", "Private", "Public", "Subsidiary", "Partnership", "Government")
SALUTATION = _picklist("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.")
ENRICH_STATUS = _picklist("Available", "Enriched", "Data not found")
UNSUBSCRIBED_MODE = _picklist("Consent form", "Manual", "Unsubscribe link", "Zoho Campaigns")
SUPPORT_PLAN = _picklist("Basic", "Standard", "Premium", "24/7")
REGION = _picklist(
    "DACH", "Nordics", "Benelux", "UK & Ireland", "Iberia", "CEE", "APAC", "Americas"
)
LOSS_REASON = _picklist("Price", "Lost to competitor", "No budget", "No decision", "Other")
LEAD_STATUS = _picklist(
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
)
STAGES = {
    "Qualification": 10,
    "Needs Analysis": 20,
    "Value Proposition": 40,
    "Identify Decision Makers": 60,
    "Proposal/Price Quote": 75,
    "Negotiation/Review": 90,
    "Closed Won": 100,
    "Closed Lost": 0,
    "Closed Lost to Competition": 0,
}
DEAL_TYPE = _picklist("Existing Business", "New Business")
RATING = _picklist("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")


def _system(*, owner: bool = True) -> list[Field]:
    """The fields every record module has."""
    fields = [Field("id", "Record Id", "bigint", 19, read_only=True)]
    if owner:
        fields.append(Field("Owner", "Owner", "ownerlookup", 120, lookup="Users"))
    fields += [
        Field("Created_By", "Created By", "ownerlookup", 120, read_only=True, lookup="Users"),
        Field("Modified_By", "Modified By", "ownerlookup", 120, read_only=True, lookup="Users"),
        Field("Created_Time", "Created Time", "datetime", 120, read_only=True),
        Field("Modified_Time", "Modified Time", "datetime", 120, read_only=True),
        Field("Tag", "Tag", "tag", 2000),
    ]
    return fields


def _business() -> list[Field]:
    """System fields of the business modules (Leads, Contacts, Accounts, Deals)."""
    return [
        Field("Last_Activity_Time", "Last Activity Time", "datetime", 120, read_only=True),
        Field("Layout", "Layout", "layout", 120),
        Field("Locked__s", "Locked", "boolean", read_only=True),
        Field("Change_Log_Time__s", "Change Log Time", "datetime", 120, read_only=True),
    ]


def _people_extras() -> list[Field]:
    """What Zoho adds to modules that hold people and companies (enrichment, consent)."""
    return [
        Field("Record_Image", "Record Image", "profileimage", 255, read_only=True),
        Field(
            "Enrich_Status__s",
            "Enrich Status",
            "picklist",
            120,
            read_only=True,
            picklist=ENRICH_STATUS,
        ),
        Field("Last_Enriched_Time__s", "Last Enriched Time", "datetime", 120, read_only=True),
        Field(
            "Unsubscribed_Mode",
            "Unsubscribed Mode",
            "picklist",
            120,
            read_only=True,
            picklist=UNSUBSCRIBED_MODE,
        ),
        Field("Unsubscribed_Time", "Unsubscribed Time", "datetime", 120, read_only=True),
    ]


def _address(prefix: str, code: str) -> list[Field]:
    return [
        Field(f"{prefix}_Street", f"{prefix} Street", "text", 250),
        Field(f"{prefix}_City", f"{prefix} City", "text", 100),
        Field(f"{prefix}_State", f"{prefix} State", "text", 100),
        Field(f"{prefix}_{code}", f"{prefix} {code}", "text", 30),
        Field(f"{prefix}_Country", f"{prefix} Country", "text", 100),
    ]


ACCOUNTS = [
    Field("Account_Name", "Account Name", "text", 200, system_mandatory=True),
    Field("Account_Site", "Account Site", "text", 80),
    Field("Account_Number", "Account Number", "text", 40),
    Field("Ticker_Symbol", "Ticker Symbol", "text", 30),
    Field("Ownership", "Ownership", "picklist", 120, picklist=OWNERSHIP),
    Field("SIC_Code", "SIC Code", "integer", 9),
    Field("Account_Type", "Account Type", "picklist", 120, picklist=ACCOUNT_TYPE),
    Field("Industry", "Industry", "picklist", 120, picklist=INDUSTRY),
    Field("Rating", "Rating", "picklist", 120, picklist=RATING),
    Field("Phone", "Phone", "phone", 30),
    Field("Fax", "Fax", "phone", 30),
    Field("Website", "Website", "website", 255),
    Field("Annual_Revenue", "Annual Revenue", "currency", 16),
    Field("Employees", "Employees", "integer", 9),
    Field("Parent_Account", "Parent Account", "lookup", 120, lookup="Accounts"),
    Field("Description", "Description", "textarea", 32000),
    *_address("Billing", "Code"),
    *_address("Shipping", "Code"),
    Field(
        "Account_Status",
        "Account Status",
        "picklist",
        120,
        custom_field=True,
        picklist=ACCOUNT_STATUS,
    ),
    Field("Sync_with_ClientSuccess", "Sync with ClientSuccess", "boolean", custom_field=True),
    Field("Customer_Start_Date", "Customer Start Date", "date", custom_field=True),
    Field("Contract_End_Date", "Contract End Date", "date", custom_field=True),
    Field(
        "Support_Plan", "Support Plan", "picklist", 120, custom_field=True, picklist=SUPPORT_PLAN
    ),
    Field("Region", "Region", "picklist", 120, custom_field=True, picklist=REGION),
    Field(
        "Customer_Success_Manager",
        "Customer Success Manager",
        "userlookup",
        120,
        custom_field=True,
        lookup="Users",
    ),
    Field("Number_of_Licences", "Number of Licences", "integer", 9, custom_field=True),
    Field("Monthly_Recurring_Revenue", "MRR", "currency", 16, custom_field=True),
    Field("VAT_Number", "VAT Number", "text", 30, custom_field=True),
    Field("Onboarding_Completed", "Onboarding Completed", "boolean", custom_field=True),
    *_business(),
    *_people_extras(),
]

CONTACTS = [
    Field("Salutation", "Salutation", "picklist", 120, picklist=SALUTATION),
    Field("First_Name", "First Name", "text", 40),
    Field("Last_Name", "Last Name", "text", 80, system_mandatory=True),
    Field("Full_Name", "Contact Name", "text", 255, read_only=True),
    Field("Email", "Email", "email", 100),
    Field("Secondary_Email", "Secondary Email", "email", 100),
    Field("Phone", "Phone", "phone", 30),
    Field("Mobile", "Mobile", "phone", 30),
    Field("Home_Phone", "Home Phone", "phone", 30),
    Field("Other_Phone", "Other Phone", "phone", 30),
    Field("Fax", "Fax", "phone", 30),
    Field("Assistant", "Assistant", "text", 40),
    Field("Asst_Phone", "Asst Phone", "phone", 30),
    Field("Skype_ID", "Skype ID", "text", 50),
    Field("Twitter", "Twitter", "text", 50),
    Field("Title", "Title", "text", 100),
    Field("Department", "Department", "text", 100),
    Field("Account_Name", "Account Name", "lookup", 120, lookup="Accounts"),
    Field("Reporting_To", "Reporting To", "lookup", 120, lookup="Contacts"),
    Field("Date_of_Birth", "Date of Birth", "date"),
    Field("Email_Opt_Out", "Email Opt Out", "boolean"),
    Field("Lead_Source", "Lead Source", "picklist", 120, picklist=LEAD_SOURCE),
    *_address("Mailing", "Zip"),
    *_address("Other", "Zip"),
    Field("Description", "Description", "textarea", 32000),
    Field("Site", "Site", "text", 255, custom_field=True),
    *_business(),
    *_people_extras(),
]

LEADS = [
    Field("Salutation", "Salutation", "picklist", 120, picklist=SALUTATION),
    Field("First_Name", "First Name", "text", 40),
    Field("Last_Name", "Last Name", "text", 80, system_mandatory=True),
    Field("Full_Name", "Lead Name", "text", 255, read_only=True),
    Field("Company", "Company", "text", 200),
    Field("Email", "Email", "email", 100),
    Field("Secondary_Email", "Secondary Email", "email", 100),
    Field("Phone", "Phone", "phone", 30),
    Field("Mobile", "Mobile", "phone", 30),
    Field("Fax", "Fax", "phone", 30),
    Field("Skype_ID", "Skype ID", "text", 50),
    Field("Twitter", "Twitter", "text", 50),
    Field("Designation", "Title", "text", 100),
    Field("Website", "Website", "website", 255),
    Field("Lead_Status", "Lead Status", "picklist", 120, picklist=LEAD_STATUS),
    Field("Lead_Source", "Lead Source", "picklist", 120, picklist=LEAD_SOURCE),
    Field("Industry", "Industry", "picklist", 120, picklist=INDUSTRY),
    Field("Rating", "Rating", "picklist", 120, picklist=RATING),
    Field("Annual_Revenue", "Annual Revenue", "currency", 16),
    Field("No_of_Employees", "No. of Employees", "integer", 9),
    Field("Email_Opt_Out", "Email Opt Out", "boolean"),
    Field("Street", "Street", "text", 250),
    Field("City", "City", "text", 100),
    Field("State", "State", "text", 100),
    Field("Zip_Code", "Zip Code", "text", 30),
    Field("Country", "Country", "text", 100),
    Field("Description", "Description", "textarea", 32000),
    Field("Converted__s", "Converted", "boolean", read_only=True),
    Field("Converted_Date_Time", "Converted Date Time", "datetime", read_only=True),
    *_business(),
    *_people_extras(),
]

DEALS = [
    Field("Deal_Name", "Deal Name", "text", 120, system_mandatory=True),
    Field("Stage", "Stage", "picklist", 120, system_mandatory=True, picklist=tuple(STAGES)),
    Field("Pipeline", "Pipeline", "picklist", 120, picklist=("Standard (Standard)",)),
    Field("Amount", "Amount", "currency", 16),
    Field("Closing_Date", "Closing Date", "date"),
    Field("Probability", "Probability (%)", "integer", 3),
    Field("Account_Name", "Account Name", "lookup", 120, lookup="Accounts"),
    Field("Contact_Name", "Contact Name", "lookup", 120, lookup="Contacts"),
    Field("Lead_Source", "Lead Source", "picklist", 120, picklist=LEAD_SOURCE),
    Field("Type", "Type", "picklist", 120, picklist=DEAL_TYPE),
    Field("Next_Step", "Next Step", "text", 100),
    Field("Expected_Revenue", "Expected Revenue", "currency", 16, read_only=True),
    Field("Reason_For_Loss__s", "Reason For Loss", "picklist", 120, picklist=LOSS_REASON),
    Field("Description", "Description", "textarea", 32000),
    *_business(),
]

EVENTS = [
    Field("Event_Title", "Title", "text", 255, system_mandatory=True),
    Field("Start_DateTime", "From", "datetime", system_mandatory=True),
    Field("End_DateTime", "To", "datetime", system_mandatory=True),
    Field("All_day", "All day", "boolean"),
    Field("Venue", "Location", "text", 255),
    Field("What_Id", "Related To", "lookup", 120, lookup="*"),
    Field("Who_Id", "Contact Name", "lookup", 120, lookup="Contacts"),
    Field("Participants", "Participants", "participants", 2000),
    Field("Description", "Description", "textarea", 32000),
]

NOTES = [
    Field("Note_Title", "Note Title", "text", 120),
    Field("Note_Content", "Note Content", "textarea", 32000, system_mandatory=True),
    Field("Parent_Id", "Parent ID", "lookup", 120, system_mandatory=True, lookup="*"),
]

ATTACHMENTS = [
    Field("File_Name", "File Name", "text", 255, read_only=True),
    Field("Size", "Size", "bigint", 18, read_only=True),
    Field("Parent_Id", "Parent ID", "lookup", 120, read_only=True, lookup="*"),
]

# Which modules a multi-module lookup may point at, named by `$se_module` (§4.1, §5):
# an Event's What_Id (Contacts and Leads are Who_Id's), a Note's or a file's Parent_Id.
SE_MODULES = {
    "What_Id": ("Accounts", "Deals"),
    "Parent_Id": ("Accounts", "Contacts", "Leads", "Deals", "Events"),
}


def _ids(module_no: int, fields: list[Field]) -> tuple[Field, ...]:
    return tuple(replace(f, id=f"{ORG}{module_no:06d}{i + 1:06d}") for i, f in enumerate(fields))


def _module(
    number: int,
    api_name: str,
    singular: str,
    fields: list[Field],
    display: str,
    *,
    duplicate_check: tuple[str, ...] = (),
    related: tuple[tuple[str, str, str], ...] = (),
    convertable: bool = False,
    owner: bool = True,
) -> Module:
    return Module(
        api_name=api_name,
        singular=singular,
        id=f"{ORG}000000002{number:03d}",
        fields=_ids(number, [*_system(owner=owner), *fields]),
        display_field=display,
        duplicate_check=duplicate_check,
        related=tuple(
            Related(name, child, fld, f"{ORG}000000003{number:02d}{i}")
            for i, (name, child, fld) in enumerate(related)
        ),
        convertable=convertable,
        sequence=number,
    )


_NOTES_AND_FILES = (("Notes", "Notes", "Parent_Id"), ("Attachments", "Attachments", "Parent_Id"))

MODULES: dict[str, Module] = {
    m.api_name: m
    for m in (
        _module(
            1,
            "Leads",
            "Lead",
            LEADS,
            "Full_Name",
            duplicate_check=("Email",),
            related=_NOTES_AND_FILES,
            convertable=True,
        ),
        _module(
            2,
            "Accounts",
            "Account",
            ACCOUNTS,
            "Account_Name",
            duplicate_check=("Account_Name",),
            related=(
                ("Contacts", "Contacts", "Account_Name"),
                ("Deals", "Deals", "Account_Name"),
                ("Events", "Events", "What_Id"),
                *_NOTES_AND_FILES,
            ),
        ),
        _module(
            3,
            "Contacts",
            "Contact",
            CONTACTS,
            "Full_Name",
            duplicate_check=("Email",),
            related=(
                ("Deals", "Deals", "Contact_Name"),
                ("Events", "Events", "Who_Id"),
                *_NOTES_AND_FILES,
            ),
        ),
        _module(
            4,
            "Deals",
            "Deal",
            DEALS,
            "Deal_Name",
            duplicate_check=("Deal_Name",),
            related=(("Events", "Events", "What_Id"), *_NOTES_AND_FILES),
        ),
        _module(5, "Events", "Meeting", EVENTS, "Event_Title", related=_NOTES_AND_FILES),
        _module(6, "Notes", "Note", NOTES, "Note_Title"),
        _module(7, "Attachments", "Attachment", ATTACHMENTS, "File_Name"),
    )
}

# Modules reachable as /crm/v8/{module} (Attachments is a related list only, §4).
RECORD_MODULES = ("Leads", "Accounts", "Contacts", "Deals", "Events", "Notes")


def module_named(name: str, modules: Mapping[str, Module] = MODULES) -> Module | None:
    """Module names are case-insensitive in URLs ([obs] n8n calls /accounts). `modules`:
    an org's own catalogue (with the custom fields its admin added)."""
    module = modules.get(name)
    if module is not None:
        return module
    lowered = name.lower()
    for candidate in modules.values():
        if candidate.api_name.lower() == lowered:
            return candidate
    return None
