"""Ideolve's refusals: an HTTP status and `{"status": <word>, "reason": <text>}` (targets.md
§4.3-4.4), the texts the emulator answers with, and the error an emulator option with a bad
value raises."""

from __future__ import annotations

from typing import Any

from integrate import PluginError, Refusal, quoted

# The envelope's status words.
SUCCESS = "SUCCESS"
ERROR = "ERROR"
UNAUTHORIZED = "UNAUTHORIZED"
NOT_FOUND = "NOT_FOUND"

MISSING_HEADER = "missing header"  # + the header's name
BAD_PAIR = "Invalid Client-Id or Connector-Api-Key"
NO_SUCH_PATH = "no such path"
USER_NOT_FOUND = "user not found"
WORKSPACE_NOT_FOUND = "workspace not found"
NOTE_NOT_FOUND = "note not found"
RATE_LIMITED = "rate limit exceeded"
ATTACHMENT_TOO_LARGE = "attachment too large"
NO_FILE_PART = "a multipart/form-data body with one part named file is required"
ONE_FILE_PART = "only one part named file may be sent"
NO_FILE_NAME = "the file part needs a filename of 1 to 255 characters"
BROKEN_MULTIPART = "the multipart/form-data body is broken"
BODY_TOO_LARGE = "request body too large"
MALFORMED_JSON = "malformed JSON body"
NOT_AN_OBJECT = "the body must be a JSON object"
SERVER_ERROR = "internal error"
UNAVAILABLE = "service unavailable"


class IdeolveError(Refusal):
    """A refusal in Ideolve's words: `status` and `{"status": word, "reason": reason}`."""

    def __init__(self, status: int, word: str, reason: str) -> None:
        super().__init__(status, reason)
        self.word = word

    def body(self) -> Any:
        return {"status": self.word, "reason": str(self)}


def bad_request(reason: str) -> IdeolveError:
    return IdeolveError(400, ERROR, reason)


def not_found(reason: str) -> IdeolveError:
    return IdeolveError(404, NOT_FOUND, reason)


def named(value: Any) -> str:
    """A value an error names back, cut short (an attacker's megabyte stays out)."""
    return quoted(value, 80)


class EmulatorOptionError(PluginError, ValueError):
    """An emulator option (`--set`, a spec's `sandbox.options`) with a value it cannot take:
    the command says which and what it takes, without a traceback."""
