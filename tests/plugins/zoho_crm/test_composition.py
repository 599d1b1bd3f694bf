"""The zoho_crm connector is composed, not mixed in (issue 10, point 1): no class of the
plugin is split across files, and no `if TYPE_CHECKING:` block re-declares another class's
methods or attributes so that mypy follows a mixin (type-only imports are what it is for)."""

from __future__ import annotations

import ast
from pathlib import Path

from integrate import Connector
from integrate_zoho_crm import ZohoCrmConnector

PLUGIN = Path(__file__).resolve().parents[3] / "plugins" / "zoho_crm"


def is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


def stubs_in(path: Path) -> list[str]:
    """`file:line` of each statement under `if TYPE_CHECKING:` that is not an import."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.If) and is_type_checking(node.test):
            found.extend(
                f"{path.relative_to(PLUGIN.parent.parent)}:{statement.lineno}"
                for statement in node.body
                if not isinstance(statement, ast.Import | ast.ImportFrom)
            )
    return found


def test_no_type_checking_block_declares_anything_but_imports() -> None:
    stubs = [stub for path in sorted(PLUGIN.rglob("*.py")) for stub in stubs_in(path)]
    assert stubs == []


def test_the_connector_inherits_from_connector_alone() -> None:
    # Its parts (api, metadata, reads, writes, extras, notifications) are objects it holds.
    assert ZohoCrmConnector.__bases__ == (Connector,)
    plugin_classes = [
        cls.__qualname__
        for cls in ZohoCrmConnector.__mro__
        if cls.__module__.startswith("integrate_zoho_crm")
    ]
    assert plugin_classes == ["ZohoCrmConnector"]
