"""The emulator's options checked as `integrate emulate --set` and a spec's `sandbox.options`
give them: a value an option cannot take is an `EmulatorOptionError` that names the option and
what it takes (exit 2 from the command, never a traceback)."""

from __future__ import annotations

from typing import Any

from integrate import quoted, valid_email
from integrate_ideolve.emulator.refusals import EmulatorOptionError

PREFIX = "ideolve emulator"


def number(name: str, value: Any, *, low: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not low <= value < float("inf"):
        raise EmulatorOptionError(
            f"{PREFIX}: {name} takes a number of at least {low:g}, not {_shown(value)}"
        )
    return float(value)


def whole(name: str, value: Any, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise EmulatorOptionError(
            f"{PREFIX}: {name} takes a whole number of at least {low}, not {_shown(value)}"
        )
    return value


def text(name: str, value: Any) -> str:
    """A credential: printable ASCII (it goes in a header), 1 to 255 characters."""
    ok = isinstance(value, str) and 0 < len(value) <= 255
    if not ok or not all(" " < c < "\x7f" for c in value):
        raise EmulatorOptionError(
            f"{PREFIX}: {name} takes 1 to 255 printable ASCII characters without spaces"
        )
    return str(value)


def email(name: str, value: Any) -> str:
    if not isinstance(value, str) or not valid_email(value):
        raise EmulatorOptionError(f"{PREFIX}: {name} takes an e-mail address, not {_shown(value)}")
    return str(value)


def names(name: str, value: Any) -> tuple[str, ...]:
    """Workspace names: a list, or text with commas between them (as `--set` gives it)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise EmulatorOptionError(f"{PREFIX}: {name} takes names, comma-separated")
    found = tuple(i.strip() for i in items if i.strip())
    folded = [n.casefold() for n in found]
    if len(folded) != len(set(folded)) or any(len(n) > 255 for n in found):
        raise EmulatorOptionError(
            f"{PREFIX}: {name} must be different names (without case) of at most 255 characters"
        )
    return found


def _shown(value: Any) -> str:
    """An option's value as a message quotes it: text in quotes, cut short."""
    return repr(quoted(value, 20)) if isinstance(value, str) else quoted(value, 20)
