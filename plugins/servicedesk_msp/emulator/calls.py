"""What an HTTP call to the API asks for: the module and record its URL names (§1.2), its
`input_data` (§1.4), whether its `Accept` header asks for v3 (§1.3); and the per-minute
token bucket that rate-limits calls (§1.6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from integrate_servicedesk_msp.emulator.errors import MANDATORY, SdpError, bad_input, mismatch
from integrate_servicedesk_msp.emulator.modules import PATHS, Path

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

V3 = "application/vnd.manageengine.sdp.v3+json"
ACCEPTED = (V3, "application/v3+json")  # the second tolerated (§1.3)


@dataclass(frozen=True)
class Target:
    """What an API URL names: its flavour, portal, module and record id."""

    cloud_path: bool
    portal: str | None
    module: str
    id: str | None
    valid: bool  # no segments beyond {module}/{id}

    @property
    def path(self) -> Path | None:
        return PATHS.get(self.module) if self.valid else None

    def verb(self, method: str) -> str | None:
        table = {("GET", False): "list", ("POST", False): "create", ("GET", True): "get"}
        table |= {("PUT", True): "update", ("DELETE", True): "delete"}
        return table.get((method.upper(), self.id is not None))


def target(url_path: str) -> Target | None:
    parts = [p for p in url_path.split("/") if p]
    if parts[:2] == ["api", "v3"]:
        cloud, portal, rest = False, None, parts[2:]
    elif len(parts) >= 4 and parts[0] == "app" and parts[2:4] == ["api", "v3"]:
        cloud, portal, rest = True, parts[1], parts[4:]
    else:
        return None
    if not rest:
        return Target(cloud, portal, "", None, False)
    return Target(cloud, portal, rest[0], rest[1] if len(rest) > 1 else None, len(rest) <= 2)


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


class Bucket:
    """A token bucket of `per_minute` calls, refilled continuously on a clock."""

    def __init__(self, per_minute: float, now: float):
        self.capacity = float(per_minute)
        self.tokens = self.capacity
        self.at = now

    def take(self, now: float) -> bool:
        """Take one call's token; False when the bucket is empty."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.capacity / 60)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
