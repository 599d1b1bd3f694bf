"""What an HTTP call to the API asks for: the module and record its URL names (§1.2, by the
kit's `Router`), its `input_data` (§1.4), whether its `Accept` header asks for v3 (§1.3)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from integrate import Router
from integrate_servicedesk_msp.emulator.errors import MANDATORY, SdpError, bad_input, mismatch
from integrate_servicedesk_msp.emulator.modules import PATHS, Path

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

V3 = "application/vnd.manageengine.sdp.v3+json"
ACCEPTED = (V3, "application/v3+json")  # the second tolerated (§1.3)


# What each HTTP method does on a module's URL and on one record's.
COLLECTION = {"GET": "list", "POST": "create"}
RECORD = {"GET": "get", "PUT": "update", "DELETE": "delete"}
ROUTER: Router[Mapping[str, str]] = Router()
for _base in ("/api/v3", "/app/{portal}/api/v3"):  # on-premises, cloud (§1.2)
    ROUTER.add(f"{_base}/{{module}}", COLLECTION)
    ROUTER.add(f"{_base}/{{module}}/{{id}}", RECORD)
    ROUTER.add(f"{_base}/{{more*}}", {})  # an API path that names no module or record


@dataclass(frozen=True)
class Target:
    """What an API URL names: its flavour, portal, module and record id, and what each
    method does there."""

    cloud_path: bool
    portal: str | None
    module: str
    id: str | None
    verbs: Mapping[str, str]

    @property
    def path(self) -> Path | None:
        return PATHS.get(self.module) if self.verbs else None

    def verb(self, method: str) -> str | None:
        return self.verbs.get(method.upper())


def target(url_path: str) -> Target | None:
    """What an API URL names; None for a URL outside the API."""
    found = ROUTER.match(url_path)
    if found is None:
        return None
    params = found.params
    return Target(
        "portal" in params,
        params.get("portal"),
        params.get("module", ""),
        params.get("id"),
        found.target,
    )


def accepts_v3(request: Request) -> bool:
    media = request.headers.get("Accept", "").split(",")
    return any(m.split(";")[0].strip().lower() in ACCEPTED for m in media)


def input_data(request: Request) -> dict[str, Any] | None:
    raw = request.values.get("input_data")
    if raw is None:
        return None
    try:
        given = json.loads(raw)
    except ValueError:
        raise bad_input("input_data is not valid JSON", field="input_data") from None
    if not isinstance(given, dict):
        raise bad_input("input_data must be a JSON object", field="input_data")
    return given


def entity(given: dict[str, Any] | None, key: str) -> dict[str, Any]:
    """The record a write sends, wrapped in its entity key (§1.4)."""
    if given is None:
        raise SdpError(
            MANDATORY, "Value for mandatory-field is not provided", fields=["input_data"]
        )
    if key not in given:
        raise SdpError(MANDATORY, "Value for mandatory-field is not provided", fields=[key])
    data = given[key]
    if not isinstance(data, dict):
        raise mismatch(key, "an object")
    return data
