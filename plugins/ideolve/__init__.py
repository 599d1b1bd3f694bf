"""integrate's `ideolve` plugin: Ideolve's v4 REST API (workspaces, notes, their comments
and attachments), and an emulator of it (`integrate_ideolve.emulator`).

Registered through the `integrate` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from integrate import Connector, Emulator, hookimpl
from integrate_ideolve.connector import IdeolveConnector, __version__

__all__ = ["IdeolveConnector", "__version__"]


@hookimpl
def integrate_register_connectors() -> list[type[Connector]]:
    return [IdeolveConnector]


@hookimpl
def integrate_register_emulators() -> list[type[Emulator]]:
    from integrate_ideolve.emulator import IdeolveEmulator

    return [IdeolveEmulator]
