"""What a plugin page's emulator section is checked against: the section's text, and the
emulator options it has no row for."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def emulator_section(page: str) -> str:
    """docs/`page`'s `## The emulator` section, up to the next `## ` heading."""
    text = (DOCS / page).read_text(encoding="utf-8")
    start = text.index("\n## The emulator\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def options_without_a_row(emulator: type, section: str) -> list[str]:
    """The options of `emulator`'s constructor (but its clock) no table row of `section`
    starts with (a row may name two: | `a`, `b` |)."""
    options = set(inspect.signature(emulator.__init__).parameters) - {"self", "clock"}
    rows = set(re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)?", section, re.MULTILINE))
    documented = {name for row in rows for name in row if name}
    return sorted(options - documented)
