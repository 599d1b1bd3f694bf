"""Architecture contracts: the core never imports a plugin; plugins import only the public
API of `integrate` (its package namespace and `integrate.testing`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import integrate

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = {"integrate", "integrate.testing"}


def imports_of(path: Path) -> list[tuple[int, str, list[str]]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
    return found


def test_plugins_import_only_the_public_api() -> None:
    offences = []
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        for line, module, names in imports_of(path):
            if module == "integrate" or module.startswith("integrate."):
                if module not in PUBLIC:
                    offences.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
                elif module == "integrate":
                    private = [n for n in names if n not in integrate.__all__]
                    if private:
                        offences.append(
                            f"{path.relative_to(ROOT)}:{line} imports {private} (not in __all__)"
                        )
    assert offences == []


def test_the_core_never_imports_a_plugin() -> None:
    plugin_packages = {f"integrate_{p.name}" for p in (ROOT / "plugins").iterdir() if p.is_dir()}
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "core").rglob("*.py"))
        for line, module, _names in imports_of(path)
        if module.split(".")[0] in plugin_packages
    ]
    assert offences == []


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_names_are_all_importable() -> None:
    for name in integrate.__all__:
        assert hasattr(integrate, name), name


def test_every_package_is_in_the_wheel() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    roots = {folder: name for name, folder in config["package-dir"].items()}
    found = set()
    for folder, name in roots.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base)
            found.add(".".join([name, *relative.parts]) if relative.parts else name)
    assert sorted(found - listed) == []


def _type_checking_stubs(path: Path) -> list[str]:
    """`file:line` of each statement under `if TYPE_CHECKING:` that is not an import (a stub
    re-declaring another class's methods so that mypy follows a mixin)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        test = node.test if isinstance(node, ast.If) else None
        name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
        if name == "TYPE_CHECKING":
            assert isinstance(node, ast.If)
            found.extend(
                f"{path.relative_to(ROOT)}:{statement.lineno}"
                for statement in node.body
                if not isinstance(statement, ast.Import | ast.ImportFrom)
            )
    return found


def test_no_class_is_split_across_files_by_type_checking_stubs() -> None:
    # Composition only (issue 10): parts are objects a class holds, not mixins whose methods
    # are re-declared for the type checker.
    files = [*(ROOT / "core").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]
    assert [stub for path in sorted(files) for stub in _type_checking_stubs(path)] == []
