"""The emulated instance's data: the kit's record store holding accounts, sites, departments
and requesters as `Row`s whose lookups hold bare ids, with the unique keys SDP enforces and
its e-mail index; and `render`, which turns a row into what the API shows (lookups as
`{id, name}` with the names as they are now, date/time fields as `{value, display_value}`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from integrate import RecordStore, StoredRow
from integrate_servicedesk_msp.emulator.modules import (
    ACCOUNTS,
    DEPARTMENTS,
    GENERAL,
    JOB_TITLES,
    MODULES,
    REQUESTERS,
    SITES,
    STORES,
)

FIRST_ID = 100_000_000_000_048_000  # cloud-like long ids, handed out in order (§1.4)
Key = tuple[str, ...]


Row = StoredRow  # created and modified in epoch millis


def when(millis: int) -> dict[str, str]:
    """A date/time field: epoch millis as a string and a display value (§1.4)."""
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return {"value": str(millis), "display_value": moment.strftime("%b %d, %Y %I:%M %p")}


def unique_key(row: Row) -> Key | None:
    """The key no two rows may share (ASSUMED per §1.7: account names, a site's name in its
    account, a department's name in its site, a requester's email in its account)."""
    values = row.values
    name = values.get("name")
    if row.module == ACCOUNTS:
        return (ACCOUNTS, str(name))
    if row.module == SITES:
        return (SITES, str(values["account"]), str(name))
    if row.module == DEPARTMENTS:
        return (DEPARTMENTS, str(values["site"]), str(name))
    email = values.get("email_id")
    if isinstance(email, str) and email:
        return (REQUESTERS, str(values["account"]), email.casefold())
    return None


class Store(RecordStore):
    def __init__(self) -> None:
        super().__init__(STORES, last_id=FIRST_ID)
        self.unique: dict[Key, str] = {}
        self.emails: dict[str, dict[str, None]] = {}  # email (casefolded) -> requester ids

    # ---- indexes ------------------------------------------------------------------------

    def index(self, row: Row) -> None:
        key = unique_key(row)
        if key is not None:
            self.unique[key] = row.id
        email = row.values.get("email_id") if row.module == REQUESTERS else None
        if isinstance(email, str) and email:
            self.emails.setdefault(email.casefold(), {})[row.id] = None

    def unindex(self, row: Row) -> None:
        key = unique_key(row)
        if key is not None and self.unique.get(key) == row.id:
            del self.unique[key]
        email = row.values.get("email_id") if row.module == REQUESTERS else None
        if isinstance(email, str) and email:
            self.emails.get(email.casefold(), {}).pop(row.id, None)

    def clear_indexes(self) -> None:
        self.unique.clear()
        self.emails.clear()

    # ---- reads --------------------------------------------------------------------------

    def holder(self, key: Key) -> Row | None:
        id = self.unique.get(key)
        return self.by_id.get(id) if id is not None else None

    def general(self, site_id: str) -> Row | None:
        return self.holder((DEPARTMENTS, site_id, GENERAL))

    def referring(self, module: str, field: str, id: str) -> Iterable[Row]:
        return (r for r in self.rows[module].values() if r.values.get(field) == id)

    # ---- rendering ----------------------------------------------------------------------

    def ref(self, id: Any) -> dict[str, Any] | None:
        row = self.by_id.get(id) if isinstance(id, str) else None
        return {"id": row.id, "name": row.values.get("name")} if row is not None else None

    def render(self, row: Row, owner: str, job_title: str) -> dict[str, Any]:
        """The record as the API shows it. `owner` is `account` or `customer`; `job_title`
        the spelling shown when no job title was ever received (the deployment's own)."""
        module = MODULES[row.module]
        values = row.values
        out: dict[str, Any] = {"id": row.id}
        for name in module.text:
            out[name] = values.get(name)
        if row.module == ACCOUNTS:
            out["default_site"] = self.ref(values.get("default_site"))
            out["udf_fields"] = dict(values.get("udf_fields") or {})
        elif row.module == SITES:
            out[owner] = self.ref(values.get("account"))
            out["region"] = values.get("region")
            out["time_zone"] = values.get("time_zone")
        elif row.module == DEPARTMENTS:
            out["site"] = self.ref(values.get("site"))
        else:
            out[owner] = self.ref(values.get("account"))
            out["site"] = self.ref(values.get("site"))
            out["department"] = self.department(values.get("department"))
            out["is_vipuser"] = bool(values.get("is_vipuser"))
            out["secondary_emailids"] = list(values.get("secondary_emailids") or [])
            out["user_udf_fields"] = dict(values.get("user_udf_fields") or {})
            spelt = [key for key in JOB_TITLES if key in values]
            for key in spelt or [job_title]:
                out[key] = values.get(key)
        out["created_time"] = when(row.created)
        out["last_updated_time"] = when(row.modified)
        return out

    def department(self, id: Any) -> dict[str, Any] | None:
        """A department as requesters show it: with its site (§1.6 sample)."""
        ref = self.ref(id)
        if ref is not None:
            ref["site"] = self.ref(self.by_id[ref["id"]].values.get("site"))
        return ref

    def rendered(self, module: str, owner: str, job_title: str) -> list[dict[str, Any]]:
        """Every row of a module rendered, in creation order; kept until the next change."""
        return self.kept(
            (module, owner, job_title),
            lambda: [self.render(r, owner, job_title) for r in self.rows[module].values()],
        )
