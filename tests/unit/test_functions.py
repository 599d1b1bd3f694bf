"""The core's JMESPath functions and compiled expressions: what each function answers, plain
field paths on the fast getter path, and runtime errors that point back into the spec."""

from __future__ import annotations

from typing import Any

import jmespath
import pytest

from integrate.errors import Location, RecordError
from integrate.expressions import Expr, ExpressionError, compile_expr
from integrate.functions import (
    CORE_FUNCTIONS,
    Function,
    FunctionLibrary,
    RunScope,
    context_functions,
    run_scope,
)

WHERE = Location("spec.yaml", 12, 15)
LIBRARY = FunctionLibrary(CORE_FUNCTIONS)

RECORD: dict[str, Any] = {
    "Name": "  Jean  Paul   Sartre ",
    "Email": "Jean.Sartre@Example.COM",
    "Missing": None,
    "Empty": "",
    "Day": "2024-03-05",
    "Stamp": "2024-03-05T10:20:30Z",
    "Millis": 1709634030000,
    "Local": "05/03/2024",
    "Owner": {"email": "owner@example.com", "name": "Ann", "team": {"name": "Blue"}},
    "Tags": ["vip", "partner"],
    "Html": '<b>Tom & "Jerry"</b>',
    "Count": 2.0,
    "Flag": True,
    "Zero": 0,
}


def compiled(text: str) -> Expr:
    return compile_expr(text, WHERE, LIBRARY)


def run(text: str, record: Any = None) -> Any:
    return compiled(text)(RECORD if record is None else record)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("lower(Email)", "jean.sartre@example.com"),
        ("lower(Missing)", None),
        ("upper(Owner.name)", "ANN"),
        ("upper(Missing)", None),
        ("trim(Name)", "Jean Paul Sartre"),
        ("trim(Missing)", None),
        ("first_word(Name)", "Jean"),
        ("first_word(Empty)", None),
        ("rest_words(Name)", "Paul Sartre"),
        ("rest_words('Cher')", None),
        ("split('a,b,,c', ',')", ["a", "b", "", "c"]),
        ("split(Name, '')", ["Jean", "Paul", "Sartre"]),
        ("split(Missing, ',')", []),
        ("replace(Email, '@', ' at ')", "Jean.Sartre at Example.COM"),
        ("replace(Missing, 'a', 'b')", None),
        ("concat('#', Missing, `1`, Count, Flag, '-', Owner.name)", "#12true-Ann"),
        ("coalesce(Missing, Empty, Owner.name, Email)", "Ann"),
        ("coalesce(Missing, Empty)", None),
        ("if(Flag, 'yes', 'no')", "yes"),
        ("if(Missing, 'yes', 'no')", "no"),
        ("if(Empty, 'yes', 'no')", "no"),
        ("if(Zero, 'yes', 'no')", "yes"),  # JMESPath truthiness: 0 is true
        ("if(`[]`, 'yes', 'no')", "no"),
        ("escape_html(Html)", "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;"),
        ("escape_html(`5`)", "5"),
        ("escape_html(Missing)", None),
    ],
)
def test_core_text_functions(expression: str, expected: Any) -> None:
    assert run(expression) == expected


# ---- date ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("date(Day, '%d.%m.%Y')", "05.03.2024"),
        ("date(Stamp, '%Y%m%d %H:%M')", "20240305 10:20"),
        ("date(Millis, '%Y-%m-%dT%H:%M:%S%z')", "2024-03-05T10:20:30+0000"),
        ("date(Local, '%Y-%m-%d', '%d/%m/%Y')", "2024-03-05"),
        ("date(Missing, '%Y')", None),
        ("date(Empty, '%Y')", None),
    ],
)
def test_date_reformats_iso_dates_epoch_millis_and_given_formats(
    expression: str, expected: str | None
) -> None:
    assert run(expression) == expected


def test_date_that_does_not_fit_its_format_fails_the_record_at_the_expression() -> None:
    with pytest.raises(RecordError) as caught:
        run("date(Local, '%Y', '%Y-%m-%d')")

    assert caught.value.message == "date(): '05/03/2024' is not the format %Y-%m-%d"
    assert caught.value.location == WHERE


def test_date_of_text_that_is_not_a_date_names_the_value() -> None:
    with pytest.raises(RecordError, match=r"date\(\): 'soon' is not an ISO date"):
        run("date(When, '%Y')", {"When": "soon"})


def test_date_of_a_boolean_is_refused() -> None:
    with pytest.raises(RecordError, match=r"date\(\): cannot read True as a date"):
        run("date(Flag, '%Y')")


# ---- format ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("format('{name} <{email}>', Owner)", "Ann <owner@example.com>"),
        ("format('{0}/{1}', Tags)", "vip/partner"),
        ("format('{}+{}', Tags)", "vip+partner"),
        ("format('id {0}', Owner.name)", "id Ann"),
        ("format('[{nothing}]', Owner)", "[]"),
        ("format('{0} {1}', [Missing, Count])", " 2"),
    ],
)
def test_format_fills_names_from_an_object_and_numbers_from_a_list(
    expression: str, expected: str
) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    "template",
    ["{0.__class__}", "{name.__class__.__mro__}", "{0[0]}", "{name[email]}"],
)
def test_format_refuses_attribute_and_index_access(template: str) -> None:
    record = {"Values": {"name": "Ann"}, "List": ["x"]}
    values = "List" if template.startswith("{0") else "Values"

    with pytest.raises(RecordError) as caught:
        run(f"format('{template}', {values})", record)

    assert caught.value.message == f"format(): '{template}' is not allowed; use {{name}} or {{0}}"
    assert caught.value.location == WHERE


