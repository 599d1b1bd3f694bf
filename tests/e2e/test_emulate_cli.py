"""`integrate emulate` prints what points a spec at the emulator in a form a spec accepts:
`export NAME=…` lines (quoted for the shell) and the connection that reads them with
`${env:NAME}` (a spec refuses a secret written as its value). A spec made of the printed
connection, with the printed exports, validates and runs against that emulator (issue 14)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_jsonl
from tests.e2e.emulate import emulate

FLOWS = """\
  out: {{plugin: files, config: {{path: ./out}}}}
name: from-emulate
integrate: 1
flows:
  accounts:
    from: {plugin}.{object}
    to: out.accounts
    match: [[{name}, name]]
    fields: {{name: {name}}}
"""
CASES = {
    "zoho_crm": ("Accounts", "Account_Name"),
    "servicedesk_msp": ("accounts", "name"),
}


@pytest.mark.parametrize("plugin", sorted(CASES))
def test_a_spec_made_of_what_emulate_prints_runs_against_it(
    cli: Any, workdir: Path, plugin: str
) -> None:
    obj, name = CASES[plugin]
    with emulate(plugin, "accounts=4", home=workdir / ".integrate") as served:
        # Every printed export is a shell assignment, quoted; the printed connection reads
        # each of them, and holds no value of its own that a spec refuses (a secret).
        exports = [line for line in served.lines if line.startswith("export ")]
        assert exports
        assert len(exports) == len(served.exports)
        for line in exports:
            name_, _, value = line.removeprefix("export ").partition("=")
            assert shlex.quote(served.exports[name_]) == value
            assert f"${{env:{name_}}}" in served.snippet
        assert served.url in served.exports.values()
        for value in served.exports.values():
            assert value not in served.snippet
        Path("spec.yaml").write_text(
            served.snippet + FLOWS.format(plugin=plugin, object=obj, name=name)
        )

        checked = cli("validate", "--strict", "spec.yaml", env=served.exports)
        ran = cli("run", "spec.yaml", env=served.exports)

    assert checked.exit_code == 0, checked.output
    assert ran.exit_code == 0, ran.output
    written = read_jsonl(workdir / "out/accounts.jsonl")
    assert len(written) == 4
    assert all(r["name"] for r in written)
