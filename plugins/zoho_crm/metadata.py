"""Zoho CRM's metadata: the org's modules (settings/modules) and each module's fields
(settings/fields), read once per connector and kept between runs in the metadata cache for
`metadata_ttl` seconds (default an hour), shared by every spec on the same credentials.

An hour because the lists change only when an admin edits the org, and a field added since
is no problem: the run reads the list again before it calls a name unknown (a module
here, a field through forget_description). What the cache can hide for up to an hour is a
field removed, renamed or made read-only: writes naming it fail record by record (and are
retried). A run every five minutes makes the metadata calls once an hour instead of 12
times; `metadata_ttl: 0` reads them on every run.

The org's users (a whole read of Users, what a spec's `lookup('crm.Users', ...)` reads) are
kept the same way: a user added since is found once the hour is out (an owner mapped meanwhile
falls back as the spec says, and is set right by the next run after), and a run that maps
owners makes no Users call in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from integrate import FieldInfo, Record, reveal

if TYPE_CHECKING:
    from integrate import ConnectorContext, MetadataCache
    from integrate_zoho_crm.api import ZohoApi

METADATA_TTL = 3600  # seconds (see above)
MODULES_KEY = "modules"
USERS_KEY = "users"


def cache_of(
    context: ConnectorContext, config: Mapping[str, Any], accounts_url: str
) -> MetadataCache:
    """The cache of the org and user these credentials sign in as (the field lists a user
    sees depend on their profile): the accounts server, the environment (a sandbox org's
    metadata differs), the client and the refresh token, whatever else the config says."""
    return context.cache.account(
        "zoho_crm",
        accounts_url,
        str(config.get("environment", "production")),
        reveal(config.get("client_id")),
        reveal(config.get("refresh_token")) or "",
    )


def _field_info(meta: Mapping[str, Any]) -> FieldInfo:
    """One field of a settings/fields answer."""
    read_only = bool(meta.get("read_only")) or meta.get("data_type") in ("autonumber", "formula")
    return FieldInfo(
        str(meta["api_name"]),
        type=str(meta.get("data_type", "any")),
        label=str(meta.get("field_label", "")),
        read_only=read_only,
        required=bool(meta.get("system_mandatory")),
    )


def _kept(fields: Mapping[str, FieldInfo]) -> list[list[Any]]:
    return [[f.name, f.type, f.label, f.read_only, f.required] for f in fields.values()]


def _from_kept(rows: Any) -> dict[str, FieldInfo] | None:
    """The catalogue _kept() stored; None for anything else (another version's shape)."""
    try:
        return {
            str(name): FieldInfo(str(name), str(kind), str(label), bool(read_only), bool(required))
            for name, kind, label, read_only, required in rows
        }
    except (TypeError, ValueError):
        return None


class Metadata:
    """The org's modules and each module's field catalogue, asked of `api` at most once per
    connector and kept in `cache` for `ttl` seconds between runs (0: never kept)."""

    def __init__(self, api: ZohoApi, cache: MetadataCache, ttl: int):
        self.api = api
        self.cache = cache
        self.ttl = ttl
        self._modules: set[str] | None = None
        self._modules_fresh = False  # read from Zoho in this run (not from the cache)
        self._catalogues: dict[str, dict[str, FieldInfo]] = {}
        self._cached: set[str] = set()  # modules whose catalogue came from the cache

    def _cache_get(self, key: str) -> Any:
        # max_age: lists another spec kept for longer are too old for this connection
        return self.cache.get(key, max_age=self.ttl) if self.ttl > 0 else None

    def kept_users(self) -> list[Record] | None:
        """The org's users as a whole read of Users kept them, while fresh (None: read them)."""
        kept = self._cache_get(USERS_KEY)
        if isinstance(kept, list) and all(isinstance(user, dict) for user in kept):
            return kept
        return None

    def keep_users(self, users: list[Record]) -> None:
        self.cache.put(USERS_KEY, users, self.ttl)

    def objects(self) -> list[str]:
        """The org's modules the API supports, and Users."""
        return sorted(self._module_names() | {"Users"})

    def _module_names(self, *, fresh: bool = False) -> set[str]:
        """The API names of the org's modules the API supports (settings/modules)."""
        if self._modules is not None and not fresh:
            return self._modules
        kept = None if fresh else self._cache_get(MODULES_KEY)
        if isinstance(kept, list) and all(isinstance(name, str) for name in kept):
            self._modules = set(kept)
            return self._modules
        response = self.api.call("GET", ("settings", "modules"), label="modules")
        if response.status_code != 200:
            raise self.api.error(response, "listing modules")
        self._modules = {
            str(m["api_name"])
            for m in response.json().get("modules", [])
            if m.get("api_supported", True)
        }
        self.cache.put(MODULES_KEY, sorted(self._modules), self.ttl)
        self._modules_fresh = True
        return self._modules

    def has_module(self, module: str) -> bool:
        """Whether the org has the module; a module missing from a cached list is looked
        for again in a fresh one (it may have been made since)."""
        if module in self._module_names():
            return True
        if self._modules_fresh:
            return False
        return module in self._module_names(fresh=True)

    def catalogue(self, module: str) -> dict[str, FieldInfo]:
        """The module's fields, from settings/fields (read once per connector, and kept in
        the metadata cache between runs)."""
        found = self._catalogues.get(module)
        if found is not None:
            return found
        key = f"fields:{module}"
        found = _from_kept(self._cache_get(key))
        if found is not None:
            self._cached.add(module)
        else:
            response = self.api.call(
                "GET", ("settings", "fields"), label="fields", params={"module": module}
            )
            if response.status_code == 204:
                found = {}
            elif response.status_code != 200:
                raise self.api.error(response, f"reading the fields of {module}")
            else:
                found = {}
                for meta in response.json().get("fields", []):
                    info = _field_info(meta)
                    found[info.name] = info
            self.cache.put(key, _kept(found), self.ttl)
        self._catalogues[module] = found
        return found

    def forget(self, module: str) -> bool:
        """Drop the module's catalogue if it came from the cache: the next catalogue() reads
        settings/fields again (a field added in Zoho since is then known)."""
        if module not in self._cached:
            return False
        self._cached.discard(module)
        self._catalogues.pop(module, None)
        self.cache.forget(f"fields:{module}")
        return True
