"""Secret references (${env:NAME}, ${file:PATH}), the Secret value that never prints, and the
redactor that scrubs every registered secret from text, logs and files."""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from integrate.errors import Location, Problem

REFERENCE = re.compile(r"\$\{(env|file):([^}]*)\}")
_ESCAPED = "$${"
# ${env:NAME:-default}: the default when NAME is unset or empty (as in the shell).
DEFAULT_MARK = ":-"

# Variable names that say "secret"; their values are redacted wherever they are used.
SENSITIVE_NAME = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|PASS|API_?KEY|AUTH|CREDENTIAL|PRIVATE|SIGNATURE|\bKEY\b|_KEY$)",
    re.IGNORECASE,
)
# Keys whose values are redacted in any mapping written out (failed records, debug logs).
SENSITIVE_KEY = re.compile(
    r"^(authorization|password|passwd|secret|token|access_token|refresh_token|client_secret|"
    r"api_?key|apikey|authtoken|technician_key|connector-api-key|sha|cookie|set-cookie)$",
    re.IGNORECASE,
)
MASK = "***"


class Secret:
    """A secret value. Prints as ***; `reveal()` is the only way to the text."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = "secret"):
        self._value = value
        self.source = source
        REDACTOR.register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def reveal(value: Any) -> Any:
    """The plain value of a Secret; anything else unchanged. For connectors building requests."""
    return value.reveal() if isinstance(value, Secret) else value


class Redactor:
    """Replaces every registered secret (raw, URL-encoded, base64) with *** in text."""

    MIN_LENGTH = 4

    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, value: str) -> None:
        if not isinstance(value, str) or len(value) < self.MIN_LENGTH:
            return
        raw = value.encode("utf-8")
        forms = {
            value,
            quote(value, safe=""),
            quote(value),  # as in a URL path: "/" kept
            quote_plus(value, safe=""),
            base64.b64encode(raw).decode("ascii").rstrip("="),
            base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
            *_base64_inner_forms(raw),
        }
        with self._lock:
            new = forms - self._forms
            if new:
                self._forms |= {f for f in forms if len(f) >= self.MIN_LENGTH}
                ordered = sorted(self._forms, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(f) for f in ordered))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def redact_data(self, value: Any) -> Any:
        """A copy of JSON-like data with secrets and values under sensitive keys masked."""
        if isinstance(value, Secret):
            return MASK
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {
                k: (
                    MASK
                    if isinstance(k, str) and SENSITIVE_KEY.match(k) and v
                    else self.redact_data(v)
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.redact_data(v) for v in value]
        return value


def _base64_inner_forms(raw: bytes) -> set[str]:
    """The base64 text of `raw` inside a longer encoded text (HTTP Basic's "user:secret"): at
    each of the three byte alignments, only the characters made of raw's bits alone."""
    forms = set()
    for offset in range(3):
        first = -(-offset * 8 // 6)
        last = (offset + len(raw)) * 8 // 6
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(bytes(offset) + raw).decode("ascii")[first:last])
    return forms


REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = REDACTOR.redact(message)
        if clean != message or record.args:
            record.msg = clean
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = REDACTOR.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def references(text: str) -> list[tuple[str, str]]:
    """The (kind, name) of every ${...} reference in a string (an env default left out)."""
    return [(kind, split_default(kind, body)[0]) for kind, body in _bodies(text)]


def defaulted(text: str) -> list[str]:
    """The names of the ${env:NAME:-default} references in a string that have a default."""
    return [
        name
        for kind, body in _bodies(text)
        for name, default in [split_default(kind, body)]
        if default is not None
    ]


def split_default(kind: str, body: str) -> tuple[str, str | None]:
    """(name, default) of a reference's body: `NAME:-text` gives a default for env only."""
    if kind == "env" and DEFAULT_MARK in body:
        name, _, default = body.partition(DEFAULT_MARK)
        return name, default
    return body, None


def _bodies(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in REFERENCE.finditer(text.replace(_ESCAPED, ""))]


class Resolver:
    """Resolves ${env:NAME} and ${file:PATH} references at run time."""

    def __init__(self, environ: Mapping[str, str] | None = None, base: Path | None = None):
        self.environ = os.environ if environ is None else environ
        self.base = base or Path.cwd()

    def lookup(self, kind: str, body: str) -> str | None:
        """The value of a reference's body (`NAME`, `NAME:-default`, `PATH`); None if unset."""
        if kind == "env":
            name, default = split_default(kind, body)
            value = self.environ.get(name)
            return default if default is not None and not value else value
        name = body
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = self.base / path
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError:
            return None

    def missing(self, text: str) -> list[tuple[str, str]]:
        """The (kind, name) of the references in `text` that have no value."""
        return [(k, split_default(k, b)[0]) for k, b in _bodies(text) if self.lookup(k, b) is None]

    def resolve(self, text: str, *, secret: bool, location: Location) -> str | Secret:
        """Substitute references; a secret field, a file reference or a sensitive variable
        name gives a Secret. Raises ReferenceProblem for an unset variable."""
        sensitive = secret
        problems: list[Problem] = []

        def sub(match: re.Match[str]) -> str:
            nonlocal sensitive
            kind, body = match.group(1), match.group(2)
            name = split_default(kind, body)[0]
            value = self.lookup(kind, body)
            if value is None:
                what = f"environment variable {name}" if kind == "env" else f"secret file {name}"
                problems.append(Problem(location, f"{what} is not set"))
                return ""
            if kind == "file" or SENSITIVE_NAME.search(name):
                sensitive = True
                REDACTOR.register(value)
            return value

        parts = text.split(_ESCAPED)
        out = "${".join(REFERENCE.sub(sub, part) for part in parts)
        if problems:
            raise ReferenceProblem(problems)
        if not sensitive:
            return out
        # The source names the references only: literal text around them may be secret too.
        source = " ".join(f"${{{kind}:{name}}}" for kind, name in references(text)) or "secret"
        return Secret(out, source=source)


class ReferenceProblem(Exception):
    """Unset references; the builder turns them into spec problems."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
