"""Load a spec file safely into plain data, remembering where every value came from.

The YAML is composed (never constructed by ruamel), so no tag can run code; aliases,
unknown tags, duplicate keys, deep nesting and files over the size cap are refused with a
position before anything else happens.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from integrate.errors import Location, Problem, SpecError

MAX_SPEC_BYTES = 1024 * 1024
MAX_DEPTH = 48
MAX_NODES = 200_000

JsonPath = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {
    f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


def json_path(path: JsonPath) -> str:
    """Render a path as `$.flows.accounts.fields[2]`."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "").replace("-", "").isalnum():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


@dataclass
class Positions:
    """Where each value (and each mapping key) of a loaded document starts."""

    file: str
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    quoted: dict[JsonPath, bool] = field(default_factory=dict)
    # Scalars written on one line exactly as their value reads (no block style, no folded
    # lines, no escapes): an offset into the value is a column offset in the file.
    verbatim: dict[JsonPath, bool] = field(default_factory=dict)

    def of(self, path: JsonPath, *, key: bool = False) -> Location:
        """The location of the value at `path` (or of its key), or of its nearest parent."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                line, col = table[probe]
                return Location(self.file, line, col)
            if not key and probe in self.keys:
                line, col = self.keys[probe]
                return Location(self.file, line, col)
            probe = probe[:-1]
        line, col = self.values.get((), (1, 1))
        return Location(self.file, line, col)

    def is_quoted(self, path: JsonPath) -> bool:
        return self.quoted.get(tuple(path), False)

    def is_verbatim(self, path: JsonPath) -> bool:
        return self.verbatim.get(tuple(path), False)


@dataclass
class Document:
    """A loaded spec: plain JSON-like data plus the positions it came from."""

    path: Path
    data: Any
    positions: Positions

    def at(self, path: JsonPath, *, key: bool = False) -> Location:
        return self.positions.of(path, key=key)


def load_file(path: str | Path) -> Document:
    """Read and load one spec file, or raise SpecError with every problem found."""
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise SpecError.single(Location(name), f"cannot read the spec: {exc.strerror}") from exc
    if size > MAX_SPEC_BYTES:
        raise SpecError.single(
            Location(name),
            f"the spec is {size:,} bytes; specs are limited to {MAX_SPEC_BYTES:,} bytes (1 MiB)",
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError.single(
            Location(name), f"the spec is not UTF-8 text ({exc.reason})"
        ) from exc
    return load_text(text, name, path=p)


def load_text(text: str, name: str = "<spec>", *, path: Path | None = None) -> Document:
    """Load spec text (already read) into a Document."""
    if len(text.encode("utf-8")) > MAX_SPEC_BYTES:
        raise SpecError.single(Location(name), "the spec is larger than 1 MiB")
    # Composing only, so no tag is ever constructed. "safe" rather than "rt": the round-trip
    # scanner gathers comments a character at a time (seconds on one long comment line).
    yaml = YAML(typ="safe", pure=True)
    # The composer recurses once per level: stopped at the cap, a 500-deep nesting is a
    # problem at its line, never a RecursionError. (The root is the composer's level 1.)
    yaml.max_depth = MAX_DEPTH + 1
    try:
        root = yaml.compose(io.StringIO(text))
    except MaxDepthExceededError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise SpecError.single(
            Location(name, line, col), f"the spec nests deeper than {MAX_DEPTH} levels"
        ) from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.problem.startswith("but "):
            message = f"{exc.context}, {exc.problem}"  # "expected a single document ..., but"
        if "'\\t'" in message and mark is not None:
            message = _tab_message(text, mark.line, mark.column)
        raise SpecError.single(Location(name, line, col), f"YAML syntax: {message}") from exc
    except YAMLError as exc:
        raise SpecError.single(Location(name), f"YAML syntax: {exc}") from exc
    positions = Positions(name)
    if root is None:
        raise SpecError.single(Location(name, 1, 1), "the spec is empty")
    builder = _Builder(positions)
    data = builder.build(root, (), 0)
    if builder.problems:
        raise SpecError(builder.problems)
    return Document(path or Path(name), data, positions)


def _tab_message(text: str, line: int, col: int) -> str:
    """What to do about a tab the scanner refused: YAML indents with spaces only."""
    lines = text.splitlines()
    before = lines[line][:col] if line < len(lines) else ""
    if before.strip(" \t") == "":
        return (
            "a tab in the indentation: YAML indents with spaces only (replace the tab with spaces)"
        )
    return "a tab cannot separate values here: use a space"


class _Builder:
    """Turns a composed node tree into plain data, checking it as it goes."""

    def __init__(self, positions: Positions):
        self.positions = positions
        self.problems: list[Problem] = []
        self.seen: set[int] = set()
        self.count = 0

    def _loc(self, node: Node) -> Location:
        return Location(self.positions.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _problem(self, node: Node, message: str, path: JsonPath) -> None:
        self.problems.append(Problem(self._loc(node), message, json_path(path)))

    def build(self, node: Node, path: JsonPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self._problem(node, f"the spec has more than {MAX_NODES:,} YAML nodes", path)
            return None
        if id(node) in self.seen:
            # An alias hands back the anchored node itself (its position is the anchor's), so
            # point at the key or list that used it instead.
            self.problems.append(
                Problem(
                    self.positions.of(path),
                    "YAML aliases (*name) are not allowed in specs; repeat the value",
                    json_path(path),
                )
            )
            return None
        self.seen.add(id(node))
        if depth > MAX_DEPTH:
            self._problem(node, f"the spec nests deeper than {MAX_DEPTH} levels", path)
            return None
        anchor = getattr(node, "anchor", None)
        if anchor is not None and getattr(anchor, "value", anchor):
            name = getattr(anchor, "value", anchor)
            self._problem(node, f"YAML anchors (&{name}) are not allowed in specs", path)
        tag = node.tag if isinstance(node.tag, str) else str(getattr(node.tag, "value", node.tag))
        if tag not in _ALLOWED_TAGS:
            shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
            self._problem(node, f"YAML tag {shown} is not allowed in specs", path)
            return None
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, ScalarNode) and node.value == "" and not node.style:
            # An empty value starts where the next token does (often the next line); its key
            # is where the reader looks.
            where = self.positions.keys.get(path, where)
        self.positions.values[path] = where
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        quoted = node.style in ("'", '"')
        self.positions.quoted[path] = quoted
        start, end = node.start_mark, node.end_mark
        self.positions.verbatim[path] = (
            node.style not in ("|", ">")
            and start.line == end.line
            and end.column - start.column == len(node.value) + (2 if quoted else 0)
        )
        try:
            return _scalar(tag, node.value)
        except ValueError:
            # Only an explicit tag (!!int abc, !!bool yes) can get here.
            shown = "!!" + tag[len(_CORE) :]
            self._problem(node, f"'{node.value}' is not a valid {shown} value", path)
            return None

    def _mapping(self, node: MappingNode, path: JsonPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_at: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, "mapping keys must be plain text", path)
                continue
            key_tag = key_node.tag if isinstance(key_node.tag, str) else str(key_node.tag)
            if key_tag == f"{_CORE}merge" or key_node.value == "<<":
                self._problem(key_node, "YAML merge keys (<<) are not allowed in specs", path)
                continue
            key = str(key_node.value)
            if key in first_at:
                first = first_at[key]
                self._problem(
                    key_node,
                    f"duplicate key '{key}' (first defined at line {first.start_mark.line + 1})",
                    (*path, key),
                )
                continue
            first_at[key] = key_node
            child = (*path, key)
            self.positions.keys[child] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[key] = self.build(value_node, child, depth + 1)
        return out


def _scalar(tag: str, text: str) -> Any:
    kind = tag[len(_CORE) :]
    if kind == "null":
        if text not in ("", "~") and text.lower() != "null":
            raise ValueError(text)
        return None
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if kind == "int":
        clean = text.replace("_", "")
        sign = -1 if clean.startswith("-") else 1
        body = clean.lstrip("+-")
        for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
            if body.lower().startswith(prefix):
                return sign * int(body[2:], base)
        return sign * int(body)
    if kind == "float":
        low = text.lower().replace("_", "")
        if low in (".inf", "+.inf"):
            return math.inf
        if low == "-.inf":
            return -math.inf
        if low == ".nan":
            return math.nan
        return float(low)
    # str and timestamp: a spec treats dates as text
    return text
