"""The grading table: (response, gold, rule, expected) cases from real failure modes."""

import pytest

from slm_math.grading import grade, infer_rule, judge

B = "\\boxed"

# (response, gold, rule, expected verdict, why)
CASES = [
    # --- numeric: GSM8K-style answers and their decorations
    ("#### 18", "18", "numeric", True, "gsm8k marker"),
    ("Janet makes $18 a day.\n#### $18", "18", "numeric", True, "currency after ####"),
    (f"{B}{{18}}", "18", "numeric", True, "plain box"),
    (f"{B}{{\\$18}}", "18", "numeric", True, "escaped dollar in box"),
    (f"{B}{{18 \\text{{ dollars}}}}", "18", "numeric", True, "unit in text"),
    ("The answer is 18 dollars.", "18", "numeric", True, "answer phrase with unit word"),
    ("The answer is 18 apples", "18", "numeric", True, "unit word"),
    (f"{B}{{1,234}}", "1234", "numeric", True, "thousands separator"),
    (f"{B}{{1{{,}}234}}", "1234", "numeric", True, "latex thousands separator"),
    (f"{B}{{1\\,234}}", "1234", "numeric", True, "thin space thousands"),
    (f"{B}{{1,234,567}}", "1,234,567", "numeric", True, "separators both sides"),
    (f"{B}{{25\\%}}", "25", "numeric", True, "percent is decoration"),
    ("The answer is 25%.", "25", "numeric", True, "percent phrase"),
    (f"{B}{{45^\\circ}}", "45", "numeric", True, "degrees"),
    (f"{B}{{45^{{\\circ}}}}", "45", "numeric", True, "degrees braced"),
    (f"{B}{{x = 3}}", "3", "numeric", True, "assignment"),
    (f"{B}{{18.00}}", "18", "numeric", True, "trailing zeros"),
    (f"{B}{{18.}}", "18", "numeric", True, "trailing period"),
    (f"{B}{{0.5}}", "1/2", "numeric", True, "decimal vs fraction gold"),
    (f"{B}{{\\dfrac{{1}}{{2}}}}", "0.5", "numeric", True, "dfrac"),
    (f"{B}{{\\tfrac12}}", "0.5", "numeric", True, "tfrac shorthand"),
    (f"{B}{{6/8}}", "0.75", "numeric", True, "non-reduced fraction is fine for numeric"),
    (f"{B}{{-7}}", "-7", "numeric", True, "negative"),
    (f"{B}{{−7}}", "-7", "numeric", True, "unicode minus"),
    (f"{B}{{\\left(-7\\right)}}", "-7", "numeric", True, "parentheses around a number are decoration"),
    (f"{B}{{\\left(3+4\\right)}}", "7", "numeric", False, "parentheses around a computation"),
    (f"{B}{{26}}", "26.000000000000004", "numeric", True, "float noise in gold within tolerance"),
    (f"{B}{{0.3333333}}", "1/3", "numeric", True, "within 1e-6 relative"),
    (f"{B}{{0.333}}", "1/3", "numeric", False, "outside tolerance"),
    (f"{B}{{\\frac{{1}}{{3}}}}", "0.3333333", "numeric", True, "rounds to a truncated repeating gold"),
    (f"{B}{{16386.17}}", "16386.16", "numeric", False, "6e-7 relative, but a cent off a finite decimal"),
    (f"{B}{{16386.16}}", "16386.17", "numeric", False, "the other way"),
    (f"{B}{{0.1234568}}", "0.12345678", "numeric", False, "does not round to the gold's last decimal"),
    (f"{B}{{0.30000000000000004}}", "0.3", "numeric", True, "float noise in the prediction"),
    (f"{B}{{2.5000001}}", "5/2", "numeric", True, "within 1e-6 and rounds to the gold (2.5)"),
    (f"{B}{{0.0000001}}", "0", "numeric", False, "zero gold needs exact zero"),
    (f"{B}{{1000002}}", "1000001", "numeric", False, "integer gold is exact (no relative tolerance)"),
    (f"{B}{{1000001.5}}", "1000001", "numeric", False, "integer gold is exact (decimal)"),
    (f"{B}{{26.0}}", "26", "numeric", True, "integer written as decimal"),
    (f"{B}{{1.5e3}}", "1500", "numeric", True, "scientific"),
    (f"{B}{{1.5 \\times 10^{{3}}}}", "1500", "numeric", True, "scientific latex"),
    (f"{B}{{2602 - -(9777 * -3677)}}", "-35947427", "numeric", False, "unevaluated computation (reward hack)"),
    (f"{B}{{3+4}}", "7", "numeric", False, "sum left to do"),
    (f"{B}{{7 \\times 8}}", "56", "numeric", False, "product left to do"),
    (f"{B}{{\\sqrt{{100}}}}", "10", "numeric", False, "root is a computation"),
    (f"{B}{{36/12}}", "3", "numeric", False, "integer-valued fraction is an undone division"),
    (f"{B}{{3 \\text{{ or }} 5}}", "5", "numeric", False, "hedged answer"),
    (f"{B}{{3, 5}}", "5", "numeric", False, "two values in one box"),
    (f"{B}{{5}} wait, actually {B}{{3}}", "5", "numeric", False, "last box counts"),
    (f"{B}{{3}} hmm no: {B}{{5}}", "5", "numeric", True, "last box counts (right)"),
    (f"{B}{{5 x 3}}", "5", "numeric", False, "x is not a unit"),
    ("I think it is 17 then 18", "18", "numeric", True, "final-number fallback on"),
    ("no digits at all", "18", "numeric", False, "nothing to extract"),
    ("", "18", "numeric", False, "empty response"),
    (f"{B}{{18", "18", "numeric", True, "malformed box falls back to last number"),
    (f"{B}{{19}}\n#### 18", "18", "numeric", False, "box wins over ####"),
    ("**Answer:** 42", "42", "numeric", True, "markdown answer"),
    ("The answer is 3.5.", "3.5", "numeric", True, "decimal at sentence end"),
    (f"{B}{{12}}", "13", "numeric", False, "plain wrong"),
    (f"{B}{{-12}}", "12", "numeric", False, "sign matters"),
    (f"{B}{{1,5}}", "1.5", "numeric", False, "european decimal comma is not a number"),
    (f"{B}{{1e999999999}}", "1", "numeric", False, "huge exponent refused fast"),
    # --- fraction_lowest_terms (reasoning-gym fraction_simplification golds)
    (f"{B}{{440/797}}", "440/797", "fraction_lowest_terms", True, "plain"),
    (f"{B}{{\\frac{{440}}{{797}}}}", "$\\frac{440}{797}$", "fraction_lowest_terms", True, "latex both"),
    (f"{B}{{\\dfrac{{440}}{{797}}}}", "$440/797$", "fraction_lowest_terms", True, "dfrac vs inline gold"),
    (f"{B}{{37840/68542}}", "440/797", "fraction_lowest_terms", False, "not reduced"),
    (f"{B}{{\\frac{{880}}{{1594}}}}", "440/797", "fraction_lowest_terms", False, "not reduced latex"),
    (f"{B}{{0.5}}", "1/2", "fraction_lowest_terms", False, "decimal for a fraction task"),
    (f"{B}{{-\\frac{{1}}{{2}}}}", "-1/2", "fraction_lowest_terms", True, "negative latex"),
    (f"{B}{{\\frac{{-1}}{{2}}}}", "-1/2", "fraction_lowest_terms", True, "sign on numerator"),
    (f"{B}{{3/1}}", "3", "fraction_lowest_terms", False, "denominator one is not simplified"),
    (f"{B}{{3}}", "3", "fraction_lowest_terms", True, "integer gold"),
    (f"{B}{{797/440}}", "440/797", "fraction_lowest_terms", False, "inverted"),
    ("The simplified fraction is 440/797.", "440/797", "fraction_lowest_terms", True, "fallback phrase"),
    # --- factor_list (reasoning-gym prime_factorization golds)
    (f"{B}{{2 \\times 3 \\times 7 \\times 19}}", "2 × 3 × 7 × 19", "factor_list", True, "latex times"),
    (f"{B}{{2 × 3 × 7 × 19}}", "2 × 3 × 7 × 19", "factor_list", True, "unicode times"),
    (f"{B}{{2 x 3 x 7 x 19}}", "2 × 3 × 7 × 19", "factor_list", True, "letter x"),
    (f"{B}{{2*3*7*19}}", "2 × 3 × 7 × 19", "factor_list", True, "asterisks"),
    (f"{B}{{19 \\cdot 7 \\cdot 3 \\cdot 2}}", "2 × 3 × 7 × 19", "factor_list", True, "any order"),
    (f"{B}{{2^2 \\times 3}}", "2 × 2 × 3", "factor_list", True, "powers"),
    (f"{B}{{2, 3, 7, 19}}", "2 × 3 × 7 × 19", "factor_list", True, "comma list"),
    (f"{B}{{798}}", "2 × 3 × 7 × 19", "factor_list", False, "the product is not a factorization"),
    (f"{B}{{2 \\times 3 \\times 7}}", "2 × 3 × 7 × 19", "factor_list", False, "missing factor"),
    (f"{B}{{1 \\times 2 \\times 3 \\times 7 \\times 19}}", "2 × 3 × 7 × 19", "factor_list", False, "extra 1"),
    (f"{B}{{798 = 2 \\times 3 \\times 7 \\times 19}}", "2 × 3 × 7 × 19", "factor_list", True, "product then factors"),
    (f"{B}{{2 \\times 399}}", "2 × 3 × 7 × 19", "factor_list", False, "partial factorization"),
    (f"{B}{{13}}", "13", "factor_list", True, "a prime is its own factorization"),
    # --- latex (MATH-style, math-verify)
    (f"{B}{{(1, 2]}}", "(1,2]", "latex", True, "interval"),
    (f"{B}{{1000}}", "1,\\!000", "latex", True, "negative thin space in gold"),
    (f"{B}{{5!}}", "120", "latex", True, "factorial is not punctuation"),
    (f"{B}{{\\frac{{1}}{{3}}}}", "0.\\overline{3}", "latex", True, "repeating decimal"),
    (f"{B}{{[1, 2)}}", "(1,2]", "latex", False, "interval ends differ"),
    (f"{B}{{(-\\infty, 3)}}", "(-\\infty,3)", "latex", True, "infinite interval"),
    (f"{B}{{(2, 3)}}", "(2,3)", "latex", True, "tuple/interval"),
    (f"{B}{{\\{{2, 1\\}}}}", "\\{1,2\\}", "latex", True, "set order"),
    (f"{B}{{\\begin{{pmatrix}} 1 \\\\ 2 \\end{{pmatrix}}}}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", "latex", True, "matrix"),
    (f"{B}{{\\begin{{pmatrix}} 2 \\\\ 1 \\end{{pmatrix}}}}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", "latex", False, "matrix entries"),
    (f"{B}{{\\frac{{\\pi}}{{2}}}}", "\\pi/2", "latex", True, "pi"),
    (f"{B}{{\\pi}}", "3.14", "latex", False, "pi is not 3.14"),
    (f"{B}{{3\\sqrt{{2}}}}", "\\sqrt{18}", "latex", True, "roots"),
    (f"{B}{{2\\sqrt{{3}}}}", "\\sqrt{18}", "latex", False, "wrong root"),
    (f"{B}{{\\frac{{\\sqrt{{3}}}}{{2}}}}", "\\frac{\\sqrt3}{2}", "latex", True, "root shorthand"),
    (f"{B}{{x^2+2x+1}}", "(x+1)^2", "latex", True, "expanded polynomial"),
    (f"{B}{{\\text{{(B)}}}}", "B", "latex", True, "multiple choice letter"),
    (f"{B}{{\\sqrt{{100}}}}", "10", "latex", True, "latex rule accepts computations"),
    (f"{B}{{\\dfrac{{3}}{{4}}}}", "\\frac34", "latex", True, "plain numbers settle without parser"),
    (f"{B}{{x = 3}}", "3", "latex", True, "equation for a value"),
    (f"{B}{{3, 5}}", "5", "latex", False, "a set is not its last element"),
    (f"{B}{{5, 3}}", "3, 5", "latex", True, "list of solutions"),
    ("The answer is 5", "\\frac{\\pi}{2}", "latex", False, "no box, no fallback number for latex"),
    ("we get 7 in the end", "7", "latex", False, "fallback off for latex"),
    (f"{B}{{9^{{9^{{9^{{9}}}}}}}}", "5", "latex", False, "power tower is bounded and wrong"),
    # --- auto: inference from the gold
    (f"{B}{{2602 - -(9777 * -3677)}}", "-35947427", "auto", False, "auto numeric rejects computation"),
    (f"{B}{{798}}", "2 × 3 × 7 × 19", "auto", False, "auto factor list"),
    (f"{B}{{2 \\times 3 \\times 7 \\times 19}}", "2 × 3 × 7 × 19", "auto", True, "auto factor list right"),
    (f"{B}{{(1,2]}}", "(1, 2]", "auto", True, "auto latex interval"),
    (f"{B}{{6/8}}", "$\\frac{3}{4}$", "auto", True, "auto never asks lowest terms"),
    ("#### 72", "72", "auto", True, "auto gsm8k"),
    (f"{B}{{2000}}", "2 \\times 10^{3}", "auto", True, "scientific gold is a number"),
    (f"{B}{{7}}", "\\boxed{7}", "auto", True, "boxed gold"),
    (f"{B}{{18}}", "18", "no_such_rule", False, "unknown rule is wrong, not an exception"),
]


