"""`valid_email`: an e-mail address as vendors that check them "RFC-style" do: a dot-atom
before the `@`, a domain of two labels or more, at most 64 characters before the `@` and 254
in all (RFC 5321's limits), ASCII only."""

from __future__ import annotations

import re
from typing import Any

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")
LOCAL_MAX, EMAIL_MAX = 64, 254


def valid_email(value: Any) -> bool:
    """Whether `value` is text that is such an address (a vendor words the refusal)."""
    if not isinstance(value, str) or len(value) > EMAIL_MAX:
        return False
    local, _, _domain = value.rpartition("@")
    return len(local) <= LOCAL_MAX and EMAIL.fullmatch(value) is not None
