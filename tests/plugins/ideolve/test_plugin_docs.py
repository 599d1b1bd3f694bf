"""docs/ideolve-plugin.md documents every setting of the connector and every path template
(with its default) in a row of its own, and every object."""

from __future__ import annotations

from pathlib import Path

from integrate_ideolve.connector import OBJECTS
from integrate_ideolve.settings import CONFIG_SCHEMA, PATHS

PAGE = Path(__file__).resolve().parents[3] / "docs" / "ideolve-plugin.md"


def test_every_setting_path_and_object_has_a_row_in_the_plugins_page() -> None:
    text = PAGE.read_text(encoding="utf-8")

    settings = [name for name in CONFIG_SCHEMA["properties"] if f"| `{name}` |" not in text]
    paths = [k for k, v in PATHS.items() if f"| `{k}` | `{v}` |" not in text]
    objects = [name for name in OBJECTS if f"| `{name}` |" not in text]

    assert settings == [], f"settings without a row in {PAGE.name}"
    assert paths == [], f"path templates without a row (and their default) in {PAGE.name}"
    assert objects == [], f"objects without a row in {PAGE.name}"
