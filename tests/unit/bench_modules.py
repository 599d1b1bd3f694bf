"""The bench's scripts loaded as modules for the tests of their arithmetic (bench/ is no
package: each script runs on its own)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_bench(name: str, path: str | None = None) -> ModuleType:
    """bench/<name>.py (or `path`, from the repository's root) as module `bench_<name>`."""
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", ROOT / (path or f"bench/{name}.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
