"""docs/ideolve-plugin.md's emulator section covers what a user can set and meet: every option
of the emulator has a row, every path it serves and every reason it answers with is named, and
the sandbox credentials it states are the ones the emulator takes."""

from __future__ import annotations

import re

from integrate_ideolve.emulator import IdeolveEmulator, refusals
from integrate_ideolve.emulator.app import SERVED
from tests.plugins.emulator_docs import emulator_section, options_without_a_row
from tests.plugins.ideolve.emulator_kit import Ideolve


def section() -> str:
    return emulator_section("ideolve-plugin.md")


def test_every_emulator_option_has_a_row() -> None:
    assert options_without_a_row(IdeolveEmulator, section()) == []


def test_every_path_and_reason_is_named() -> None:
    text = " ".join(section().split())  # lines wrap anywhere
    for path, methods in SERVED:
        for method in methods:
            assert f"`{method} {path}`" in text, (method, path)
    reasons = [v for k, v in vars(refusals).items() if k.isupper() and isinstance(v, str)]
    for reason in reasons:
        assert reason in text, reason


def test_the_stated_sandbox_credentials_are_the_emulators() -> None:
    table = dict(re.findall(r"^\| (Client-Id|Connector-Api-Key|acting user) \| `([^`]+)` \|",
                            section(), re.MULTILINE))  # fmt: skip
    io = Ideolve()
    io.headers = {"Client-Id": table["Client-Id"],
                  "Connector-Api-Key": table["Connector-Api-Key"], "App-Name": "docs"}  # fmt: skip

    assert io.ok("POST", "/auth", user=table["acting user"]) == {"status": "SUCCESS"}
    assert io.emulator.connection_config()["user"] == table["acting user"]
