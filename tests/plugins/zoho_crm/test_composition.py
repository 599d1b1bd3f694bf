"""The zoho_crm connector is composed, not mixed in (issue 10, point 1): its parts are objects
it holds. (No `if TYPE_CHECKING:` block anywhere re-declares another class's methods: see
tests/test_architecture.py.)"""

from __future__ import annotations

from integrate import Connector
from integrate_zoho_crm import ZohoCrmConnector


def test_the_connector_inherits_from_connector_alone() -> None:
    # Its parts (api, metadata, reads, writes, extras, notifications) are objects it holds.
    assert ZohoCrmConnector.__bases__ == (Connector,)
    plugin_classes = [
        cls.__qualname__
        for cls in ZohoCrmConnector.__mro__
        if cls.__module__.startswith("integrate_zoho_crm")
    ]
    assert plugin_classes == ["ZohoCrmConnector"]
