"""Generated answers are recomputed exactly; wrong ones are dropped, noisy ones normalized."""

from fractions import Fraction

import pytest

from slm_math.data.answer_checks import CHECKS, exact_value


def test_exact_value_is_rational_not_floor():
    assert exact_value("7 / 2 - 1") == Fraction(5, 2)
    assert exact_value("-(3 * -4) + 2") == 14
    with pytest.raises(ValueError):
        exact_value("__import__('os')")


def test_floor_division_answer_is_dropped():
    item = {"answer": "3", "metadata": {"expression": "7 / 2"}}  # floor division gave 3
    assert CHECKS["basic_arithmetic"](item) is None
    item = {"answer": "42", "metadata": {"expression": "6 * 7"}}
    assert CHECKS["products"](item) == "42"


def test_gsm_float_noise_is_normalized():
    assert CHECKS["gsm_symbolic"]({"answer": "26.000000000000004", "metadata": {}}) == "26"
    assert CHECKS["gsm_symbolic"]({"answer": "2.5", "metadata": {}}) == "2.5"
    assert CHECKS["gsm_symbolic"]({"answer": "lots", "metadata": {}}) is None


def test_latex_styled_fraction_becomes_plain_lowest_terms():
    meta = {"numerator": "92", "denominator": "524", "simplified_numerator": "23",
            "simplified_denominator": "131"}
    assert CHECKS["fraction_simplification"]({"answer": "$\\frac{23}{131}$",
                                               "metadata": meta}) == "23/131"
    wrong = dict(meta, simplified_numerator="46", simplified_denominator="262")
    assert CHECKS["fraction_simplification"]({"answer": "46/262", "metadata": wrong}) is None


def test_prime_factorization_must_be_prime_and_multiply_out():
    assert CHECKS["prime_factorization"]({"answer": "2 × 3 × 7", "metadata": {"number": 42}}) \
        == "2 × 3 × 7"
    assert CHECKS["prime_factorization"]({"answer": "6 × 7", "metadata": {"number": 42}}) is None
    assert CHECKS["prime_factorization"]({"answer": "2 × 3 × 5", "metadata": {"number": 42}}) \
        is None


def test_lcm_recomputed():
    assert CHECKS["lcm"]({"answer": "12", "metadata": {"numbers": [4, 6]}}) == "12"
    assert CHECKS["lcm"]({"answer": "24", "metadata": {"numbers": [4, 6]}}) is None