def test_table_is_large_and_balanced():
    assert len(CASES) >= 80
    verdicts = [c[3] for c in CASES]
    assert verdicts.count(True) >= 25 and verdicts.count(False) >= 25


@pytest.mark.parametrize(("response", "gold", "rule", "expected", "why"), CASES, ids=[c[4] for c in CASES])
def test_grade_table(response, gold, rule, expected, why):
    assert grade(response, gold, rule=rule) is expected, judge(response, gold, rule=rule)


@pytest.mark.parametrize(
    ("gold", "rule"),
    [
        ("18", "numeric"),
        ("-3.5", "numeric"),
        ("1,234", "numeric"),
        ("$\\frac{440}{797}$", "numeric"),
        ("2 × 3 × 7 × 19", "factor_list"),
        ("2 \\times 2 \\times 3", "factor_list"),
        ("2, 3, 7", "latex"),
        ("(1,2]", "latex"),
        ("\\frac{\\pi}{2}", "latex"),
        ("\\boxed{42}", "numeric"),
    ],
)
def test_infer_rule(gold, rule):
    assert infer_rule(gold) == rule


def test_judge_reports_rule_answer_and_reason():
    verdict = judge(f"{B}{{2602 - -(9777 * -3677)}}", "-35947427", rule="numeric")
    assert (verdict.correct, verdict.rule, verdict.reason) == (False, "numeric", "not_a_number")
    assert verdict.answer == "2602 - -(9777 * -3677)"
    assert judge("#### 18", "18").rule == "numeric"


def test_fallback_knob_overrides_rule_default():
    assert grade("so it is 7", "7", rule="numeric", fallback=False) is False
    assert grade("so it is 7", "7", rule="latex", fallback=True) is True


def test_tolerance_knob():
    assert grade(f"{B}{{0.333}}", "1/3", rule="numeric", rel_tol=1e-2) is True
    assert grade(f"{B}{{0.3333333}}", "1/3", rule="numeric", rel_tol=0) is False


def test_max_chars_keeps_the_tail():
    response = "#### 1\n" + "x" * 50 + f"{B}{{2}}"
    assert grade(response, "2", max_chars=20) is True
    assert grade(f"{B}{{2}}" + " filler" * 10, "2", max_chars=20, fallback=False) is False


def test_gold_as_number_is_accepted():
    assert grade("#### 18", 18) is True
    assert grade(f"{B}{{0.5}}", 0.5) is True
    assert grade(None, "1") is False