def test_format_refuses_format_specifications() -> None:
    with pytest.raises(RecordError, match="format specifications are not supported"):
        run("format('{name:>40}', Owner)")


def test_format_with_a_name_but_a_list_of_values_fails_the_record() -> None:
    with pytest.raises(RecordError) as caught:
        run("format('{name}', Tags)")

    assert caught.value.message == "format(): {name} needs an object of values"
    assert caught.value.location == WHERE


def test_format_with_a_position_past_the_list_fails_the_record() -> None:
    with pytest.raises(RecordError, match="index out of range"):
        run("format('{5}', Tags)")


# ---- compiled expressions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "path"),
    [
        ("Email", ("Email",)),
        ("Owner.email", ("Owner", "email")),
        ("Owner.team.name", ("Owner", "team", "name")),
        ('"Account Name".id', ("Account Name", "id")),
    ],
)
def test_plain_field_paths_take_the_getter(expression: str, path: tuple[str, ...]) -> None:
    assert compiled(expression).path == path


@pytest.mark.parametrize(
    "expression",
    ["lower(Email)", "Tags[0]", "Owner.email || Email", "Owner.*", "Owner.team | name"],
)
def test_anything_else_goes_to_the_interpreter(expression: str) -> None:
    expr = compiled(expression)

    assert expr.path is None
    assert expr(RECORD) == jmespath.search(expression, RECORD, LIBRARY.options())


@pytest.mark.parametrize(
    "record",
    [
        RECORD,
        {},
        {"Owner": None},
        {"Owner": "text, not an object"},
        {"Owner": ["a", "list"]},
        {"Owner": {"team": 5}},
        {"Owner": {"team": {"name": ""}}},
        ["a", "list", "record"],
        None,
    ],
)
@pytest.mark.parametrize("expression", ["Owner", "Owner.team.name", "Owner.email", "Email"])
def test_the_getter_answers_what_jmespath_answers(expression: str, record: Any) -> None:
    assert compiled(expression)(record) == jmespath.search(expression, record)


def test_literals_become_constants() -> None:
    assert compiled("'General'").constant
    assert compiled("`true`")({}) is True
    assert compiled('`{"a": 1}`')(None) == {"a": 1}


def test_expressions_are_compiled_once_not_per_record(monkeypatch: pytest.MonkeyPatch) -> None:
    expr = compiled("concat(lower(Owner.name), '-', upper(Email))")

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("an expression was parsed again while records were mapped")

    monkeypatch.setattr(jmespath, "compile", refuse)
    monkeypatch.setattr(jmespath.parser.Parser, "parse", refuse)

    assert [expr({"Owner": {"name": n}, "Email": "x"}) for n in ("A", "B")] == ["a-X", "b-X"]


def test_a_wrong_argument_type_at_run_time_is_a_record_error_at_the_expression() -> None:
    with pytest.raises(RecordError) as caught:
        run("lower(Count)")

    assert caught.value.location == WHERE
    assert caught.value.message.startswith("lower(Count): In function lower(), invalid type")


def test_a_date_out_of_range_is_a_record_error_not_a_crash() -> None:
    with pytest.raises(RecordError) as caught:
        run("date(`99999999999999999`, '%Y')")

    assert caught.value.location == WHERE
    assert "out of range" in caught.value.message


def test_a_syntax_error_says_where_in_the_expression() -> None:
    with pytest.raises(ExpressionError) as caught:
        compiled("Name Phone")

    assert caught.value.offset == 5
    assert caught.value.message == (
        "invalid expression 'Name Phone': Unexpected token: Phone (near 'Phone')"
    )


def test_an_unknown_function_suggests_the_closest() -> None:
    with pytest.raises(
        ExpressionError, match=r"unknown function lowr\(\) \(did you mean lower\(\)\?\)"
    ):
        compiled("lowr(Email)")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("lower(Email, Name)", "lower() takes 1 argument, got 2"),
        ("replace(Email, '@')", "replace() takes 3 arguments, got 2"),
        ("concat()", "concat() takes at least 1 argument, got 0"),
        ("date(Day)", "date() takes at least 2 arguments, got 1"),
    ],
)
def test_a_wrong_number_of_arguments_is_caught_when_compiling(
    expression: str, message: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        compiled(expression)

    assert caught.value.message == message


# ---- libraries --------------------------------------------------------------------------------


def test_a_plugin_function_is_callable_beside_the_core_ones() -> None:
    shout = Function("shout", lambda s: None if s is None else s.upper() + "!", ("string|null",))
    library = FunctionLibrary([*CORE_FUNCTIONS, shout])

    expr = compile_expr("shout(lower(Owner.name))", WHERE, library)

    assert expr(RECORD) == "ANN!"
    assert "shout" in library.names()
    assert "shout" not in LIBRARY.names()


def test_linked_and_lookup_answer_from_the_scope_a_run_hands_in() -> None:
    library = FunctionLibrary([*CORE_FUNCTIONS, *context_functions()])
    linked = compile_expr("linked('accounts', Account.id)", WHERE, library)
    lookup = compile_expr("lookup('sdp.sites', {name: Site}).id", WHERE, library)
    record = {"Account": {"id": "A1"}, "Site": "Main"}

    assert linked(record) is None  # outside any run
    assert lookup(record) is None

    scope = RunScope(
        linked=lambda flow, source_id, side: f"{flow}:{source_id}:{side}->T9",
        lookup=lambda ref, query: {"id": f"{ref}/{query['name']}"},
    )
    with run_scope(scope):
        assert linked(record) == "accounts:A1:None->T9"
        assert lookup(record) == "sdp.sites/Main"
        assert linked({"Account": {}}) is None
    assert linked(record) is None  # and after it
