"""docs/clientsuccess-plugin.md's emulator section covers what a user can set and meet: every
option of the emulator has a row, every path it serves and every message it answers with is
named, and the sandbox credentials it states are the ones that log in."""

from __future__ import annotations

import re

from integrate_clientsuccess.emulator import ClientSuccessEmulator, refusals
from integrate_clientsuccess.emulator.app import SERVED
from tests.plugins.clientsuccess.emulator_kit import Cs
from tests.plugins.emulator_docs import emulator_section, options_without_a_row


def section() -> str:
    return emulator_section("clientsuccess-plugin.md")


def test_every_emulator_option_has_a_row() -> None:
    assert options_without_a_row(ClientSuccessEmulator, section()) == []


def test_every_path_and_message_is_named() -> None:
    text = " ".join(section().split())  # lines wrap anywhere
    for path, methods in SERVED:
        for method in methods:
            assert f"`{method} {path}" in text, (method, path)
    messages = [v for k, v in vars(refusals).items() if k.isupper() and isinstance(v, str)]
    for message in messages:
        assert message in text, message


def test_the_stated_sandbox_credentials_log_in() -> None:
    rows = re.findall(r"^\| (admin|reader) \| `([^`]+)` \| `([^`]+)` \|", section(), re.MULTILINE)
    cs = Cs()

    assert len(rows) == 2
    for _, username, password in rows:
        assert cs.login((username, password))
