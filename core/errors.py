"""The exception tree: one root, each type owning the exit code the CLI gives it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Location:
    """Where something came from in a spec: file, 1-based line and column."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec, at a place, in plain words."""

    location: Location
    message: str
    path: str = "$"
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        tail = f" (at {self.path})" if self.path and self.path != "$" else ""
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.location}: {prefix}{self.message}{tail}"


class IntegrateError(Exception):
    """Root of every error `integrate` raises on purpose. Anything else is a bug."""

    exit_code = 1


class SpecError(IntegrateError):
    """A spec has problems; carries every one found, each with its location."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.location, p.path))
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__("\n".join([*map(str, self.problems), f"{count} {noun} found"]))

    @classmethod
    def single(cls, location: Location, message: str, path: str = "$") -> SpecError:
        return cls([Problem(location, message, path)])


class UsageError(IntegrateError):
    """A command was asked for something that does not exist or makes no sense."""

    exit_code = 2


class PluginError(IntegrateError):
    """A plugin is missing, broken or answered the core in a way it should not."""

    exit_code = 2


class ConnectorError(IntegrateError):
    """A remote system refused or failed a whole call (not one record)."""

    exit_code = 1

    def __init__(self, message: str, *, code: str = "", retriable: bool = False):
        super().__init__(message)
        self.code = code
        self.retriable = retriable


class AuthError(ConnectorError):
    """Credentials are missing, wrong or lack the rights; re-authorising is needed."""


class StateError(IntegrateError):
    """The state store is unusable, locked by another run, or asked for something absent."""

    exit_code = 1


class RunLocked(StateError):
    """Another run of the same integration holds the lock."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class RecordError(IntegrateError):
    """One record could not be mapped or written. Fails that record only."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        location: Location | None = None,
        stage: str = "map",
        retriable: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.location = location
        self.stage = stage
        self.retriable = retriable


@dataclass
class ProblemList:
    """Collects problems while a spec is checked, then raises them all at once."""

    items: list[Problem] = field(default_factory=list)

    def add(self, location: Location, message: str, path: str = "$") -> None:
        self.items.append(Problem(location, message, path))

    def warn(self, location: Location, message: str, path: str = "$") -> None:
        self.items.append(Problem(location, message, path, severity="warning"))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def raise_if_any(self) -> None:
        if self.errors:
            raise SpecError(self.errors)


# Exit codes, documented in docs/cli.md.
EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_SPEC = 2
EXIT_RECORDS_FAILED = 3
