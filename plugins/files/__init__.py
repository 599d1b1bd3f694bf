"""integrate's `files` plugin: a folder of JSON-lines or CSV files as objects.

Registered through the `integrate` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from integrate import Connector, Emulator, hookimpl
from integrate_files.connector import FilesConnector, __version__
from integrate_files.emulator import FilesEmulator

__all__ = ["FilesConnector", "FilesEmulator", "__version__"]


@hookimpl
def integrate_register_connectors() -> list[type[Connector]]:
    return [FilesConnector]


@hookimpl
def integrate_register_emulators() -> list[type[Emulator]]:
    return [FilesEmulator]
