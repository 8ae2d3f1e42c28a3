"""Answer rules: what counts as correct for each kind of benchmark, and `auto` inference.

Each benchmark in the registry declares one rule (a string); the checks here are pure Python
(no LaTeX parser) and return True/False, or None when the gold itself does not fit the rule (the
grader then falls back to the `latex` rule and logs it).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from slm_math.grading.extract import last_boxed
from slm_math.grading.normalize import (
    clean_plain_answer,
    has_percent,
    is_factor_product,
    parse_factor_list,
    parse_fraction_literal,
    parse_number,
    strip_math_delimiters,
)

NUMERIC = "numeric"
FRACTION_LOWEST_TERMS = "fraction_lowest_terms"
FACTOR_LIST = "factor_list"
LATEX = "latex"
AUTO = "auto"
RULES = (NUMERIC, FRACTION_LOWEST_TERMS, FACTOR_LIST, LATEX, AUTO)

# Whether the last-number fallback is on by default, per rule: GSM8K-style numbers yes; a
# stray last number in a MATH-style solution or a factorization is not an answer.
FALLBACK_BY_RULE = {NUMERIC: True, FRACTION_LOWEST_TERMS: True, FACTOR_LIST: False, LATEX: False}

_INTEGER_LITERAL = re.compile(r"^[+-]?\d+$")


def clean_gold(gold: str) -> str:
    """The gold answer as a prediction's answer is taken: the last box's content if the gold has
    one (`\\boxed{10}` is `10`), without `$` delimiters. Every rule then normalizes gold and
    prediction alike."""
    boxed = last_boxed(gold) if "\\boxed" in gold or "\\fbox" in gold else None
    return strip_math_delimiters(boxed if boxed is not None else gold)


def infer_rule(gold: str) -> str:
    """The rule `auto` applies for this gold answer.

    A plain number (`42`, `-3.5`, `1,234`, `3/4`, `\\frac{3}{4}`) -> `numeric`; a written-out
    product of integers (`2 × 3 × 7`) -> `factor_list`; anything else -> `latex`. `auto` never
    picks `fraction_lowest_terms`: only the task knows that it asked for a simplified fraction.
    """
    cleaned = clean_gold(gold)
    if parse_number(clean_plain_answer(cleaned)) is not None:
        return NUMERIC
    if is_factor_product(cleaned):
        return FACTOR_LIST
    return LATEX


FLOAT_NOISE_REL = 1e-12
"""Relative difference that is float noise (`26.000000000000004`), not another number."""


def finite_decimals(value: Fraction) -> int | None:
    """How many decimals write `value` exactly (`16386.16` → 2, `3/8` → 3, `7` → 0), or None
    when its decimal repeats (`1/3`: its reduced denominator has a prime factor but 2 and 5)."""
    d, twos, fives = value.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    return max(twos, fives) if d == 1 else None


def numbers_close(prediction: Fraction, gold: Fraction, rel_tol: float) -> bool:
    """Exact rational comparison, up to float noise (`FLOAT_NOISE_REL`); otherwise within
    `rel_tol` of the gold's magnitude, and, for a gold with finitely many decimals, within
    half a unit of its last one (the prediction rounds to the gold as written).

    An integer gold needs exactly its value: a relative tolerance would take `1000002` for
    `1000001`. `16386.17` is not `16386.16` (6e-7 of the gold apart, but a cent); `1/3` is
    `0.3333333` (it rounds to it), and `0.3333333` is `1/3` (a repeating gold: `rel_tol`).
    """
    if prediction == gold:
        return True
    if gold.denominator == 1:
        return False
    diff = abs(prediction - gold)
    if diff <= Fraction(FLOAT_NOISE_REL) * abs(gold):
        return True
    if diff > Fraction(rel_tol) * abs(gold):
        return False
    decimals = finite_decimals(gold)
    return decimals is None or diff <= Fraction(1, 2 * 10 ** decimals)


def readings(value: Fraction, answer: str) -> list[Fraction]:
    """The values a number can mean: itself, and for a percent (`75\\%`, `75 percent`) also
    value / 100, as the Qwen2.5-Math grader reads a percent either way."""
    return [value, value / 100] if has_percent(answer) else [value]


def number_readings(answer: str) -> list[Fraction] | None:
    """`readings` of a plain-number answer (after `clean_plain_answer`), or None for anything else."""
    value = parse_number(clean_plain_answer(answer))
    return None if value is None else readings(value, answer)


def readings_match(prediction: list[Fraction], gold: list[Fraction], rel_tol: float) -> bool:
    """True when some reading of the prediction is `numbers_close` to some reading of the gold."""
    return any(numbers_close(p, g, rel_tol) for p in prediction for g in gold)


def check_numeric(prediction: str, gold: str, rel_tol: float) -> tuple[bool | None, str]:
    """`numeric` rule: the prediction must be a number literal equal to the gold's value.

    A computation is wrong even when it evaluates to the gold (`2602 - -(9777 * -3677)`), and so
    is a fraction whose value is an integer (`36/12` for `3`: a division left undone), and so is a
    relation (`x \\le 5`, `2x = 6`). Decorations are ignored (`$18`, `18 dollars`, `x = 3`,
    `45^\\circ`, `(-7)`); a percent on either side reads as its value or its value / 100 (`75\\%`
    is 75 or 0.75; a bare `75` is not 0.75). Returns (verdict, reason); verdict None when the
    gold is not a number.
    """
    gold_values = number_readings(gold)
    if gold_values is None:
        return None, "gold_not_numeric"
    text = clean_plain_answer(prediction)
    fraction = parse_fraction_literal(text)
    if fraction is not None and fraction[1] != 0 and fraction[0] % fraction[1] == 0:
        return False, "undone_division"
    value = parse_number(text)
    if value is None:
        return False, "not_a_number"
    ok = readings_match(readings(value, prediction), gold_values, rel_tol)
    return (True, "match") if ok else (False, "mismatch")


def check_fraction_lowest_terms(prediction: str, gold: str) -> tuple[bool | None, str]:
    """`fraction_lowest_terms` rule: exactly the gold fraction, written in lowest terms.

    `37840/68542` for `440/797` is wrong, and so are decimals (`0.5` for `1/2`) and `3/1`;
    `\\frac{440}{797}`, `440/797` and `-\\frac{1}{2}` forms are all accepted. An integer gold
    needs the integer itself.
    """
    gold_text = clean_plain_answer(gold)
    gold_fraction = parse_fraction_literal(gold_text)
    if gold_fraction is not None and gold_fraction[1] != 0:
        gold_value = Fraction(*gold_fraction)
    elif _INTEGER_LITERAL.match(gold_text):
        gold_value = Fraction(int(gold_text))
    else:
        return None, "gold_not_fraction"
    text = clean_plain_answer(prediction)
    if _INTEGER_LITERAL.match(text):
        ok = gold_value.denominator == 1 and int(text) == gold_value
        return ok, "match" if ok else "mismatch"
    fraction = parse_fraction_literal(text)
    if fraction is None:
        return False, "not_a_fraction"
    num, den = fraction
    if den <= 1 or math.gcd(num, den) != 1:
        return False, "not_lowest_terms"
    ok = Fraction(num, den) == gold_value
    return ok, "match" if ok else "mismatch"


def check_factor_list(prediction: str, gold: str) -> tuple[bool | None, str]:
    """`factor_list` rule: the same multiset of factors as the gold, in any order.

    Separators `x`, `×`, `*`, `\\times`, `\\cdot` and commas; powers `2^2` count as `2 × 2`. The
    product itself (`798` for `2 × 3 × 7 × 19`) is wrong.
    """
    gold_factors = parse_factor_list(gold)
    if gold_factors is None:
        return None, "gold_not_factor_list"
    factors = parse_factor_list(prediction)
    if factors is None:
        return False, "not_a_factor_list"
    return (True, "match") if factors == gold_factors else (False, "mismatch")
