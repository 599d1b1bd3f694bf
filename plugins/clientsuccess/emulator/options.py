"""The emulator's options checked as `integrate emulate --set` and a spec's `sandbox.options`
give them: a value an option cannot take is an `EmulatorOptionError` that names the option and
what it takes (exit 2 from the command, never a traceback)."""

from __future__ import annotations

from typing import Any

from integrate import quoted
from integrate_clientsuccess.emulator.refusals import EmulatorOptionError

MAX_COUNT = 1_000_000


def count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise EmulatorOptionError(
            f"clientsuccess emulator: {name} takes a whole number from 0 to {MAX_COUNT}, "
            f"not {_shown(value)}"
        )
    return value


def number(name: str, value: Any, *, low: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not low <= value < float("inf"):
        raise EmulatorOptionError(
            f"clientsuccess emulator: {name} takes a number of at least {low:g}, "
            f"not {_shown(value)}"
        )
    return float(value)


def _shown(value: Any) -> str:
    """An option's value as a message quotes it: text in quotes, cut short."""
    return repr(quoted(value, 20)) if isinstance(value, str) else quoted(value, 20)


def text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise EmulatorOptionError(
            f"clientsuccess emulator: {name} takes text of 1 to 255 characters"
        )
    return value


def names(name: str, value: Any) -> tuple[str, ...]:
    """Segment titles: a list, or text with commas between them (as `--set` gives it)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise EmulatorOptionError(f"clientsuccess emulator: {name} takes titles, comma-separated")
    titles = tuple(i.strip() for i in items if i.strip())
    if len(titles) != len(set(titles)) or any(len(t) > 255 for t in titles):
        raise EmulatorOptionError(f"clientsuccess emulator: {name} must be different titles")
    return titles
