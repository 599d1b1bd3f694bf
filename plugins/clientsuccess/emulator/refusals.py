"""ClientSuccess's refusals: an HTTP status and `{"userMessage": ...}` (targets.md §3.6), the
texts the emulator answers with, and the error an emulator option with a bad value raises."""

from __future__ import annotations

from typing import Any

from integrate import PluginError, Refusal

INVALID_LOGIN = "Invalid username or password"
INVALID_TOKEN = "invalidToken"
ACCESS_DENIED = "Access is denied"
TOO_MANY_REQUESTS = "Too many requests"
MAINTENANCE = "Service Temporarily Unavailable"
SERVER_ERROR = "Internal server error"
NOT_FOUND = "Not found"
CLIENT_NOT_FOUND = "Client not found"
CONTACT_NOT_FOUND = "Contact not found"
NAME_REQUIRED = "Client name is required"
EXTERNAL_ID_TAKEN = "A client with this external id already exists"
CONTACT_NEEDS = "A contact needs a first name, a last name or an email"
CONTACT_MOVED = "A contact cannot be moved to another client"
UPDATED = "Update successful"


class CsError(Refusal):
    """A refusal in ClientSuccess's words: `status` and `{"userMessage": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)

    def body(self) -> Any:
        return {"userMessage": str(self)}


def bad_request(message: str) -> CsError:
    return CsError(400, message)


class EmulatorOptionError(PluginError, ValueError):
    """An emulator option (`--set`, a spec's `sandbox.options`) with a value it cannot take:
    the command says which and what it takes, without a traceback."""
