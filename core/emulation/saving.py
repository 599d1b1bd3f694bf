"""Keeping an emulated system between runs (`--sandbox`): one JSON file per emulator holding
the constructor settings that make it again and the state of each of its saveable parts
(record store, authorisation server, ...), each part writing and reading its own state."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from integrate.errors import StateError


class Saveable(Protocol):
    """A part of an emulator that keeps its own state: `snapshot()` gives it as JSON-able
    data, `restore(state)` takes back what `snapshot()` gave (on a part made afresh)."""

    def snapshot(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


@dataclass(frozen=True)
class Saved:
    """What a save file holds: the emulator's settings and each part's state by name."""

    settings: dict[str, Any]
    parts: dict[str, Any]


def write_saved(
    path: Path, version: int, settings: Mapping[str, Any], parts: Mapping[str, Saveable]
) -> None:
    """Write the settings and every part's snapshot to `path` (through a temporary file, so
    a save cut short leaves the last one whole)."""
    state: dict[str, Any] = {"version": version, "settings": dict(settings)}
    for name, part in parts.items():
        state[name] = part.snapshot()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)


def read_saved(path: Path, version: int) -> Saved:
    """The settings and the parts' states from a file `write_saved` wrote in this `version`
    of its format; a `StateError` saying what to do for a missing, unreadable or other file
    (a sandbox kept by an older version of the emulator)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(
            f"{path}: cannot read the emulator's saved data ({exc}): start the sandbox over "
            "with --fresh"
        ) from exc
    if not isinstance(state, dict) or state.get("version") != version:
        found = state.get("version") if isinstance(state, dict) else None
        raise StateError(
            f"{path} was written by another version of the emulator (format {found}, this one "
            f"reads {version}): start the sandbox over with --fresh"
        )
    if not isinstance(state.get("settings"), dict):
        raise ValueError(
            f"{path} lacks the emulator's settings: start the sandbox over with --fresh"
        )
    parts = {name: value for name, value in state.items() if name not in ("version", "settings")}
    return Saved(dict(state["settings"]), parts)
