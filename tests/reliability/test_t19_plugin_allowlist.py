"""T19: an installed plugin that `INTEGRATE_PLUGINS` does not list is never imported (its
module's code never runs) and `integrate plugins` shows it blocked, with why. The plugins of
integrate-sync itself always load; `INTEGRATE_BLOCK_PLUGINS` still blocks. Each run's history
row records where every loaded plugin came from.

The third-party plugin is a real installed distribution as pip leaves it (a `*.dist-info`
with `entry_points.txt`, and its module) in a folder on PYTHONPATH; `python -m integrate`
runs in a subprocess, so entry points are discovered as on an operator's machine."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import integrate_files
from tests.conftest import people_sync

PLUGIN = '''\
"""A plugin with an import side effect: it writes a marker file as soon as it is imported."""
import os
import pathlib

pathlib.Path(os.environ["FAKEPLUG_MARKER"]).write_text("imported")

from integrate import hookimpl


@hookimpl
def integrate_register_connectors():
    return []
'''


class Installed:
    """A folder holding the fake distribution `fakeplug` 1.0 (entry point `fakeplug`)."""

    def __init__(self, root: Path):
        self.site = root / "site"
        info = self.site / "fakeplug-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text("[integrate]\nfakeplug = fakeplug_mod\n")
        (self.site / "fakeplug_mod.py").write_text(PLUGIN)
        self.marker = root / "marker"
        self.root = root
        people_sync(root, [{"id": "1", "email": "a@example.com"}], name="t19")

    def integrate(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in ("INTEGRATE_PLUGINS", "INTEGRATE_BLOCK_PLUGINS")
        }
        return subprocess.run(
            [sys.executable, "-m", "integrate", *args],
            cwd=self.root,
            env={
                **base,
                "PYTHONPATH": str(self.site),
                "FAKEPLUG_MARKER": str(self.marker),
                "INTEGRATE_HOME": str(self.root / ".integrate"),
                **env,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def listed(self, **env: str) -> dict[str, dict[str, Any]]:
        result = self.integrate("plugins", "--json", **env)
        assert result.returncode == 0, result.stderr
        return {row["name"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def installed(tmp_path: Path) -> Installed:
    return Installed(tmp_path)


def test_T19_an_unlisted_plugin_is_never_imported_and_shows_blocked(installed: Installed) -> None:
    rows = installed.listed(INTEGRATE_PLUGINS="servicedesk_msp")
    validated = installed.integrate("validate", "spec.yaml", INTEGRATE_PLUGINS="servicedesk_msp")
    table = installed.integrate("plugins", INTEGRATE_PLUGINS="servicedesk_msp")

    assert not installed.marker.exists(), "the unlisted plugin's module ran"
    assert rows["fakeplug"]["status"] == "blocked"
    assert rows["fakeplug"]["distribution"] == "fakeplug"
    assert "not listed in INTEGRATE_PLUGINS (servicedesk_msp)" in rows["fakeplug"]["error"]
    # integrate-sync's own plugins load whatever the list says
    assert {rows[n]["status"] for n in ("files", "zoho_crm", "servicedesk_msp", "salesmanago")} == {
        "loaded"
    }
    assert validated.returncode == 0, validated.stderr
    assert "fakeplug" in table.stdout
    assert "blocked" in table.stdout


def test_T19_without_the_allow_list_the_plugin_is_imported(installed: Installed) -> None:
    # The control: the fake distribution is found and its import side effect is real.
    rows = installed.listed()

    assert installed.marker.read_text() == "imported"
    assert rows["fakeplug"]["status"] == "loaded"
    assert rows["fakeplug"]["version"] == "1.0"


def test_T19_a_listed_plugin_is_loaded(installed: Installed) -> None:
    rows = installed.listed(INTEGRATE_PLUGINS="fakeplug, zoho_crm")

    assert installed.marker.exists()
    assert rows["fakeplug"]["status"] == "loaded"
    assert rows["files"]["status"] == "loaded"


def test_T19_an_empty_allow_list_leaves_only_integrate_syncs_own_plugins(
    installed: Installed,
) -> None:
    rows = installed.listed(INTEGRATE_PLUGINS="")

    assert not installed.marker.exists()
    assert rows["fakeplug"]["status"] == "blocked"
    assert rows["files"]["status"] == "loaded"


def test_T19_the_block_list_still_blocks(installed: Installed) -> None:
    rows = installed.listed(INTEGRATE_BLOCK_PLUGINS="fakeplug,files", INTEGRATE_PLUGINS="fakeplug")

    assert not installed.marker.exists()
    assert rows["fakeplug"]["status"] == "blocked"
    assert rows["fakeplug"]["error"] == "named by INTEGRATE_BLOCK_PLUGINS; it was not imported"
    assert rows["files"]["status"] == "blocked"  # the block list applies to built-ins too


def test_T19_the_run_history_records_where_each_loaded_plugin_came_from(
    installed: Installed,
) -> None:
    run = installed.integrate("run", "spec.yaml", INTEGRATE_PLUGINS="fakeplug")
    shown = installed.integrate("state", "show", "spec.yaml", "--json")

    assert run.returncode == 0, run.stderr
    [row] = json.loads(shown.stdout)["runs"]
    files = row["plugins"]["files"]
    source = Path(integrate_files.__file__).read_bytes()
    assert files["distribution"] == "integrate-sync"
    assert files["version"] == "0.1.0"
    assert files["sha256"] == hashlib.sha256(source).hexdigest()
    fake = row["plugins"]["fakeplug"]
    assert (fake["distribution"], fake["version"], fake["module"]) == (
        "fakeplug",
        "1.0",
        "fakeplug_mod",
    )
    assert fake["sha256"] == hashlib.sha256(PLUGIN.encode()).hexdigest()
