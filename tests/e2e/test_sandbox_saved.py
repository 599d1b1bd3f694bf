"""A sandbox keeps its emulated systems in files between sandbox commands; a file written by
another version of an emulator's save format stops the command with a plain message that
says to start the sandbox over (exit 1), not a traceback; `--fresh` then starts it over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import repo_root


def test_a_sandbox_saved_in_another_format_asks_to_be_started_over(cli: Any, workdir: Path) -> None:
    spec = str(repo_root() / "specs/zoho_crm-servicedesk_msp.yaml")
    assert cli("run", spec, "--sandbox").exit_code == 0
    saved = workdir / ".integrate/sandbox/zoho-crm-to-servicedesk-msp/crm/zoho_crm.json"
    state = json.loads(saved.read_text(encoding="utf-8"))
    saved.write_text(json.dumps(state | {"version": state["version"] - 1}), encoding="utf-8")

    again = cli("run", spec, "--sandbox")

    assert again.exit_code == 1
    assert f"{saved} was written by another version of the emulator" in again.stderr
    assert "start the sandbox over with --fresh" in again.stderr
    assert cli("run", spec, "--sandbox", "--fresh").exit_code == 0
