"""The plugin manager factory: entry-point discovery, the block list, broken plugins as
warnings (never crashes), and conflicting names as errors."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from integrate import Connector, Function, ObjectInfo, Page, PluginError, WriteResult, hookimpl
from integrate.connector import WriteItem
from integrate.plugins import ALLOW_ENV, BLOCK_ENV, allowed_names, make_plugins
from integrate_files import FilesConnector, FilesEmulator

# The connectors the built-in plugins register through the entry-point group.
BUILT_IN = ("clientsuccess", "files", "ideolve", "salesmanago", "servicedesk_msp", "zoho_crm")


@pytest.fixture(autouse=True)
def _no_block_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BLOCK_ENV, raising=False)
    monkeypatch.delenv(ALLOW_ENV, raising=False)


class _Base(Connector):
    def describe(self, object: str) -> ObjectInfo:
        return ObjectInfo(object)

    def read(
        self,
        object: str,
        *,
        since: Any = None,
        fields: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        return iter(())

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        return []


class CrmConnector(_Base):
    plugin = "fake_crm"


class DeskConnector(_Base):
    plugin = "fake_desk"


class FakeFiles(_Base):
    plugin = "files"


class Crm:
    """A well-behaved plugin: one connector, one function."""

    @hookimpl
    def integrate_register_connectors(self) -> list[type[Connector]]:
        return [CrmConnector]

    @hookimpl
    def integrate_register_functions(self) -> list[Function]:
        return [Function("shout", lambda s: s.upper() + "!", ("string",))]


class RaisesInHook:
    @hookimpl
    def integrate_register_connectors(self) -> list[type[Connector]]:
        raise RuntimeError("vendor SDK not configured")


class Misspelt:
    @hookimpl
    def integrate_register_conectors(self) -> list[type[Connector]]:
        return [DeskConnector]


class FailsInLaterHook:
    """Its connector hook works, its function hook does not: nothing of it may be used."""

    @hookimpl
    def integrate_register_connectors(self) -> list[type[Connector]]:
        return [DeskConnector]

    @hookimpl
    def integrate_register_functions(self) -> list[Function]:
        raise KeyError("half-installed")


class AnswersOneClass:
    @hookimpl
    def integrate_register_connectors(self) -> type[Connector]:
        return DeskConnector


class Nameless:
    class Anonymous(_Base):
        pass

    @hookimpl
    def integrate_register_connectors(self) -> list[type[Connector]]:
        return [self.Anonymous]


def module_plugin() -> types.ModuleType:
    """A plugin as a module, the way an entry point usually names one."""
    module = types.ModuleType("fake_desk_plugin")

    @hookimpl
    def integrate_register_connectors() -> list[type[Connector]]:
        return [DeskConnector]

    module.integrate_register_connectors = integrate_register_connectors  # type: ignore[attr-defined]
    return module


def test_the_files_plugin_is_found_through_the_entry_point_group() -> None:
    plugins = make_plugins()

    (info,) = [i for i in plugins.infos if i.name == "files"]
    assert info.status == "loaded"
    assert info.module == "integrate_files"
    assert info.distribution == "integrate-sync"
    assert info.connectors == ["files"]
    assert plugins.connector("files") is FilesConnector
    assert plugins.emulators["files"] is FilesEmulator
    assert plugins.warnings == []


def test_the_block_list_names_plugins_not_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BLOCK_ENV, "other, files")

    plugins = make_plugins()

    (info,) = [i for i in plugins.infos if i.name == "files"]
    assert info.status == "blocked"
    assert "files" not in plugins.connectors
    with pytest.raises(PluginError, match="no installed plugin provides 'files'"):
        plugins.connector("files")


def test_a_star_blocks_every_entry_point_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BLOCK_ENV, "*")

    plugins = make_plugins(extra=[("crm", Crm())])

    assert {i.status for i in plugins.infos if i.name != "crm"} == {"blocked"}
    # Plugins handed in by the caller are not entry points: they still load.
    assert sorted(plugins.connectors) == ["fake_crm"]


def test_an_explicit_block_argument_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BLOCK_ENV, "files")

    assert "files" in make_plugins(block=[]).connectors
    assert "files" not in make_plugins(block=["files"]).connectors


def test_each_call_builds_a_fresh_manager() -> None:
    first = make_plugins(extra=[("crm", Crm())])
    second = make_plugins()

    assert first.manager is not second.manager
    assert "fake_crm" in first.connectors
    assert "fake_crm" not in second.connectors


def test_a_plugin_as_a_module_loads() -> None:
    plugins = make_plugins(extra=[("desk", module_plugin())])

    assert plugins.connector("fake_desk") is DeskConnector
    (info,) = [i for i in plugins.infos if i.name == "desk"]
    assert info.module == "fake_desk_plugin"


def test_plugin_functions_are_collected_after_the_core_ones() -> None:
    plugins = make_plugins(extra=[("crm", Crm())])

    names = [f.name for f in plugins.functions]
    assert names[0] == "lower"
    assert names[-1] == "shout"


# ---- broken plugins are warnings ----------------------------------------------------------


def test_a_plugin_raising_in_a_hook_is_a_warning_and_the_rest_still_load() -> None:
    plugins = make_plugins(extra=[("broken", RaisesInHook()), ("crm", Crm())])

    assert plugins.warnings == [
        "plugin 'broken' failed in integrate_register_connectors: RuntimeError: vendor SDK not"
        " configured; it is not loaded"
    ]
    assert sorted(plugins.connectors) == sorted({"fake_crm", *BUILT_IN})
    statuses = {i.name: i.status for i in plugins.infos}
    assert statuses["broken"] == "failed"
    assert statuses["crm"] == "loaded"


def test_a_misspelt_hook_is_a_warning_naming_the_hook() -> None:
    plugins = make_plugins(extra=[("desk", Misspelt()), ("crm", Crm())])

    (warning,) = plugins.warnings
    assert warning.startswith("plugin 'desk' is not a valid plugin: unknown hook")
    assert "'integrate_register_conectors'" in warning
    assert warning.endswith("; it is not loaded")
    assert sorted(plugins.connectors) == sorted({"fake_crm", *BUILT_IN})


def test_a_plugin_failing_in_any_hook_is_left_out_whole() -> None:
    plugins = make_plugins(extra=[("desk", FailsInLaterHook())])

    assert plugins.warnings == [
        "plugin 'desk' failed in integrate_register_functions: KeyError: 'half-installed';"
        " it is not loaded"
    ]
    assert "fake_desk" not in plugins.connectors
    assert [i.status for i in plugins.infos if i.name == "desk"] == ["failed"]


def test_a_hook_answering_a_class_instead_of_a_list_is_a_warning_not_a_crash() -> None:
    plugins = make_plugins(extra=[("desk", AnswersOneClass()), ("crm", Crm())])

    (warning,) = plugins.warnings
    assert warning.startswith("plugin 'desk' failed in integrate_register_connectors: TypeError")
    assert sorted(plugins.connectors) == sorted({"fake_crm", *BUILT_IN})


def test_a_connector_without_a_plugin_name_is_a_warning() -> None:
    plugins = make_plugins(extra=[("anon", Nameless())])

    (warning,) = plugins.warnings
    assert warning.startswith("plugin 'anon' registered")
    assert "without a plugin name; it is not loaded" in warning
    assert sorted(plugins.connectors) == sorted(BUILT_IN)


def _install_entry_point(root: Path, name: str, module: str, source: str) -> None:
    """A distribution on sys.path with one `integrate` entry point, as pip would leave it."""
    dist = root / f"fake_{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-{name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[integrate]\n{name} = {module}\n")
    (root / f"{module}.py").write_text(source)


def test_an_entry_point_that_fails_to_import_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_entry_point(
        tmp_path, "broken", "fake_broken_plugin", "raise RuntimeError('needs libfoo')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    plugins = make_plugins()

    assert plugins.warnings == [
        "plugin 'broken' failed to import: RuntimeError: needs libfoo; it is not loaded"
    ]
    (info,) = [i for i in plugins.infos if i.name == "broken"]
    assert (info.distribution, info.version, info.status) == ("fake-broken", "0.1", "failed")
    assert "files" in plugins.connectors


def test_a_blocked_entry_point_is_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "imported"
    _install_entry_point(
        tmp_path,
        "nosy",
        "fake_nosy_plugin",
        f"open({str(canary)!r}, 'w').close()\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(BLOCK_ENV, "nosy")

    plugins = make_plugins()

    assert not canary.exists()
    assert [i.status for i in plugins.infos if i.name == "nosy"] == ["blocked"]
    assert plugins.warnings == []


def test_the_allow_list_leaves_unlisted_entry_points_unimported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "imported"
    _install_entry_point(
        tmp_path, "nosy", "fake_nosy_allow", f"open({str(canary)!r}, 'w').close()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(ALLOW_ENV, " zoho_crm ,,other")

    plugins = make_plugins()

    assert not canary.exists()
    status = {i.name: (i.status, i.error) for i in plugins.infos}
    assert status["nosy"] == (
        "blocked",
        "not listed in INTEGRATE_PLUGINS (other, zoho_crm); it was not imported",
    )
    assert {status[n][0] for n in BUILT_IN} == {"loaded"}  # integrate-sync's own
    assert make_plugins(allow=["nosy"]).connectors.keys() >= set(BUILT_IN)
    assert canary.exists()


def test_allowed_names_tells_unset_from_empty() -> None:
    assert allowed_names({}) is None
    assert allowed_names({ALLOW_ENV: ""}) == set()
    assert allowed_names({ALLOW_ENV: "a, b"}) == {"a", "b"}


def test_provenance_names_distribution_version_and_the_module_files_hash() -> None:
    import hashlib

    import integrate_files

    origin = make_plugins().provenance()["files"]

    digest = hashlib.sha256(Path(integrate_files.__file__).read_bytes()).hexdigest()
    assert origin == {
        "distribution": "integrate-sync",
        "version": "0.1.0",
        "module": "integrate_files",
        "sha256": digest,
    }


# ---- conflicts are errors ----------------------------------------------------------------


def test_two_plugins_claiming_one_connector_name_is_an_error() -> None:
    class Impostor:
        @hookimpl
        def integrate_register_connectors(self) -> list[type[Connector]]:
            return [FakeFiles]

    with pytest.raises(PluginError) as caught:
        make_plugins(extra=[("impostor", Impostor())])

    assert str(caught.value) == (
        f"two plugins provide 'files': integrate_files.connector and {__name__}"
    )


def test_a_plugin_function_named_like_a_core_function_is_an_error() -> None:
    class Shadow:
        @hookimpl
        def integrate_register_functions(self) -> list[Function]:
            return [Function("lower", lambda s: s, ("string",))]

    with pytest.raises(PluginError) as caught:
        make_plugins(extra=[("shadow", Shadow())])

    assert str(caught.value) == "plugin 'shadow' registers function lower(), which already exists"


def test_two_plugins_registering_one_function_name_is_an_error() -> None:
    class Echo:
        @hookimpl
        def integrate_register_functions(self) -> list[Function]:
            return [Function("shout", lambda s: s, ("string",))]

    with pytest.raises(PluginError, match=r"registers function shout\(\), which already exists"):
        make_plugins(extra=[("crm", Crm()), ("echo", Echo())])


class EmulatorFails:
    @hookimpl
    def integrate_register_connectors(self) -> list[type[Connector]]:
        return [DeskConnector]

    @hookimpl
    def integrate_register_emulators(self) -> list[Any]:
        raise ImportError("No module named 'werkzeug_extra'")


def test_an_emulator_hook_failing_leaves_the_connector_and_warns_when_emulators_are_asked_for() -> (
    None
):
    plugins = make_plugins(extra=[("desk", EmulatorFails())])

    assert "fake_desk" in plugins.connectors
    assert plugins.warnings == []  # emulators are not asked for until a command needs them
    assert "fake_desk" not in plugins.emulators
    assert plugins.emulators["files"] is FilesEmulator
    assert plugins.warnings == [
        "plugin 'desk' failed in integrate_register_emulators: ImportError: No module named"
        " 'werkzeug_extra'; its emulator is not available"
    ]


def test_loading_the_plugins_imports_no_emulator() -> None:
    code = (
        "import sys; from integrate.plugins import make_plugins; make_plugins(); "
        "print(sorted(m for m in sys.modules if '_crm.emulator' in m or '_msp.emulator' in m))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
