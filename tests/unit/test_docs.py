"""The documentation covers what a user can write or call: every spec key (walked from the JSON
Schema), every hook, every CLI command and option, every core function, every setting of the
files plugin and every public name. It fails when something is added without its docs."""

from __future__ import annotations

import inspect
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

import integrate
from integrate import hookspecs
from integrate.build import build_spec
from integrate.cli import main
from integrate.errors import SpecError
from integrate.functions import CORE_FUNCTIONS, context_functions
from integrate.loader import load_text
from integrate_files.connector import CONFIG_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SCHEMA = ROOT / "schemas" / "spec.schema.json"
PAGES = (
    "index.md",
    "spec-language.md",
    "functions.md",
    "cli.md",
    "plugins.md",
    "files-plugin.md",
    "zoho-crm-plugin.md",
    "servicedesk-msp-plugin.md",
    "state-and-guarantees.md",
    "reliability.md",
    "salesmanago-zoho-crm.md",
    "clientsuccess-zoho-crm.md",
    "clientsuccess-plugin.md",
    "ideolve-plugin.md",
    "zoho-crm-ideolve.md",
    "operator-page.md",
    "development.md",
)

# How the docs write the keys a schema allows by pattern. A new pattern needs a form here and
# in docs/spec-language.md.
PATTERN_FORMS = {
    "^to_[a-z][a-z0-9_]*$": "to_<side>",
    "^(?!to_|values$|default$|direction$|description$)[a-z][a-z0-9_]*$": "<side>",
}

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


# ---- reading the docs ---------------------------------------------------------------------


def page(name: str) -> str:
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing"
    return path.read_text(encoding="utf-8")


def prose(text: str) -> str:
    """The text without fenced code blocks."""
    return FENCE.sub("", text)


def code_spans(text: str) -> set[str]:
    """Every inline code span (`like this`) outside fenced blocks, trimmed."""
    return {m.group(2).strip() for m in INLINE_CODE.finditer(prose(text))}


