"""stated_value: which answers with `=`, `<` or `\\le` state a value, and which are relations."""

import pytest

from slm_math.grading.normalize import clean_plain_answer, is_factor_product, strip_outer_parentheses
from slm_math.grading.relations import stated_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = 3", "3"),
        ("k=\\frac{1}{3}", "\\frac{1}{3}"),
        ("a_{10} = 55", "55"),
        ("f(2) = 7", "7"),
        ("\\angle ABC = 90^\\circ", "90^\\circ"),
        ("AB=4,CD=5", "4, 5"),
        ("x = 5+5+1 = 11", "11"),
        ("2+1 = 3", "3"),
        ("798 = 2 x 3 x 7 x 19", "2 x 3 x 7 x 19"),
        ("x \\approx 11", "11"),
        ("y = 2x + 3", "2x + 3"),  # a value in x, for a name that is not x
        ("total cost = 50", "50"),
        ("cost = 5 dollars", "5 dollars"),  # the letters of "dollars" are no use of "cost"
        ("x = 5 xylophones", "5 xylophones"),
        ("\\theta = 2\\theta", "\\theta = 2\\theta"),
        # relations: unchanged
        ("2x - y + 3z + 8 = 0", "2x - y + 3z + 8 = 0"),
        ("2x = 6", "2x = 6"),
        ("x = 2x - 6", "x = 2x - 6"),
        ("x >= 5", "x >= 5"),
        ("x \\le 5", "x \\le 5"),
        ("x \\neq 3", "x \\neq 3"),
        ("x \\in [2, 5)", "x \\in [2, 5)"),
        ("x = 3 and y = 4", "x = 3 and y = 4"),
        ("x = 1, 2x = 4", "x = 1, 2x = 4"),
        # no relation at all
        ("1,234", "1,234"),
        ("\\sum_{k=1}^{n} k", "\\sum_{k=1}^{n} k"),
    ],
)
def test_stated_value(text, expected):
    assert stated_value(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("(-7)", "-7"), ("((5))", "5"), ("(1, 2)", "(1, 2)"), ("(1)+(2)", "(1)+(2)"), ("(3+4)", "3+4"), ("5", "5")],
)
def test_strip_outer_parentheses(text, expected):
    assert strip_outer_parentheses(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\frac{1}{3} \\text{meters}", "\\frac{1}{3}"),
        ("15\\mbox{ cm}^2", "15"),
        ("125\\textnormal{ miles}", "125"),
        ("\\left( \\frac{1}{3} \\right)", "\\frac{1}{3}"),
        ("11,\\! 111,\\! 100", "11,111,100"),
        ("6 \\text{ or more}", "6 or more"),  # "or" is no unit
        ("x \\ge 5", "x \\ge 5"),
    ],
)
def test_clean_plain_answer(text, expected):
    assert " ".join(clean_plain_answer(text).split()) == expected


@pytest.mark.parametrize(("text", "expected"), [("2^3", False), ("2^{10}", False), ("2^2 \\times 3", True),
                                                ("2 × 3", True), ("2, 3", False), ("6", False)])
def test_a_factor_product_needs_a_product_sign(text, expected):
    assert is_factor_product(text) is expected
