"""The test kit for plugin authors (public API, like `integrate` itself).

Run a spec against the emulators of its plugins, offline, from any test framework:

    plugins = make_plugins()                      # from integrate.plugins
    spec = load_spec("my.yaml", plugins)          # from integrate.build
    with emulated(spec, plugins) as (emulators, options):
        emulators["crm"].seed("Accounts", [{"Account_Name": "Acme"}])
        report = run_spec(spec, plugins, options) # from integrate.engine
        assert emulators["desk"].records("accounts")[0]["name"] == "Acme"

`run_spec_tests` runs the `tests:` block of a spec, as `integrate test` does.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from integrate.emulator import Emulator
from integrate.engine import RunOptions
from integrate.model import Spec
from integrate.plugins import Plugins
from integrate.spectest import TestResult, emulated_options, run_spec_tests, start_emulators

__all__ = ["TestResult", "emulated", "run_spec_tests", "start_emulators"]


@contextlib.contextmanager
def emulated(spec: Spec, plugins: Plugins) -> Iterator[tuple[dict[str, Emulator], RunOptions]]:
    """Emulators for every connection of a spec, and run options that point the spec at
    them (with a throwaway state store). Everything is cleaned up on exit."""
    emulators = start_emulators(spec, plugins)
    try:
        with tempfile.TemporaryDirectory(prefix="integrate-emulated-") as tmp:
            options = emulated_options(
                spec,
                emulators,
                state_path=Path(tmp) / "state.db",
                failures_path=Path(tmp) / "failed.jsonl",
            )
            yield emulators, options
    finally:
        for emulator in emulators.values():
            emulator.close()