def headings(text: str) -> list[tuple[int, str]]:
    return [(len(m.group(1)), m.group(2)) for m in HEADING.finditer(prose(text))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in ("L", "N"))
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _level, title in headings(text):
        base = slug(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def explained(text: str) -> set[str]:
    """Names that head a section (`### \\`name\\` ...`) or start a table row (`| \\`name\\``)."""
    out = {m.group(1) for m in re.finditer(r"^#{2,6} `([^`]+)`", prose(text), re.MULTILINE)}
    out |= {m.group(1) for m in re.finditer(r"^\| `([^`]+)`", prose(text), re.MULTILINE)}
    return out


def missing(wanted: set[str], found: set[str]) -> list[str]:
    return sorted(wanted - found)


# ---- walking what must be documented ------------------------------------------------------


def schema_keys(node: Any) -> tuple[set[str], set[str]]:
    """(property names, key patterns) anywhere in a JSON Schema, $defs included."""
    names: set[str] = set()
    patterns: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            properties = value.get("properties")
            if isinstance(properties, dict):
                names.update(properties)
            pattern_properties = value.get("patternProperties")
            if isinstance(pattern_properties, dict):
                patterns.update(pattern_properties)
            property_names = value.get("propertyNames")
            if isinstance(property_names, dict) and "pattern" in property_names:
                patterns.add(property_names["pattern"])
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(node)
    return names, patterns


def schema_words(node: Any) -> set[str]:
    """Every text value a schema allows by `enum` or `const`."""
    out: set[str] = set()
    if isinstance(node, dict):
        for key in ("enum", "const"):
            allowed = node.get(key)
            values = allowed if isinstance(allowed, list) else [allowed]
            out.update(v for v in values if isinstance(v, str))
        for child in node.values():
            out |= schema_words(child)
    elif isinstance(node, list):
        for child in node:
            out |= schema_words(child)
    return out


def spec_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return schema


def commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the CLI, groups and subcommands, with its path below `integrate`."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from commands(sub, (*path, name))


def option_words(command: click.Command, *, root: bool) -> list[str]:
    """How each option and argument of a command is written in the docs."""
    out = []
    for param in command.params:
        if isinstance(param, click.Option):
            opts = [*param.opts, *param.secondary_opts]
            longs = [o for o in opts if o.startswith("--")]
            out.extend(longs or opts)
        elif isinstance(param, click.Argument):
            out.append(param.metavar or (param.name or "").upper())
    if root:
        out.append("--help")
    return out


def cli_sections(text: str) -> dict[tuple[str, ...], str]:
    """The text of each `## \\`integrate ...\\`` section of cli.md (usage blocks included);
    () is the text before the first one."""
    marks = [
        (m.start(), tuple(m.group(1).split()[1:]))
        for m in re.finditer(r"^## `(integrate(?: [a-z-]+)*)`[ \t]*$", text, re.MULTILINE)
    ]
    out: dict[tuple[str, ...], str] = {(): text[: marks[0][0]] if marks else text}
    for i, (start, path) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        out[path] = text[start:end]
    return out


def hook_names() -> set[str]:
    return {
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("integrate_") or getattr(fn, f"{hookspecs.PROJECT}_spec", None)
    }


# ---- the pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_every_page_exists_and_says_something(name: str) -> None:
    text = page(name)

    assert headings(text), f"docs/{name} has no heading"
    assert len(prose(text).split()) > 200, f"docs/{name} is nearly empty"


def test_the_index_links_every_other_page() -> None:
    links = {m.group(1).split("#")[0] for m in LINK.finditer(prose(page("index.md")))}

    assert missing(set(PAGES) - {"index.md"}, links) == []


@pytest.mark.parametrize("name", PAGES)
def test_every_link_between_pages_resolves(name: str) -> None:
    broken = []
    for match in LINK.finditer(prose(page(name))):
        target = match.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        path = DOCS / (file_part or name)
        if not path.is_file():
            broken.append(f"{target} (no file {file_part})")
        elif anchor and anchor not in anchors(path.read_text(encoding="utf-8")):
            broken.append(f"{target} (no heading for #{anchor})")

    assert broken == [], f"docs/{name} has broken links"


def test_the_reliability_page_has_every_acceptance_test_and_names_every_reliability_test() -> None:
    text = page("reliability.md")
    rows = {int(n) for n in re.findall(r"^\| T(\d+) \|", prose(text), re.MULTILINE)}
    tests = {
        (path.name, name)
        for path in sorted((ROOT / "tests/reliability").glob("test_t*.py"))
        for name in re.findall(r"^def (test_T\d+_\w+)", path.read_text(), re.MULTILINE)
    }

    assert rows == set(range(1, 21))
    assert sorted(f"{file}::{name}" for file, name in tests if name not in text) == []
    assert sorted(file for file, _name in tests if file not in text) == []
    assert {"INTEGRATE_RELIABILITY_FULL", "INTEGRATE_RELIABILITY_SEED"} <= explained(text)


def test_the_development_page_explains_the_test_postgresql_settings_and_targets() -> None:
    from tests import pgcluster

    wanted = {pgcluster.ENV_URL, pgcluster.ENV_DIR, pgcluster.ENV_BIN}
    wanted |= {"make postgres", "make postgres-stop", "pg_server", "pg_url"}

    assert missing(wanted, explained(page("development.md"))) == []


# ---- spec language -----------------------------------------------------------------------


def test_every_spec_key_is_documented_in_the_spec_language_page() -> None:
    names, patterns = schema_keys(spec_schema())
    unknown = sorted(p for p in patterns if p not in PATTERN_FORMS)
    assert unknown == [], (
        f"schema key patterns without a documented form: {unknown}; add them to PATTERN_FORMS "
        "and to docs/spec-language.md"
    )
    wanted = names | {PATTERN_FORMS[p] for p in patterns}

    assert len(wanted) > 40  # the walk found the schema's keys
    assert missing(wanted, code_spans(page("spec-language.md"))) == [], (
        "spec keys not documented as `inline code` in docs/spec-language.md"
    )


def test_every_allowed_value_of_the_spec_language_is_documented() -> None:
    words = schema_words(spec_schema())

    assert {"create", "skip", "queue", "related_added"} <= words
    assert missing(words, code_spans(page("spec-language.md"))) == [], (
        "enum/const values of the schema not documented in docs/spec-language.md"
    )


def test_every_spec_key_has_a_heading_or_a_table_row_of_its_own() -> None:
    """Mentioned is not explained: each key heads a section (### `key`) or a table row."""
    names, patterns = schema_keys(spec_schema())
    wanted = names | {PATTERN_FORMS[p] for p in patterns if p in PATTERN_FORMS}

    assert missing(wanted, explained(page("spec-language.md"))) == []


def test_the_complete_specs_in_the_docs_are_valid() -> None:
    """Every YAML example that is a whole spec (has `integrate:` and `flows:`) builds."""
    checked = 0
    for name in PAGES:
        for i, block in enumerate(re.findall(r"^```yaml\n(.*?)^```", page(name), re.M | re.S)):
            if not re.search(r"^integrate:", block, re.M) or not re.search(r"^flows:", block, re.M):
                continue
            doc = load_text(block, f"docs/{name} (yaml block {i + 1})")
            try:
                build_spec(doc, None, strict_env=False)
            except SpecError as exc:
                pytest.fail(f"an example spec in docs/{name} does not build:\n{exc}")
            checked += 1

    assert checked >= 2


# ---- plugins -----------------------------------------------------------------------------


def test_every_hook_is_documented_in_the_plugins_page() -> None:
    hooks = hook_names()
    text = page("plugins.md")
    documented = {title.strip("` ") for _level, title in headings(text)}

    assert hooks, "no hooks found in integrate.hookspecs"
    assert missing(hooks, documented) == [], "hooks without a heading in docs/plugins.md"


def test_every_public_name_is_documented_in_the_plugins_page() -> None:
    spans = code_spans(page("plugins.md"))
    bare = {re.sub(r"\(.*$", "", s) for s in spans}

    assert missing(set(integrate.__all__), spans | bare) == []


def test_the_plugins_page_names_the_entry_point_group_and_the_block_variable() -> None:
    text = page("plugins.md")

    assert "[project.entry-points.integrate]" in text
    assert "INTEGRATE_BLOCK_PLUGINS" in code_spans(text) | {
        s.split("=")[0] for s in code_spans(text)
    }


# ---- command line ------------------------------------------------------------------------


def test_every_command_and_subcommand_is_documented_in_the_cli_page() -> None:
    spans = code_spans(page("cli.md"))
    wanted = {" ".join(("integrate", *path)) for path, _command in commands(main)}

    assert len(wanted) >= 12  # the walk reached the subcommands
    assert missing(wanted, spans) == [], "commands not documented in docs/cli.md"


def test_every_leaf_command_has_a_section_with_all_its_options() -> None:
    sections = cli_sections(page("cli.md"))
    problems = []
    for path, command in commands(main):
        if isinstance(command, click.Group) and path:
            continue
        section = sections.get(path)
        if section is None:
            problems.append(f"no section `## \\`integrate {' '.join(path)}\\``")
            continue
        rows = "\n".join(line for line in section.splitlines() if line.startswith("| `"))
        for word in option_words(command, root=not path):
            where = rows if word.startswith("-") else section
            if not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", where):
                problems.append(f"integrate {' '.join(path)}: {word}")

    assert problems == [], "commands or options not documented in docs/cli.md"


def test_the_cli_page_documents_every_exit_code() -> None:
    rows = explained(page("cli.md"))

    assert missing({"0", "1", "2", "3", "75"}, rows) == [], "exit codes without a table row"


# ---- functions ---------------------------------------------------------------------------


def test_every_core_function_has_a_section_in_the_functions_page() -> None:
    names = {fn.name for fn in CORE_FUNCTIONS}
    context = {fn.name for fn in context_functions()}
    assert {"linked", "lookup"} <= context
    text = page("functions.md")
    documented = {
        m.group(1)
        for _level, title in headings(text)
        if (m := re.match(r"`([a-z_][a-z0-9_]*)\(", title))
    }

    assert missing(names | context, documented) == [], (
        "functions without a `### \\`name(...)\\`` section in docs/functions.md"
    )


# ---- the files plugin --------------------------------------------------------------------


def test_every_setting_of_the_files_plugin_is_documented() -> None:
    names, _patterns = schema_keys(CONFIG_SCHEMA)

    assert "path" in names
    assert missing(names, code_spans(page("files-plugin.md"))) == [], (
        "files plugin settings not documented in docs/files-plugin.md"
    )
    assert missing(names, explained(page("files-plugin.md"))) == [], (
        "files plugin settings without a `### \\`setting\\`` section in docs/files-plugin.md"
    )


# ---- the servicedesk_msp plugin ----------------------------------------------------------


def test_every_setting_of_the_servicedesk_msp_plugin_is_documented() -> None:
    from integrate_servicedesk_msp.connector import CONFIG_SCHEMA as SDP_SCHEMA

    names, _patterns = schema_keys(SDP_SCHEMA)

    assert "technician_key" in names
    assert missing(names, code_spans(page("servicedesk-msp-plugin.md"))) == [], (
        "servicedesk_msp settings not documented in docs/servicedesk-msp-plugin.md"
    )


# ---- the salesmanago plugin ---------------------------------------------------------------


def test_every_setting_and_emulator_option_of_the_salesmanago_plugin_is_documented() -> None:
    import inspect

    from integrate_salesmanago.emulator import SalesManagoEmulator
    from integrate_salesmanago.settings import CONFIG_SCHEMA as SM_SCHEMA

    names, _patterns = schema_keys(SM_SCHEMA)
    text = page("salesmanago-plugin.md")
    options = set(inspect.signature(SalesManagoEmulator.__init__).parameters) - {"self", "clock"}

    assert {"api_secret", "clock_skew", "rate_limit"} <= names
    assert missing(names, code_spans(text)) == [], (
        "salesmanago settings not documented in docs/salesmanago-plugin.md"
    )
    assert missing(set(SM_SCHEMA["properties"]), explained(text)) == [], (
        "salesmanago settings without a `| \\`setting\\`` row in docs/salesmanago-plugin.md"
    )
    assert missing(options, explained(text)) == [], (
        "SalesManagoEmulator options without a row in docs/salesmanago-plugin.md"
    )
