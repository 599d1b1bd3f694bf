"""The built wheel, installed into a fresh virtualenv, works on its own: editable installs
hide packaging mistakes (a missing schema file, an unlisted package, a lost entry point)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def sh(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )


@pytest.mark.slow
def test_wheel_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = sh(sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("integrate_sync-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    installed = sh(bin_dir / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # Nothing of the source tree is reachable from here.
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "examples/files-demo.yaml", work / "spec.yaml")
    where = sh(
        bin_dir / "python",
        "-c",
        "import integrate, integrate_files; print(integrate.__file__)",
        cwd=work,
    )
    assert str(env_dir) in where.stdout, where.stdout + where.stderr

    plugins = sh(bin_dir / "integrate", "plugins", "--json", cwd=work)
    assert plugins.returncode == 0, plugins.stderr
    rows = {row["name"]: row for row in json.loads(plugins.stdout)}
    assert rows["files"]["status"] == "loaded"
    assert rows["files"]["distribution"] == "integrate-sync"
    assert rows["zoho_crm"]["status"] == "loaded"
    assert rows["zoho_crm"]["emulator"] is True
    assert rows["servicedesk_msp"]["status"] == "loaded"
    assert rows["servicedesk_msp"]["emulator"] is True
    assert rows["salesmanago"]["status"] == "loaded"
    assert rows["salesmanago"]["emulator"] is True
    assert rows["clientsuccess"]["status"] == "loaded"
    assert rows["clientsuccess"]["emulator"] is True
    assert rows["ideolve"]["status"] == "loaded"
    assert rows["ideolve"]["emulator"] is True

    checked = sh(bin_dir / "integrate", "validate", "spec.yaml", cwd=work)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "spec.yaml: ok (2 connections, flows: companies, people)" in checked.stdout

    schema = sh(bin_dir / "integrate", "schema", cwd=work)
    assert schema.returncode == 0, schema.stderr
    plugin_names = json.loads(schema.stdout)["$defs"]["connection"]["properties"]["plugin"][
        "examples"
    ]
    assert plugin_names == [
        "clientsuccess",
        "files",
        "ideolve",
        "salesmanago",
        "servicedesk_msp",
        "zoho_crm",
    ]
