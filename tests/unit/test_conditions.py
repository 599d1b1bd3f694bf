"""A flow's filter compiled into a condition a connector can push down (issue 12, CS-1): what
is pushed, what is not, and that what is pushed never leaves out a record the filter lets
through."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from integrate import (
    And,
    Compare,
    Condition,
    IsNull,
    IsTrue,
    Not,
    Or,
    compile_filter,
    keep_sayable,
    matches,
    without_not,
)
from integrate.engine.values import truthy
from integrate.errors import Location
from integrate.expressions import compile_expr
from integrate.functions import CORE_FUNCTIONS, FunctionLibrary

WHERE = Location("spec.yaml", 3, 7)
LIBRARY = FunctionLibrary(CORE_FUNCTIONS)
BOOLEANS = ("Sync",)


def pushed(text: str) -> Condition | None:
    return compile_filter(compile_expr(text, WHERE, LIBRARY), booleans=BOOLEANS)


def test_the_spec_filter_is_pushed_whole() -> None:
    # CS-1: the clients flow's filter
    assert pushed("Account_Status == 'Customer' || Sync == `true`") == Or(
        (Compare("Account_Status", "==", "Customer"), Compare("Sync", "==", True))
    )


def test_not_equal_also_lets_null_through() -> None:
    # JMESPath: null != 'Lost' is true, so a record without a Stage must be read
    condition = pushed("Stage != 'Lost'")
    assert condition == Or((Compare("Stage", "!=", "Lost"), IsNull("Stage")))
    assert condition is not None
    assert matches(condition, {"Stage": None})
    assert matches(condition, {})
    assert not matches(condition, {"Stage": "Lost"})


def test_null_literals_are_null_tests() -> None:
    assert pushed("Email == `null`") == IsNull("Email")
    assert pushed("Email != `null`") == IsNull("Email", negated=True)
    assert pushed("`null` != Email") == IsNull("Email", negated=True)
    # a bare `null` is a field of that name in JMESPath: two fields, not pushed
    assert pushed("Email != null") is None


def test_a_literal_on_the_left_flips_the_comparison() -> None:
    assert pushed("`10` < Employees") == Compare("Employees", ">", 10)


def test_and_pushes_the_parts_it_can() -> None:
    # a superset: the function's part is left to the engine
    assert pushed("Status == 'Customer' && length(Tags) > `0`") == Compare(
        "Status", "==", "Customer"
    )
    assert pushed("a == 'x' && b == `2` && c.d == 'y'") == And(
        (Compare("a", "==", "x"), Compare("b", "==", 2))
    )


def test_or_is_all_or_nothing() -> None:
    assert pushed("Status == 'Customer' || contains(Tags, 'vip')") is None
    assert pushed("Status == 'Customer' || Owner.name == 'Pat'") is None


def test_functions_paths_and_lets_are_not_pushed() -> None:
    for text in (
        "length(Account_Name.id) > `0`",
        "lower(Email) == 'a@b.c'",
        "Owner.email == 'a@b.c'",
        "let.kind == 'x'",
        "Tags[0] == 'x'",
        "a == b",
        "`true`",
        "a == `[1]`",
    ):
        assert pushed(text) is None, text


def test_a_bare_field_is_pushed_only_when_boolean() -> None:
    # JMESPath truthiness of a string or list is no comparison: only a boolean pushes
    assert pushed("Sync") == IsTrue("Sync")
    assert pushed("Name") is None
    assert pushed("Name && Sync") == IsTrue("Sync")


def test_ordering_is_pushed_for_numbers_only() -> None:
    assert pushed("Employees >= `50`") == Compare("Employees", ">=", 50)
    assert pushed("Name < 'M'") is None
    assert pushed("Employees < `true`") is None
    assert pushed("Employees < `null`") is None


def test_not_is_pushed_only_over_an_exact_part() -> None:
    assert pushed("!(Status == 'Customer')") == Not(Compare("Status", "==", "Customer"))
    # the inner && dropped a function: its negation would leave records out
    assert pushed("!(Status == 'Customer' && contains(Tags, 'x'))") is None


def test_without_not_moves_negation_into_the_leaves() -> None:
    condition = without_not(Not(And((Compare("a", "==", "x"), IsTrue("b")))))
    assert condition == Or(
        (
            Or((Compare("a", "!=", "x"), IsNull("a"))),
            Or((IsNull("b"), Compare("b", "!=", True))),
        )
    )


def test_keep_sayable_drops_from_and_never_from_or() -> None:
    a, b, c = Compare("a", "==", 1), Compare("b", "==", 2), Compare("c", "==", 3)

    def say(leaf: Any) -> bool:
        return getattr(leaf, "field", "") != "b"

    assert keep_sayable(And((a, b, c)), say) == And((a, c))
    assert keep_sayable(And((a, Or((b, c)))), say) == a
    assert keep_sayable(Or((a, b)), say) is None
    with pytest.raises(ValueError, match="without Not"):
        keep_sayable(Not(a), say)


FILTERS = (
    "Status == 'Customer' || Sync == `true`",
    "Status != 'Lost'",
    "!(Status == 'Customer')",
    "!(Status != 'Lost') || Sync",
    "Employees > `10` && Status != `null`",
    "!(Employees > `10`)",
    "Sync && !(Status == 'Lost')",
    "Status == 'Customer' && lower(Name) == 'x'",
)
VALUES = {
    "Status": [None, "Customer", "Lost", ""],
    "Sync": [True, False],
    "Employees": [None, 5, 10, 11.5],
    "Name": ["x", "X"],
}


@pytest.mark.parametrize("text", FILTERS)
def test_what_is_pushed_lets_through_every_record_the_filter_does(text: str) -> None:
    expr = compile_expr(text, WHERE, LIBRARY)
    condition = compile_filter(expr, booleans=BOOLEANS)
    assert condition is not None
    plain = without_not(condition)
    for combo in itertools.product(*VALUES.values()):
        record = dict(zip(VALUES, combo, strict=True))
        if truthy(expr(record)):
            assert matches(condition, record), (text, record)
            assert matches(plain, record), (text, record)
        # without Not, the condition means the same
        assert matches(plain, record) == matches(condition, record), (text, record)
