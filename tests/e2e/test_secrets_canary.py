"""ALL-1 / T13: a canary secret, leaked on purpose by a careless plugin into its errors and
logs, appears nowhere the run writes: output, logs, failed-records file, state store."""

from __future__ import annotations

import base64
import logging
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest

from integrate import WriteItem, WriteResult, hookimpl, reveal
from integrate.build import load_spec
from integrate.cli import _setup_logging
from integrate.engine import RunOptions, run_spec
from integrate.plugins import make_plugins
from integrate_files import FilesConnector
from tests.conftest import write_jsonl

CANARY = "canary-Zq8x/SECRET+771="


class LeakyConnector(FilesConnector):
    """A files connector that puts its token everywhere it should not."""

    plugin = "leaky"
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["path", "token"],
        "properties": {"path": {"type": "string"}, "token": {"type": "string", "x-secret": True}},
    }

    def write(self, object: str, operation: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        token = reveal(self.config["token"])
        logging.getLogger("leaky").warning(
            "writing with token %s (%s)", token, self.config["token"]
        )
        results = super().write(object, operation, items[1:])
        rejected = WriteResult.failure(items[0].ref, f"server said: bad token {token}", "AUTH")
        return [rejected, *results]


LEAKY = SimpleNamespace(
    integrate_register_connectors=hookimpl(lambda: [LeakyConnector]),
)

SPEC = """\
integrate: 1
name: canary
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: leaky, config: {path: ./dst, token: "${env:CANARY_API_TOKEN}"}}
failures: out/failed.jsonl
flows:
  items:
    from: src.items
    to: dst.items
    fields: {name: name, note: note}
"""


def forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode().rstrip("="),
    ]


def test_a_canary_secret_appears_nowhere(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CANARY_API_TOKEN", CANARY)
    Path("spec.yaml").write_text(SPEC)
    write_jsonl(
        workdir / "src/items.jsonl",
        [
            {"id": "1", "name": "first", "note": "rejected"},
            {"id": "2", "name": "second", "note": "fine"},
        ],
    )
    _setup_logging(2)
    plugins = make_plugins(extra=[("leaky", LEAKY)])
    spec = load_spec("spec.yaml", plugins)

    report = run_spec(spec, plugins, RunOptions())
    logging.getLogger("integrate").info("config was %s", spec.connections["dst"].config)
    captured = capsys.readouterr()
    logging.getLogger().handlers.clear()

    assert report.failed_records == 1
    written = {
        "stdout": captured.out,
        "stderr": captured.err,
        "failures file": (workdir / "out/failed.jsonl").read_text(),
        "state store": b"".join(
            p.read_bytes() for p in (workdir / ".integrate").glob("state.db*")
        ).decode("latin-1"),
    }
    assert "server said: bad token ***" in written["failures file"]
    assert "writing with token *** (***)" in written["stderr"]
    leaks = [
        (where, form) for where, text in written.items() for form in forms(CANARY) if form in text
    ]
    assert leaks == []
    # The one record that landed is intact: redaction guards what we write, not the data flow.
    assert Path("dst/items.jsonl").read_text().count("second") == 1


def test_a_secret_field_written_literally_is_refused(workdir: Path) -> None:
    Path("spec.yaml").write_text(SPEC.replace('"${env:CANARY_API_TOKEN}"', "hunter2-literal"))
    plugins = make_plugins(extra=[("leaky", LEAKY)])

    with pytest.raises(Exception) as caught:
        load_spec("spec.yaml", plugins)

    message = str(caught.value)
    assert "spec.yaml:5:53: 'token' is a secret: write a reference such as ${env:NAME}" in message
    assert "hunter2-literal" not in message
