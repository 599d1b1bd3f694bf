"""The plugin manager factory: finds plugins through the `integrate` entry-point group,
tolerates broken ones (a warning, not a crash), honours an allow list and a block list (a
plugin left out is never imported), and collects what they register."""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import importlib.util
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy
from jmespath import functions as jp_functions

from integrate import hookspecs
from integrate.connector import Connector
from integrate.emulator import Emulator
from integrate.errors import PluginError
from integrate.functions import CONTEXT_FUNCTIONS, CORE_FUNCTIONS, Function

ENTRY_POINT_GROUP = "integrate"
# Called for every command. Emulators are asked for only by the commands that use them
# (--sandbox, test, emulate): importing them costs more than the rest of a plugin.
_HOOKS = (
    "integrate_register_connectors",
    "integrate_register_functions",
)
EMULATORS_HOOK = "integrate_register_emulators"
BLOCK_ENV = "INTEGRATE_BLOCK_PLUGINS"
ALLOW_ENV = "INTEGRATE_PLUGINS"
# The distribution of the core and its built-in plugins: always allowed (never blocked by
# INTEGRATE_PLUGINS; INTEGRATE_BLOCK_PLUGINS still blocks them).
OWN_DISTRIBUTION = "integrate-sync"


@dataclass
class PluginInfo:
    """What `integrate plugins` shows about one plugin."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    status: str = "loaded"  # loaded | blocked | failed
    error: str = ""  # why it failed, or why it is blocked
    connectors: list[str] = field(default_factory=list)

    def provenance(self) -> dict[str, str]:
        """Where the loaded plugin came from, for the run history: distribution, version,
        module and the SHA-256 of the module's file (its entry point's module only)."""
        module = self.module.split(":", 1)[0]
        return {
            "distribution": self.distribution,
            "version": self.version,
            "module": module,
            "sha256": _file_hash(module),
        }


@dataclass
class Plugins:
    """A plugin manager and everything its plugins registered."""

    manager: pluggy.PluginManager
    infos: list[PluginInfo]
    connectors: dict[str, type[Connector]]
    functions: list[Function]
    warnings: list[str]
    _emulators: dict[str, type[Emulator]] | None = field(default=None, repr=False)

    @property
    def emulators(self) -> dict[str, type[Emulator]]:
        """Each plugin's emulator by plugin name, asked of the plugins on first use. A plugin
        whose emulator hook fails keeps its connectors; its emulator is left out, with a
        warning."""
        if self._emulators is None:
            found: dict[str, type[Emulator]] = {}

            def unavailable(name: str, exc: Exception) -> None:
                self.warnings.append(
                    f"plugin '{name}' failed in {EMULATORS_HOOK}: {type(exc).__name__}: {exc}; "
                    "its emulator is not available"
                )

            # failed plugins were unregistered: only loaded ones answer
            for _name, classes in _call_each(self.manager, EMULATORS_HOOK, unavailable):
                for cls in classes:
                    found[cls.plugin] = cls
            self._emulators = found
        return self._emulators

    def connector(self, name: str) -> type[Connector]:
        try:
            return self.connectors[name]
        except KeyError:
            raise PluginError(f"no installed plugin provides '{name}'") from None

    def config_schemas(self) -> dict[str, Mapping[str, Any]]:
        return {name: cls.config_schema for name, cls in self.connectors.items()}

    def provenance(self) -> dict[str, dict[str, str]]:
        """Every loaded plugin's origin by name (see PluginInfo.provenance)."""
        return {i.name: i.provenance() for i in self.infos if i.status == "loaded"}


