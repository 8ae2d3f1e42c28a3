"""Recompute generated answers exactly and drop what a generator got wrong.

reasoning-gym's generators have known traps: basic_arithmetic uses floor division (about 1%
of its reference answers are not the true value), gsm_symbolic prints floats such as
26.000000000000004. Each check returns the corrected answer string, or None when the item
must be dropped; generators without a check pass through unchanged and are counted.
"""

from __future__ import annotations

import ast
import math
import operator
from fractions import Fraction
from typing import Callable

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv}


def exact_value(expression: str) -> Fraction:
    """The exact rational value of an arithmetic expression (+ - * / parentheses)."""
    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported expression element {ast.dump(node)[:40]}")

    text = expression.replace("×", "*").replace("÷", "/").replace("−", "-")
    return walk(ast.parse(text, mode="eval"))


def format_number(value: Fraction) -> str:
    """An exact value as the answer string: an integer, or a lowest-terms fraction."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _parse_number(text: str) -> Fraction | None:
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        return None


def check_expression(item: dict) -> str | None:
    """products, chain_sum, basic_arithmetic: the answer must equal the expression's value."""
    expression = item["metadata"].get("expression")
    claimed = _parse_number(str(item["answer"]))
    if expression is None or claimed is None:
        return None
    try:
        value = exact_value(expression)
    except (ValueError, SyntaxError, ZeroDivisionError):
        return None
    return format_number(value) if value == claimed else None


def check_lcm_gcd(func: Callable[..., int]) -> Callable[[dict], str | None]:
    """lcm / gcd: recompute from the numbers in the metadata."""
    def check(item: dict) -> str | None:
        numbers = item["metadata"].get("numbers")
        claimed = _parse_number(str(item["answer"]))
        if not numbers or claimed is None:
            return None
        value = func(*[int(n) for n in numbers])
        return str(value) if value == claimed else None
    return check


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % p for p in range(2, math.isqrt(n) + 1))


def check_prime_factorization(item: dict) -> str | None:
    """The factors must be prime, ascending, and multiply to the number."""
    number = int(item["metadata"]["number"])
    try:
        factors = [int(f) for f in str(item["answer"]).replace("×", " ").split()]
    except ValueError:
        return None
    if math.prod(factors) != number or factors != sorted(factors) \
            or not all(_is_prime(f) for f in factors):
        return None
    return " × ".join(str(f) for f in factors)


def check_fraction(item: dict) -> str | None:
    """fraction_simplification: the answer is the lowest-terms form of num/den.

    The generator styles some answers as LaTeX (``$\\frac{23}{131}$``); the recorded answer
    is always the plain ``23/131`` built from the metadata once it checks out.
    """
    meta = item["metadata"]
    value = Fraction(int(meta["numerator"]), int(meta["denominator"]))
    claimed = (int(meta["simplified_numerator"]), int(meta["simplified_denominator"]))
    if claimed != (value.numerator, value.denominator):
        return None
    return f"{value.numerator}/{value.denominator}"


def check_float_answer(item: dict) -> str | None:
    """gsm_symbolic: an integer printed as a float with rounding noise becomes that integer."""
    claimed = str(item["answer"]).strip()
    try:
        value = float(claimed)
    except ValueError:
        return None
    if math.isfinite(value) and abs(value - round(value)) < 1e-6:
        return str(int(round(value)))
    return claimed


CHECKS: dict[str, Callable[[dict], str | None]] = {
    "products": check_expression,
    "chain_sum": check_expression,
    "basic_arithmetic": check_expression,
    "lcm": check_lcm_gcd(math.lcm),
    "gcd": check_lcm_gcd(math.gcd),
    "prime_factorization": check_prime_factorization,
    "fraction_simplification": check_fraction,
    "gsm_symbolic": check_float_answer,
}
