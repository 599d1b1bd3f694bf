"""The operator page's token: from INTEGRATE_UI_TOKEN, or the file it names; long enough."""

from __future__ import annotations

import os

from integrate.errors import UsageError
from integrate.secrets import REDACTOR, REFERENCE, Resolver

TOKEN_VARIABLE = "INTEGRATE_UI_TOKEN"
LEAST_TOKEN = 16


def ui_token(environ: dict[str, str] | None = None) -> str | None:
    """The page's token: INTEGRATE_UI_TOKEN's value, or the file it names as ${file:PATH};
    None when unset (the page is off). Too short or an unreadable file: a UsageError."""
    env = os.environ if environ is None else environ
    raw = env.get(TOKEN_VARIABLE, "").strip()
    if not raw:
        return None
    match = REFERENCE.fullmatch(raw)
    if match is not None:
        value = Resolver(environ=env).lookup(match.group(1), match.group(2))
        if not value:
            raise UsageError(
                f"{TOKEN_VARIABLE} names {match.group(1)} {match.group(2)}, which is not set "
                "or not readable: put the page's token there"
            )
        raw = value
    if len(raw) < LEAST_TOKEN:
        raise UsageError(
            f"{TOKEN_VARIABLE} must be at least {LEAST_TOKEN} characters (make one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`)"
        )
    REDACTOR.register(raw)
    return raw


__all__ = ["LEAST_TOKEN", "TOKEN_VARIABLE", "ui_token"]
