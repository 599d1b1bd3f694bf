"""What the shipped specs, examples and docs say is true in a clone: every path they cite
exists in the repository, every `make` target they name is in the Makefile, the files demo
runs as its header says, and the SDP sandbox's description counts what its first run queues."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.conftest import repo_root

ROOT = repo_root()
TOP = ("shared", "docs", "specs", "examples", "tests", "plugins", "core", "bench", "schemas")
# a path from the repository's top (or the design folder a clone does not have), not part of
# a URL, a longer path or a ${env:...} reference
CITED = re.compile(rf"(?<![\w./$:@-])((?:{'|'.join(TOP)})/[\w./*-]*[\w*])")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
# `integrate auth specs/my.yaml crm`: a command with the reader's own file names
COMMAND = re.compile(r"`(?:\$ )?integrate [^`]*`", re.S)
MAKE = re.compile(r"`make ([\w-]+)`")


def shipped_texts() -> list[Path]:
    return sorted(
        [
            *ROOT.glob("specs/*.yaml"),
            *ROOT.glob("examples/*.yaml"),
            *ROOT.glob("docs/*.md"),
            ROOT / "README.md",
        ]
    )


def prose(path: Path) -> str:
    """What a reader is told (code blocks and example commands left out)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        text = FENCE.sub("", text)
    return COMMAND.sub("", text)


def test_every_path_a_spec_or_doc_cites_exists_in_the_repository() -> None:
    missing = []
    for path in shipped_texts():
        for line in prose(path).splitlines():
            for cited in CITED.findall(line):
                cited = cited.rstrip(".")
                found = list(ROOT.glob(cited)) if "*" in cited else (ROOT / cited).exists()
                if not found:
                    missing.append(f"{path.relative_to(ROOT)}: {cited} ({line.strip()[:60]})")
    assert missing == []


def test_every_make_target_the_texts_name_is_in_the_makefile() -> None:
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    named = {t for path in shipped_texts() for t in MAKE.findall(path.read_text(encoding="utf-8"))}
    assert named
    assert named <= targets
    demo = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    header = _header(ROOT / "examples/files-demo.yaml")
    if "`make demo` runs the main job, Zoho CRM → ServiceDesk Plus MSP" in header:
        assert "specs/zoho_crm-servicedesk_msp.yaml" in demo
    else:
        assert "examples/files-demo.yaml" in demo


def _header(spec: Path) -> str:
    """A spec's comment lines as one line of text."""
    lines = [line.lstrip("# ") for line in spec.read_text().splitlines() if line.startswith("#")]
    return " ".join(" ".join(lines).split())


def _digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_the_files_demo_runs_as_its_header_says(cli: Any, workdir: Path) -> None:
    spec = ROOT / "examples/files-demo.yaml"
    header = _header(spec)
    [command] = re.findall(r"`integrate (run examples/files-demo\.yaml[^`]*)`", header)
    data = _digest(ROOT / "examples/data")

    args = command.split()
    result = cli(*args[:1], str(ROOT / args[1]), *args[2:])

    assert result.exit_code == 0, result.output
    assert "files-demo: run #1" in result.stdout
    assert (workdir / ".integrate/sandbox/files-demo/state.db").exists()
    assert "$INTEGRATE_HOME/sandbox/files-demo" in header
    assert _digest(ROOT / "examples/data") == data  # never written


def test_the_sdp_sandbox_description_counts_the_accounts_its_first_run_queues(
    cli: Any, workdir: Path
) -> None:
    spec = ROOT / "specs/zoho_crm-servicedesk_msp.yaml"
    description = " ".join(
        YAML(typ="safe").load(spec.read_text())["sandbox"]["description"].split()
    )
    [(count, listed)] = re.findall(
        r"(\d+) accounts SDP lacks, queued on the first run: ([^.]+)\.", description
    )
    names = set(re.split(r", | and ", listed))

    run = cli("run", str(spec), "--sandbox", "--fresh", "--json")

    assert run.exit_code == 0, run.output
    [accounts] = [f for f in json.loads(run.stdout)["flows"] if f["flow"] == "accounts"]
    assert accounts["totals"]["queued"] == int(count) == len(names)
    pending = json.loads(cli("pending", "list", str(spec), "--sandbox", "--json").stdout)
    assert {re.findall(r"'(.+)'", row["reason"])[0] for row in pending} == names
