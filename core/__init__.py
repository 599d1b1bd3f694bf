"""integrate: declarative, testable, two-way record sync between SaaS systems.

This module is the public API for plugin authors: everything a plugin may import from
`integrate` is listed in `__all__` (plus the `integrate.testing` kit). Everything else is
internal and may change.
"""

from __future__ import annotations

from integrate.connector import (
    AMBIGUOUS,
    CREATE,
    GET,
    GONE_FIELD,
    MOVE,
    READ,
    UPDATE,
    UPSERT,
    BadRecord,
    Connector,
    ConnectorContext,
    FieldInfo,
    ObjectInfo,
    Page,
    Record,
    Unsupported,
    WriteItem,
    WriteResult,
    merge_values,
)
from integrate.emulation import Answer, Faults, HttpEmulator
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
from integrate.http import (
    AUTH_EXPIRED,
    FAIL,
    OK,
    RATE_LIMITED,
    RETRY,
    CallStats,
    Clock,
    FakeClock,
    HttpAnswer,
    HttpClient,
    RetryPolicy,
    SystemClock,
    retry_after,
)
from integrate.metacache import MetadataCache
from integrate.oauth import OAuth2, TokenCache, consent_url, token_classifier
from integrate.secrets import Secret, reveal
from integrate.urls import path_segment

__version__ = "0.1.0"

__all__ = [
    "AMBIGUOUS",
    "AUTH_EXPIRED",
    "CREATE",
    "FAIL",
    "GET",
    "GONE_FIELD",
    "MOVE",
    "OK",
    "RATE_LIMITED",
    "READ",
    "RETRY",
    "UPDATE",
    "UPSERT",
    "Answer",
    "AuthError",
    "BadRecord",
    "CallStats",
    "Clock",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "Emulator",
    "FakeClock",
    "Faults",
    "FieldInfo",
    "Function",
    "HttpAnswer",
    "HttpClient",
    "HttpEmulator",
    "IntegrateError",
    "MetadataCache",
    "OAuth2",
    "ObjectInfo",
    "Page",
    "PluginError",
    "Record",
    "RecordError",
    "RetryPolicy",
    "Secret",
    "SystemClock",
    "TokenCache",
    "Unsupported",
    "WriteItem",
    "WriteResult",
    "__version__",
    "consent_url",
    "hookimpl",
    "merge_values",
    "path_segment",
    "retry_after",
    "reveal",
    "token_classifier",
]
