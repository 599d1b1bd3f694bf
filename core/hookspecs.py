"""Every hook a plugin can implement, grouped by when it runs.

Hooks are named integrate_<verb>_<noun>. The built-in plugins (files, zoho_crm ...) use
exactly these hooks, registered through the `integrate` entry-point group.
"""

from __future__ import annotations

import pluggy

from integrate.connector import Connector
from integrate.emulator import Emulator
from integrate.functions import Function

PROJECT = "integrate"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---- discovery: called once when the plugin manager is built --------------------------


@hookspec
def integrate_register_connectors() -> list[type[Connector]]:  # type: ignore[empty-body]
    """Connector classes this plugin provides.

    Called once per plugin manager. Each class sets `plugin` (the name specs use in
    `connections.<alias>.plugin`), `version` and `config_schema`. Two plugins claiming one
    name is an error naming both.
    """


@hookspec
def integrate_register_functions() -> list[Function]:  # type: ignore[empty-body]
    """JMESPath functions specs may call (pure, total: no I/O, no side effects).

    Called once per plugin manager. A function whose name is taken (by JMESPath, the core,
    or another plugin) is an error.
    """


@hookspec
def integrate_register_emulators() -> list[type[Emulator]]:  # type: ignore[empty-body]
    """Emulator classes, one per connector plugin: what tests and `integrate test` run
    specs against instead of the real system.

    Called once per plugin manager. Each class sets `plugin` to its connector's name.
    """
