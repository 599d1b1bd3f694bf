"""Creating, updating and deleting records as SDP MSP does (§1.4, §1.7): lookups by
`{"id"}` or `{"name"}` (id wins), mandatory fields, unique keys, and the MSP hierarchy's
defaults.

ASSUMED behaviours (each one named where it happens):
- a new account gets its default site, named from `default_site.name` or else
  "<account name> Base Site" (§1.7: MSP Cloud auto-creates a "Base Site"); every new site
  gets a "General" department (§1.7);
- a requester without a site goes to its account's default site, without a department to
  "General" of its site (v1 rules, §1.7.4); a site by name is looked up within the
  requester's account, a department by name within the requester's site;
- names in lookups match exactly (case and spaces count); a name matching several records
  is refused like an unknown one (4001);
- unique: account names; a site's name in its account; a department's name in its site;
  a requester's `email_id` in its account, case-insensitively (the same email under another
  account is allowed);
- fields a module does not have are refused (4000), read-only ones too (4014); text fields
  take strings or null; `udf_fields` / `user_udf_fields` take `udf_*` keys, merged on
  update; `region` and `time_zone` of a site are kept as given;
- a site cannot move to another account, a department to another site (4009); the General
  department cannot be renamed (4009).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrate_servicedesk_msp.emulator.errors import (
    MANDATORY,
    NON_EDITABLE,
    NOT_FOUND_VALUE,
    NOT_UNIQUE,
    READ_ONLY,
    REFERENCED,
    SdpError,
    bad_input,
    mismatch,
    no_such,
)
from integrate_servicedesk_msp.emulator.modules import (
    ACCOUNTS,
    DEPARTMENTS,
    GENERAL,
    JOB_TITLES,
    MODULES,
    READ_ONLY_FIELDS,
    REQUESTERS,
    SITES,
    Module,
)
from integrate_servicedesk_msp.emulator.store import Row, Store, unique_key

Data = Mapping[str, Any]
UDF_CONTAINERS = ("udf_fields", "user_udf_fields")


class Writer:
    """One call's writes: `owner` is the key accounts are named with in this call
    (`account` or `customer`), `now` the call's time in epoch millis."""

    def __init__(
        self,
        store: Store,
        now: int,
        owner: str,
        mandatory: Mapping[str, Sequence[str]] | None = None,
    ):
        self.store = store
        self.now = now
        self.owner = owner
        self.mandatory = mandatory or {}

    # ---- the three operations ---------------------------------------------------------

    def create(self, module_name: str, data: Data) -> Row:
        module = MODULES[module_name]
        self._check_fields(module, data)
        missing = [
            self._public(f)
            for f in (*module.mandatory, *self.mandatory.get(module_name, ()))
            if _empty(data.get(self._public(f)))
        ]
        if missing:
            raise SdpError(
                MANDATORY, "Value for mandatory-field is not provided", fields=sorted(set(missing))
            )
        values = self._plain(module, data, {})
        if module_name == ACCOUNTS:
            return self._new_account(values, data)
        if module_name == SITES:
            values["account"] = self._lookup(ACCOUNTS, self.owner, data[self.owner]).id
            return self._new_site(values)
        if module_name == DEPARTMENTS:
            values["site"] = self._lookup(SITES, "site", data["site"]).id
            return self._add(values, DEPARTMENTS)
        return self._place_requester(values, data, None)

    def update(self, row: Row, data: Data) -> Row:
        module = MODULES[row.module]
        self._check_fields(module, data)
        required = (*module.mandatory, *self.mandatory.get(row.module, ()))
        cleared = [
            self._public(f)
            for f in required
            if self._public(f) in data and _empty(data[self._public(f)])
        ]
        if cleared:
            raise SdpError(
                MANDATORY, "Value for mandatory-field is not provided", fields=sorted(cleared)
            )
        values = self._plain(module, data, row.values)
        if row.module == ACCOUNTS:
            if "default_site" in data:
                site = self._lookup(SITES, "default_site", data["default_site"], account=row.id)
                values["default_site"] = site.id
        elif row.module == SITES:
            if self.owner in data:
                account = self._lookup(ACCOUNTS, self.owner, data[self.owner])
                if account.id != row.values["account"]:
                    raise SdpError(
                        NON_EDITABLE, "a site cannot move to another account", field=self.owner
                    )
        elif row.module == DEPARTMENTS:
            if "site" in data:
                site = self._lookup(SITES, "site", data["site"])
                if site.id != row.values["site"]:
                    raise SdpError(
                        NON_EDITABLE, "a department cannot move to another site", field="site"
                    )
            if row.values.get("name") == GENERAL and values.get("name") != GENERAL:
                raise SdpError(
                    NON_EDITABLE, "the General department cannot be renamed", field="name"
                )
        else:
            return self._place_requester(values, data, row)
        return self._save(row, values)

    def delete(self, row: Row) -> None:
        """Refused (4005) while others refer to the row (ASSUMED): an account with
        requesters, a site with requesters or that is its account's default, a department
        with requesters or that is its site's General. An account goes with its sites and
        their departments, a site with its departments."""
        store = self.store
        if row.module == ACCOUNTS:
            self._unreferenced(row, "account")
            for site in list(store.referring(SITES, "account", row.id)):
                self._drop_site(site)
        elif row.module == SITES:
            account = store.by_id.get(str(row.values.get("account")))
            if account is not None and account.values.get("default_site") == row.id:
                raise SdpError(REFERENCED, "the default site of an account cannot be deleted")
            self._unreferenced(row, "site")
            self._drop_site(row)
            return
        elif row.module == DEPARTMENTS:
            if row.values.get("name") == GENERAL:
                raise SdpError(REFERENCED, "the General department of a site cannot be deleted")
            self._unreferenced(row, "department")
        store.remove(row)

    # ---- checks -------------------------------------------------------------------------

    def _public(self, field: str) -> str:
        return self.owner if field == "owner" else field

    def _check_fields(self, module: Module, data: Data) -> None:
        known = module.known(self.owner)
        for name, value in data.items():
            if name in READ_ONLY_FIELDS:
                raise SdpError(READ_ONLY, f"{name} is a read-only field", field=name)
            if name not in known:
                raise bad_input(f"{name} is not a field of {module.store}", field=name)
            if name in module.text and value is not None and not isinstance(value, str):
                raise mismatch(name, "a string")

    def _plain(self, module: Module, data: Data, old: Mapping[str, Any]) -> dict[str, Any]:
        """The row's values with the text, flag and udf fields of `data` applied."""
        values = dict(old)
        for name in module.text:
            if name in data:
                values[name] = data[name]
        for name in UDF_CONTAINERS:
            if name in data:
                values[name] = {**(values.get(name) or {}), **_udf(name, data[name])}
        if "is_vipuser" in data:
            values["is_vipuser"] = _flag(data["is_vipuser"])
        if "secondary_emailids" in data:
            emails = data["secondary_emailids"]
            if emails is None:
                emails = []
            if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
                raise mismatch("secondary_emailids", "a list of strings")
            values["secondary_emailids"] = list(emails)
        for name in ("region", "time_zone"):
            if name in data:
                given = data[name]
                if given is not None and not isinstance(given, dict):
                    raise mismatch(name, "an object")
                values[name] = dict(given) if given else None
        spelt = [key for key in JOB_TITLES if key in data]
        if spelt:  # echoed as received: the other spelling goes
            for key in JOB_TITLES:
                values.pop(key, None)
            for key in spelt:
                value = data[key]
                if value is not None and not isinstance(value, str):
                    raise mismatch(key, "a string")
                values[key] = value
        return values

    def _lookup(
        self,
        module: str,
        field: str,
        given: Any,
        *,
        account: str | None = None,
        site: str | None = None,
    ) -> Row:
        """A lookup `{"id": ...}` or `{"name": ...}` (id wins, §1.4), within an account or a
        site when given."""
        if not isinstance(given, dict):
            raise mismatch(field, 'an object like {"id": ...} or {"name": ...}')
        store = self.store
        if given.get("id") not in (None, ""):
            row = store.get(module, str(given["id"]))
            if row is None:
                raise no_such(field, given["id"])
            if account is not None and _account_of(row) != account:
                raise no_such(field, given["id"])
            if site is not None and row.values.get("site") != site:
                raise no_such(field, given["id"])
            return row
        name = given.get("name")
        if not isinstance(name, str) or not name:
            raise SdpError(MANDATORY, "Value for mandatory-field is not provided", fields=[field])
        if module == ACCOUNTS:
            found = store.holder((ACCOUNTS, name))
        elif module == SITES and account is not None:
            found = store.holder((SITES, account, name))
        elif module == DEPARTMENTS and site is not None:
            found = store.holder((DEPARTMENTS, site, name))
        else:
            matches = [r for r in store.rows[module].values() if r.values.get("name") == name]
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise no_such(field, name)
        return found

    def _unique(self, row: Row, field: str) -> None:
        key = unique_key(row)
        holder = self.store.holder(key) if key is not None else None
        if holder is not None and holder.id != row.id:
            raise SdpError(
                NOT_UNIQUE, f"{field} {row.values.get(field)!r} is already in use", field=field
            )

    def _unreferenced(self, row: Row, field: str) -> None:
        if next(iter(self.store.referring(REQUESTERS, field, row.id)), None) is not None:
            raise SdpError(REFERENCED, f"requesters refer to this {field}; it cannot be deleted")

    # ---- the hierarchy ------------------------------------------------------------------

    def _add(self, values: dict[str, Any], module: str) -> Row:
        row = Row(self.store.new_id(), module, values, self.now, self.now)
        self._unique(row, "email_id" if module == REQUESTERS else "name")
        return self.store.put(row)

    def _save(self, row: Row, values: dict[str, Any]) -> Row:
        probe = Row(row.id, row.module, values, row.created, row.modified)
        self._unique(probe, "email_id" if row.module == REQUESTERS else "name")
        if values != row.values:
            self.store.replace(row, values, self.now)
        return row

    def _new_account(self, values: dict[str, Any], data: Data) -> Row:
        given = data.get("default_site")
        if given is not None and not isinstance(given, dict):
            raise mismatch("default_site", 'an object like {"name": ...}')
        if given and given.get("id") not in (None, ""):
            raise SdpError(
                NOT_FOUND_VALUE,
                "default_site of a new account is set by name",
                field="default_site",
            )
        site_name = (given or {}).get("name") or f"{values['name']} Base Site"
        if not isinstance(site_name, str):
            raise mismatch("default_site.name", "a string")
        account = self._add(values, ACCOUNTS)
        site = self._new_site({"name": site_name, "account": account.id})
        account.values["default_site"] = site.id
        self.store.version += 1
        return account

    def _new_site(self, values: dict[str, Any]) -> Row:
        site = self._add(values, SITES)
        self._add({"name": GENERAL, "site": site.id}, DEPARTMENTS)
        return site

    def _drop_site(self, site: Row) -> None:
        for department in list(self.store.referring(DEPARTMENTS, "site", site.id)):
            self.store.remove(department)
        self.store.remove(site)

    def _place_requester(self, values: dict[str, Any], data: Data, row: Row | None) -> Row:
        """Resolve a requester's account, site and department (ASSUMED rules above)."""
        store = self.store
        account_id = values.get("account")
        if self.owner in data:
            account_id = self._lookup(ACCOUNTS, self.owner, data[self.owner]).id
        account = store.by_id[str(account_id)]
        site_id = values.get("site")
        department: Row | None = None
        if data.get("site") is not None:
            site_id = self._lookup(SITES, "site", data["site"], account=account.id).id
        elif "site" in data:  # an explicit null means the account's default site
            site_id = None
        elif (
            "department" in data
            and isinstance(data["department"], dict)
            and data["department"].get("id") not in (None, "")
        ):
            department = self._lookup(DEPARTMENTS, "department", data["department"])
            site_id = department.values["site"]
            if _account_of(store.by_id[site_id]) != account.id:
                raise no_such("department", data["department"]["id"])
        if site_id is None or _account_of(store.by_id[str(site_id)]) != account.id:
            site_id = account.values["default_site"]
        if department is None and "department" in data and data["department"] is not None:
            department = self._lookup(DEPARTMENTS, "department", data["department"], site=site_id)
        department_id: str | None
        if department is not None:
            department_id = department.id
        else:  # an explicit null means the site's General
            department_id = None if "department" in data else values.get("department")
        if department_id is None or store.by_id[str(department_id)].values.get("site") != site_id:
            general = store.general(str(site_id))
            department_id = general.id if general is not None else None
        values.update(account=account.id, site=site_id, department=department_id)
        values.setdefault("is_vipuser", False)
        if row is None:
            return self._add(values, REQUESTERS)
        return self._save(row, values)


def _empty(value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, dict):
        return all(value.get(k) in (None, "") for k in ("id", "name"))
    return False


def _account_of(row: Row) -> str | None:
    account = row.values.get("account")
    if account is None and row.module == ACCOUNTS:
        return row.id
    return str(account) if account is not None else None


def _flag(value: Any) -> bool:
    """`is_vipuser`: a boolean, or the strings "true"/"false" (§1.7.4)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise mismatch("is_vipuser", 'a boolean or "true"/"false"')


def _udf(name: str, given: Any) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise mismatch(name, "an object")
    for key, value in given.items():
        if not key.startswith("udf_"):
            raise bad_input(f"{name}.{key} is not a field", field=f"{name}.{key}")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise mismatch(f"{name}.{key}", "a plain value")
    return dict(given)
