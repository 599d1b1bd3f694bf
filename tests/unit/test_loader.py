"""The spec loader: plain data with 1-based positions, and every unsafe YAML feature refused
with the place it was written (RELIABILITY.md §3.5)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from integrate.errors import Location, SpecError
from integrate.loader import MAX_SPEC_BYTES, Document, load_file, load_text


def problems(text: str) -> list[str]:
    """Every problem the loader reports for `text`, as the CLI prints them."""
    with pytest.raises(SpecError) as caught:
        load_text(text, "spec.yaml")
    return [str(p) for p in caught.value.problems]


def load(text: str) -> Document:
    return load_text(text, "spec.yaml")


# ---- positions ---------------------------------------------------------------------------


def test_positions_are_one_based_line_and_column_of_values_and_keys() -> None:
    doc = load(
        "name: demo\nflows:\n  accounts:\n    from: crm.Accounts\n    match:\n      - [a, b]\n"
    )

    assert doc.at(("name",)) == Location("spec.yaml", 1, 7)
    assert doc.at(("flows", "accounts", "from")) == Location("spec.yaml", 4, 11)
    assert doc.at(("flows", "accounts", "from"), key=True) == Location("spec.yaml", 4, 5)
    assert doc.at(("flows", "accounts", "match", 0, 1)) == Location("spec.yaml", 6, 13)


def test_a_path_that_is_not_in_the_file_points_at_its_nearest_parent() -> None:
    doc = load("flows:\n  accounts:\n    from: crm.Accounts\n")

    assert doc.at(("flows", "accounts", "fields", "name")) == Location("spec.yaml", 3, 5)


def test_an_empty_value_is_placed_at_its_key_not_on_the_next_line() -> None:
    doc = load("description:\n\nname: demo\n")

    assert doc.data == {"description": None, "name": "demo"}
    assert str(doc.at(("description",))) == "spec.yaml:1:1"


def test_quoted_scalars_are_remembered_for_expression_columns() -> None:
    doc = load("a: \"lower(x)\"\nb: 'y'\nc: z\n")

    assert doc.positions.is_quoted(("a",))
    assert doc.positions.is_quoted(("b",))
    assert not doc.positions.is_quoted(("c",))


def test_only_scalars_written_as_they_read_map_offsets_to_columns() -> None:
    doc = load(
        "a: lower(x)  # note\nb: 'lower(x)'\nc: 'it''s'\nd: \"t\\tab\"\n"
        "e: >-\n  lower(x)\nf: lower(x)\n  y\n"
    )

    assert [doc.positions.is_verbatim((k,)) for k in "abcdef"] == [
        True,  # plain, one line
        True,  # quoted, one line
        False,  # '' escape: the value is shorter than the text
        False,  # \t escape
        False,  # block scalar: the text starts on the next line
        False,  # folded over two lines
    ]


# ---- scalars: YAML 1.2 -------------------------------------------------------------------


def test_norway_and_yes_stay_text() -> None:
    doc = load("country: NO\nanswer: yes\nswitch: off\nquoted: 'true'\n")

    assert doc.data == {"country": "NO", "answer": "yes", "switch": "off", "quoted": "true"}


def test_booleans_and_nulls_are_the_yaml_1_2_ones() -> None:
    doc = load("a: true\nb: False\nc: TRUE\nd: ~\ne: null\nf:\n")

    assert doc.data == {"a": True, "b": False, "c": True, "d": None, "e": None, "f": None}


def test_dates_and_timestamps_stay_text() -> None:
    doc = load("day: 2024-01-02\nwhen: 2024-01-02T10:00:00Z\n")

    assert doc.data == {"day": "2024-01-02", "when": "2024-01-02T10:00:00Z"}


def test_integers_in_hex_octal_binary_with_underscores() -> None:
    doc = load("hex: 0x1F\noct: 0o17\nbin: 0b101\nbig: 1_000_000\nlead: 010\nneg: -42\n")

    assert doc.data == {"hex": 31, "oct": 15, "bin": 5, "big": 1_000_000, "lead": 10, "neg": -42}


def test_floats_including_infinity_and_nan() -> None:
    doc = load("a: 1.5\nb: 1e3\nc: -.inf\nd: .NaN\n")

    assert doc.data["a"] == 1.5
    assert doc.data["b"] == 1000.0
    assert doc.data["c"] == -math.inf
    assert math.isnan(doc.data["d"])


def test_sexagesimal_numbers_of_yaml_1_1_stay_text() -> None:
    assert load("time: 1:20\n").data == {"time": "1:20"}


def test_an_explicit_bool_tag_on_a_yaml_1_1_word_is_refused_not_read_as_false() -> None:
    assert problems("enabled: !!bool yes\n") == [
        "spec.yaml:1:10: 'yes' is not a valid !!bool value (at $.enabled)"
    ]


def test_an_explicit_int_tag_on_text_is_a_problem_not_a_crash() -> None:
    assert problems("batch_size: !!int lots\n") == [
        "spec.yaml:1:13: 'lots' is not a valid !!int value (at $.batch_size)"
    ]


def test_explicit_standard_tags_that_fit_are_accepted() -> None:
    assert load("a: !!str 10\nb: !!int '7'\n").data == {"a": "10", "b": 7}


# ---- refused YAML features ---------------------------------------------------------------


def test_python_object_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    text = f"name: !!python/object/apply:builtins.open ['{canary}', 'w']\n"

    assert problems(text) == [
        "spec.yaml:1:7: YAML tag !!python/object/apply:builtins.open is not allowed in specs"
        " (at $.name)"
    ]
    assert not canary.exists()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a: !custom 1\n", "!custom"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!set {x}\n", "!!set"),
        ("a: !!python/name:os.system\n", "!!python/name:os.system"),
    ],
)
def test_non_standard_tags_are_refused(text: str, shown: str) -> None:
    assert problems(text) == [f"spec.yaml:1:4: YAML tag {shown} is not allowed in specs (at $.a)"]


def test_anchors_and_aliases_are_refused_where_written() -> None:
    assert problems("a: &shared {x: 1}\nb: *shared\n") == [
        "spec.yaml:1:4: YAML anchors (&shared) are not allowed in specs (at $.a)",
        "spec.yaml:2:1: YAML aliases (*name) are not allowed in specs; repeat the value (at $.b)",
    ]


def test_an_alias_in_a_list_points_at_that_list_not_at_the_anchor() -> None:
    # The alias hands back the anchored node (line 1); the report names the list using it.
    assert problems("x: &x 1\nlist:\n  - 1\n  - *x\n") == [
        "spec.yaml:1:4: YAML anchors (&x) are not allowed in specs (at $.x)",
        "spec.yaml:3:3: YAML aliases (*name) are not allowed in specs; repeat the value"
        " (at $.list[1])",
    ]


def test_a_nine_level_alias_bomb_is_refused_without_expanding() -> None:
    # 9 levels of 9 aliases each: ~387 million strings if expanded (RELIABILITY.md §3.5).
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    text = "\n".join(lines) + "\n"
    assert len(text) < 700

    with pytest.raises(SpecError) as caught:
        load_text(text, "bomb.yaml")

    messages = [str(p) for p in caught.value.problems]
    assert "bomb.yaml:1:5: YAML anchors (&l0) are not allowed in specs (at $.l0)" in messages
    assert any(m.startswith("bomb.yaml:10:") and "aliases" in m for m in messages)
    # Each alias is reported once, where it is used: nothing was expanded.
    assert len(messages) == 10 + 9 * 9


def test_merge_keys_are_refused_at_the_merge_key() -> None:
    assert problems("other:\n  <<: {x: 1}\n  y: 2\n") == [
        "spec.yaml:2:3: YAML merge keys (<<) are not allowed in specs (at $.other)"
    ]


def test_duplicate_keys_are_refused_naming_the_first_line() -> None:
    assert problems("flows:\n  a: 1\n  b: 2\n  a: 3\n") == [
        "spec.yaml:4:3: duplicate key 'a' (first defined at line 2) (at $.flows.a)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems("a: 1\na: 2\nb: !custom x\nc: &anchor 3\n")

    assert len(found) == 3


def test_complex_keys_are_refused() -> None:
    assert problems("? [a, b]\n: 1\n") == ["spec.yaml:1:3: mapping keys must be plain text"]


def test_nesting_deeper_than_the_cap_is_refused() -> None:
    found = problems("a: " + "[" * 60 + "]" * 60 + "\n")

    assert len(found) == 1
    assert "the spec nests deeper than 48 levels" in found[0]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: " + "[" * 500 + "]" * 500 + "\n", "spec.yaml:1:52"),
        ("a: " + "{b: " * 500 + "1" + "}" * 500 + "\n", "spec.yaml:1:193"),
        ("".join("  " * i + f"k{i}:\n" for i in range(500)), "spec.yaml:49:97"),
    ],
    ids=["flow-sequences", "flow-mappings", "block-mappings"],
)
def test_nesting_500_deep_is_a_problem_at_its_place_not_a_recursion_error(
    text: str, where: str
) -> None:
    # Composing recurses once per level: before the cap, 500 levels ended in RecursionError.
    assert problems(text) == [f"{where}: the spec nests deeper than 48 levels"]


# ---- files ---------------------------------------------------------------------------------


def test_a_file_over_one_mebibyte_is_refused_before_parsing(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    # Not even YAML: the size check comes first.
    spec.write_bytes(b"[" * (MAX_SPEC_BYTES + 1))

    with pytest.raises(SpecError) as caught:
        load_file(spec)

    assert str(caught.value.problems[0]) == (
        f"{spec}: the spec is 1,048,577 bytes; specs are limited to 1,048,576 bytes (1 MiB)"
    )


def test_a_file_of_exactly_one_mebibyte_loads(tmp_path: Path) -> None:
    spec = tmp_path / "full.yaml"
    head = "name: demo\nnote: "
    spec.write_text(head + "x" * (MAX_SPEC_BYTES - len(head) - 1) + "\n")
    assert spec.stat().st_size == MAX_SPEC_BYTES

    assert load_file(spec).data["name"] == "demo"


def test_text_over_one_mebibyte_is_refused() -> None:
    found = problems("a: " + "x" * MAX_SPEC_BYTES)

    assert found == ["spec.yaml: the spec is larger than 1 MiB"]


def test_non_utf8_files_are_refused(tmp_path: Path) -> None:
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes("name: café\n".encode("latin-1"))

    with pytest.raises(SpecError) as caught:
        load_file(spec)

    assert (
        str(caught.value.problems[0])
        == f"{spec}: the spec is not UTF-8 text (invalid continuation byte)"
    )


def test_a_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the spec: No such file or directory"):
        load_file(tmp_path / "absent.yaml")


def test_load_file_keeps_the_path_and_file_name_in_positions(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: demo\n")

    doc = load_file(spec)

    assert doc.path == spec
    assert doc.at(("name",)) == Location(str(spec), 1, 7)


# ---- syntax ------------------------------------------------------------------------------


def test_syntax_errors_have_their_line_and_column() -> None:
    assert problems("flows: [a, b\n") == [
        "spec.yaml:2:1: YAML syntax: expected ',' or ']', but got '<stream end>'"
    ]


def test_a_second_document_is_refused_with_a_whole_sentence() -> None:
    assert problems("a: 1\n---\nb: 2\n") == [
        "spec.yaml:2:1: YAML syntax: expected a single document in the stream,"
        " but found another document"
    ]


def test_tabs_for_indentation_are_a_syntax_error_that_says_use_spaces() -> None:
    assert problems("a:\n\t- x\n") == [
        "spec.yaml:2:1: YAML syntax: a tab in the indentation: YAML indents with spaces only"
        " (replace the tab with spaces)"
    ]


def test_a_tab_after_spaces_in_the_indentation_is_found_where_it_is() -> None:
    assert problems("flows:\n  a:\n  \tfrom: x\n") == [
        "spec.yaml:3:3: YAML syntax: a tab in the indentation: YAML indents with spaces only"
        " (replace the tab with spaces)"
    ]


def test_a_tab_between_a_key_and_its_value_says_use_a_space() -> None:
    assert problems("a:\tb\n") == [
        "spec.yaml:1:3: YAML syntax: a tab cannot separate values here: use a space"
    ]


def test_an_empty_spec_is_refused() -> None:
    assert problems("# only a comment\n") == ["spec.yaml:1:1: the spec is empty"]
