"""integrate: declarative, testable, two-way record sync between SaaS systems.

This module is the public API for plugin authors: everything a plugin may import from
`integrate` is listed in `__all__` (plus the `integrate.testing` kit). Everything else is
internal and may change.
"""

from __future__ import annotations

from integrate.connector import (
    CREATE,
    GET,
    MOVE,
    READ,
    UPDATE,
    UPSERT,
    Connector,
    ConnectorContext,
    FieldInfo,
    ObjectInfo,
    Page,
    Record,
    Unsupported,
    WriteItem,
    WriteResult,
)
from integrate.emulator import Emulator
from integrate.errors import (
    AuthError,
    ConnectorError,
    IntegrateError,
    PluginError,
    RecordError,
)
from integrate.functions import Function
from integrate.hookspecs import hookimpl
from integrate.secrets import Secret, reveal

__version__ = "0.1.0"

__all__ = [
    "CREATE",
    "GET",
    "MOVE",
    "READ",
    "UPDATE",
    "UPSERT",
    "AuthError",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "Emulator",
    "FieldInfo",
    "Function",
    "IntegrateError",
    "ObjectInfo",
    "Page",
    "PluginError",
    "Record",
    "RecordError",
    "Secret",
    "Unsupported",
    "WriteItem",
    "WriteResult",
    "__version__",
    "hookimpl",
    "reveal",
]
