import pytest

from dialogs.rules.expressions import (
    FUNCTIONS,
    ExpressionError,
    Record,
    evaluate,
    is_true,
    references,
)

NAMES = {
    "score": 42, "tags": frozenset({"urgent", "big_order"}), "discount": 9.0,
    "answers": Record({"city": "far", "extras": ("sink", "lighting"), "area": 64.0}),
    "values": Record({"area": 64.0, "level": 6500.0}), "has_phone": True,
}


@pytest.mark.parametrize(("expression", "expected"), [
    ("score >= 40", True),
    ("score >= 40 and 'urgent' in tags", True),
    ("'premium' in tags", False),
    ("answers.city != 'far'", False),
    ("answers['city'] == 'far'", True),
    ("'sink' in answers.extras", True),
    ("answers.city in ('near', 'far')", True),
    ("answers.unanswered is None", True),  # a step not answered reads as None
    ("answers.unanswered > 5", False),  # ... and a comparison with it is simply false
    ("answers.items", False),  # never a dict method
    ("values.area * values.level > 400000", True),
    ("not has_phone", False),
    ("max(score, 50) == 50", True),
])
def test_conditions(expression, expected):
    assert is_true(expression, NAMES) is expected


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')",
    "score.__class__",
    "open('/etc/passwd')",
    "(lambda: 1)()",
    "9 ** 9 ** 9",
])
def test_unsafe_expressions_are_refused(expression):
    with pytest.raises(ExpressionError):
        evaluate(expression, NAMES)


def test_formula_arithmetic():
    assert evaluate("values.area * (values.level + (values.extras or 0))", NAMES) == 416000


def test_syntax_error_names_the_expression():
    with pytest.raises(ExpressionError, match="cannot parse 'score >='"):
        evaluate("score >=", NAMES)


def test_references_find_steps_tags_and_literals():
    refs = references("answers.city != 'far' and 'urgent' in tags and values.area > score "
                      "and 'sink' in answers.extras and foo(bar)")
    assert ("answers", "city") in refs.steps and ("values", "area") in refs.steps
    assert refs.tags == {"urgent"}
    assert refs.compared == {("city", "far"), ("extras", "sink")}
    assert {"score", "bar"} <= refs.names
    assert refs.calls == {"foo"}


def test_evaluating_does_not_widen_the_functions_a_flow_may_call():
    # simpleeval's EvalWithCompoundTypes adds list/dict/set/tuple to the dict it is given;
    # ours must stay as declared, or the linter would start accepting them.
    before = dict(FUNCTIONS)
    evaluate("max(1, 2)", {})
    assert before == FUNCTIONS