def blocked_names(environ: Mapping[str, str] | None = None) -> set[str]:
    raw = (environ if environ is not None else os.environ).get(BLOCK_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def allowed_names(environ: Mapping[str, str] | None = None) -> set[str] | None:
    """The entry-point names INTEGRATE_PLUGINS allows; None when it is not set (all are).
    Set but empty allows only the plugins of integrate-sync itself."""
    raw = (environ if environ is not None else os.environ).get(ALLOW_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _why_blocked(name: str, distribution: str, blocked: set[str], allowed: set[str] | None) -> str:
    """Why an entry-point plugin must not be imported, or "" when it may be."""
    if name in blocked or "*" in blocked:
        return f"named by {BLOCK_ENV}; it was not imported"
    if allowed is not None and name not in allowed:
        if _canonical(distribution) == OWN_DISTRIBUTION:
            return ""
        listed = ", ".join(sorted(allowed)) or "nothing"
        return f"not listed in {ALLOW_ENV} ({listed}); it was not imported"
    return ""


def _file_hash(module: str) -> str:
    """SHA-256 of a module's file, found without importing anything ("" if it has none)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return ""
    origin = spec.origin if spec is not None else None
    if not origin or not os.path.isfile(origin):
        return ""
    try:
        with open(origin, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return ""


def make_plugins(
    *,
    entry_points: bool = True,
    extra: Iterable[tuple[str, object]] = (),
    block: Iterable[str] | None = None,
    allow: Iterable[str] | None = None,
) -> Plugins:
    """Build a fresh plugin manager (never a global): entry-point plugins that are allowed
    (`INTEGRATE_PLUGINS=name,...` when set; integrate-sync's own always) and not blocked
    (`INTEGRATE_BLOCK_PLUGINS=name,...`, or `*` for all), plus `extra` (name, plugin) pairs.
    A plugin left out is never imported: its module's code does not run."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = set(block) if block is not None else blocked_names()
    allowed = set(allow) if allow is not None else allowed_names()
    infos: list[PluginInfo] = []
    warnings: list[str] = []

    candidates: list[tuple[PluginInfo, Any]] = []
    if entry_points:
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist else "",
                version=dist.version if dist else "",
            )
            infos.append(info)
            why = _why_blocked(ep.name, info.distribution, blocked, allowed)
            if why:
                info.status = "blocked"
                info.error = why
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001  (any import error of third-party code)
                _fail(info, warnings, f"failed to import: {type(exc).__name__}: {exc}")
                continue
            candidates.append((info, plugin))
    for name, plugin in extra:
        info = PluginInfo(name=name, module=getattr(plugin, "__name__", repr(plugin)))
        infos.append(info)
        candidates.append((info, plugin))

    for info, plugin in candidates:
        try:
            pm.register(plugin, name=info.name)
            pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as exc:
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            _fail(info, warnings, f"is not a valid plugin: {exc}")

    # Every hook of every plugin is called before anything is kept, so that a plugin failing
    # in any hook is left out whole (not with its connectors kept and its functions lost).
    by_name = {info.name: info for info in infos if info.status == "loaded"}

    def failed(name: str) -> bool:
        info = by_name.get(name)
        return info is not None and info.status == "failed"

    def fail_in(hook: str) -> Callable[[str, Exception], None]:
        def on_error(name: str, exc: Exception) -> None:
            if name in by_name:
                _fail(by_name[name], warnings, f"failed in {hook}: {type(exc).__name__}: {exc}")

        return on_error

    answers = {hook: list(_call_each(pm, hook, fail_in(hook), failed)) for hook in _HOOKS}
    for impl_name, result in answers["integrate_register_connectors"]:
        for cls in result:
            if not getattr(cls, "plugin", "") and by_name[impl_name].status != "failed":
                _fail(by_name[impl_name], warnings, f"registered {cls!r} without a plugin name")
    for info in infos:
        plugin = pm.get_plugin(info.name) if info.status == "failed" else None
        if plugin is not None:
            pm.unregister(plugin)

    def kept(hook: str) -> list[tuple[str, list[Any]]]:
        return [(n, r) for n, r in answers[hook] if by_name[n].status != "failed"]

    connectors: dict[str, type[Connector]] = {}
    functions: list[Function] = list(CORE_FUNCTIONS)
    for impl_name, result in kept("integrate_register_connectors"):
        for cls in result:
            name = cls.plugin
            if name in connectors:
                raise PluginError(
                    f"two plugins provide '{name}': {connectors[name].__module__} and {cls.__module__}"
                )
            connectors[name] = cls
            by_name[impl_name].connectors.append(name)
    # JMESPath's built-ins and the core's context functions cannot be replaced either.
    taken = (
        {fn.name for fn in functions}
        | set(jp_functions.Functions.FUNCTION_TABLE)
        | CONTEXT_FUNCTIONS
    )
    for impl_name, result in kept("integrate_register_functions"):
        for fn in result:
            if fn.name in taken:
                raise PluginError(
                    f"plugin '{impl_name}' registers function {fn.name}(), which already exists"
                )
            taken.add(fn.name)
            functions.append(fn)
    return Plugins(pm, infos, connectors, functions, warnings)


def _fail(info: PluginInfo, warnings: list[str], message: str) -> None:
    info.status = "failed"
    info.error = message
    warnings.append(f"plugin '{info.name}' {message}; it is not loaded")


def _call_each(
    pm: pluggy.PluginManager,
    hook_name: str,
    on_error: Callable[[str, Exception], None],
    skip: Callable[[str], bool] = lambda _name: False,
) -> Iterable[tuple[str, list[Any]]]:
    """Call one hook plugin by plugin, so that one broken plugin cannot take the rest down:
    (plugin, answer) for each that answers, `on_error(plugin, exc)` for each that fails."""
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():
        if skip(impl.plugin_name):
            continue
        try:
            # list(): a hook answering one class instead of a list fails here, as its own.
            result = list(impl.function() or [])
        except Exception as exc:  # noqa: BLE001  (third-party hook code)
            on_error(impl.plugin_name, exc)
            continue
        yield impl.plugin_name, result
