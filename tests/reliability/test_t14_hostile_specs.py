"""T14 (RELIABILITY.md §5): hostile specs are refused with a named error at their line and
column, quickly, with nothing executed: a `!!python/object/apply` tag, duplicate keys, a
9-level alias bomb, a 5 MiB file, flow-style YAML nested 500 deep, an expression nested 500
deep, and an expression that doubles its input 170 times. The same refusal comes from
`validate`, `run` and `test`; none ends in a traceback. (Timing is measured by hand, see
the report of issue 9; tests assert no time.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BASE = """\
integrate: 1
name: hostile
connections:
  src: {plugin: files, config: {path: ./src}}
  dst: {plugin: files, config: {path: ./dst}}
flows:
  accounts:
    from: src.accounts
    to: dst.accounts
    match: [[name, name]]
    fields:
      name: name
"""


def with_field(expression: str) -> str:
    """BASE with the `name` field (line 12, value at column 13) set to `expression`."""
    return BASE.replace("      name: name\n", f'      name: "{expression}"\n')


def python_tag(root: Path) -> str:
    return BASE.replace(
        "name: hostile", f'name: !!python/object/apply:os.system ["touch {root}/pwned"]'
    )


def duplicate_keys(_root: Path) -> str:
    return BASE + "    fields:\n      city: city\n"


def alias_bomb(_root: Path) -> str:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 9)]
    return BASE.replace("flows:\n", "\n".join(levels) + "\nflows:\n")


def five_mebibytes(_root: Path) -> str:
    return BASE + "# " + "x" * (5 * 1024 * 1024) + "\n"


def flow_nesting(_root: Path) -> str:
    return BASE.replace(
        "name: hostile\n", "name: hostile\ndescription: " + "[" * 500 + "]" * 500 + "\n"
    )


def expression_nesting(_root: Path) -> str:
    return with_field("(" * 500 + "name" + ")" * 500)


def exponential(_root: Path) -> str:
    return with_field("name" + " | [@, @] | join('', @)" * 170)


# (make the spec, the error at its place: the file name comes first)
HOSTILE: dict[str, tuple[Callable[[Path], str], str]] = {
    "python-tag": (python_tag, ":2:7: YAML tag !!python/object/apply:os.system is not allowed"),
    "duplicate-keys": (duplicate_keys, ":13:5: duplicate key 'fields' (first defined at line 11)"),
    "alias-bomb": (alias_bomb, ":6:5: YAML anchors (&a0) are not allowed in specs"),
    "five-mebibytes": (
        five_mebibytes,
        f": the spec is {len(BASE) + 3 + 5 * 1024 * 1024:,} bytes; specs are limited to"
        " 1,048,576 bytes (1 MiB)",
    ),
    "flow-nesting-500": (flow_nesting, ":3:62: the spec nests deeper than 48 levels"),
    "expression-nesting-500": (
        expression_nesting,
        ":12:46: the expression nests brackets deeper than 32 levels",
    ),
    "exponential-expression": (
        exponential,
        ":12:13: the expression can build a result thousands of times larger than the record"
        " it reads",
    ),
}


@pytest.fixture
def hostile(workdir: Path) -> Callable[[str], Path]:
    """Write one hostile spec (and a source record, so a run would have work)."""
    (workdir / "src").mkdir()
    (workdir / "src/accounts.jsonl").write_text('{"id": "1", "name": "Acme"}\n')

    def write(kind: str) -> Path:
        path = workdir / f"{kind}.yaml"
        path.write_text(HOSTILE[kind][0](workdir))
        return path

    return write


def refused(result: Any, path: Path, kind: str) -> str:
    """The first problem line printed, checked to be the expected one."""
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line]
    assert result.exit_code == 2, result.output
    assert lines[0].startswith(path.name + HOSTILE[kind][1]), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_T14_validate_refuses_each_hostile_spec_at_its_line_and_column(
    cli: Any, workdir: Path, hostile: Callable[[str], Path], kind: str
) -> None:
    path = hostile(kind)

    result = cli("validate", path.name)

    refused(result, path, kind)
    assert result.stdout.splitlines()[-1].startswith(f"{path.name}: ")  # "...: N problem(s)"
    assert not (workdir / "pwned").exists()  # nothing executed
    assert sorted(p.name for p in workdir.iterdir()) == sorted(["src", path.name])


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("command", ["run", "test"])
def test_T14_run_and_test_refuse_them_the_same_way_before_anything_is_read(
    cli: Any, workdir: Path, hostile: Callable[[str], Path], kind: str, command: str
) -> None:
    path = hostile(kind)

    result = cli(command, path.name)

    refused(result, path, kind)
    assert not (workdir / "pwned").exists()
    assert not (workdir / "dst").exists()
    assert not (workdir / ".integrate").exists()  # no state store opened


def test_T14_the_deepest_nesting_allowed_goes_through_schema_and_build_without_a_crash(
    cli: Any, workdir: Path
) -> None:
    # 47 levels under `description` (48 in all): the loader lets it through, the schema
    # check and the builder get it, and answer with a problem, not a RecursionError.
    text = BASE.replace(
        "name: hostile\n", "name: hostile\ndescription: " + "[" * 47 + "]" * 47 + "\n"
    )
    Path("deep.yaml").write_text(text)

    result = cli("validate", "deep.yaml")

    assert result.exit_code == 2
    assert result.stdout.splitlines()[0] == (
        "deep.yaml:3:14: expected text, found a list (at $.description)"
    )
