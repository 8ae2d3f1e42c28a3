"""Worked reference solutions: the computation split into steps a small model can check.

``data.solution_style: worked`` writes these instead of the one-line ``41 * 37 = 1517``
(``expression``, the default). A product of two numbers is split into place-value parts, a
sum or difference adds the tens and then the ones, an lcm goes through the common factor::

    41 * 37 = 41 * 30 + 41 * 7            gcd(18, 12) = 6
    41 * 30 = 1230                        18 = 6 * 3
    41 * 7 = 287                          12 = 6 * 2
    1230 + 287 = 1517                     6 * 3 * 2 = 18 * 2
    41 * 37 = 1517                        18 * 2 = 36
                                          lcm(18, 12) = 36

Every line is an equation that holds, and the last line is always the problem's own
expression equal to its answer, so the reference trace ends on the same step as the
one-line style and the tool-integrated draft (``trace_formats.tool.solution_code``, the left
side of the last line) still computes the problem itself. Expressions with several
operators are reduced one operation at a time in Python's order (``3 + 4 * 5``: the product,
then the sum). A generator without a worked form keeps its one-line solution.
"""

from __future__ import annotations

import ast
import math
import operator

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _places(n: int) -> list[int]:
    """The nonzero place-value parts of ``n`` (``37`` -> ``[30, 7]``), largest first."""
    digits = str(abs(n))
    return [int(d) * 10 ** (len(digits) - 1 - i) for i, d in enumerate(digits) if d != "0"]


def worked_product(x: int, y: int) -> list[str]:
    """Lines computing ``x * y``: the factor with more place-value parts (``y`` on a tie) is
    split into them, each partial product on its own line, then their running sum. A product
    of at most 100 (the times table), a negative factor, or one-part factors (``40 * 7``) is
    one line."""
    head = f"{x} * {y}"
    split_left = len(_places(x)) > len(_places(y))
    parts = _places(x if split_left else y)
    if x < 0 or y < 0 or x * y <= 100 or len(parts) < 2:
        return [f"{head} = {x * y}"]
    terms = [(p, y) if split_left else (x, p) for p in parts]
    lines = [f"{head} = " + " + ".join(f"{a} * {b}" for a, b in terms)]
    lines += [f"{a} * {b} = {a * b}" for a, b in terms]
    lines += worked_sum([a * b for a, b in terms])
    return lines + [f"{head} = {x * y}"]


def worked_sum(values: list[int]) -> list[str]:
    """Running totals of ``values`` (one line each addition)."""
    lines, total = [], values[0]
    for v in values[1:]:
        text = f"{total} - {-v}" if v < 0 else f"{total} + {v}"
        lines.append(f"{text} = {total + v}")
        total += v
    return lines


def worked_add(x: int, y: int, sign: int) -> list[str]:
    """Lines computing ``x + y`` (sign 1) or ``x - y`` (sign -1): a second number with tens and
    ones is added (taken away) in two steps."""
    symbol = "+" if sign > 0 else "-"
    head = f"{x} {symbol} {y}"
    parts = _places(y) if y >= 0 else []
    if len(parts) < 2:
        return [f"{head} = {x + sign * y}"]
    lines = [f"{head} = {x} {symbol} " + f" {symbol} ".join(map(str, parts))]
    lines += worked_sum([x] + [sign * p for p in parts])
    return lines + [f"{head} = {x + sign * y}"]


def _binary_lines(x: int, op: type, y: int) -> list[str]:
    """The worked lines of one operation ``x op y`` on two integers."""
    if op is ast.Mult:
        return worked_product(x, y)
    return worked_add(x, y, 1 if op is ast.Add else -1)


def _value(node: ast.AST) -> int | None:
    """The integer a node stands for (a literal or a negated literal), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand)
        return None if inner is None else -inner
    return None


def _reduce(node: ast.AST, lines: list[str]) -> ast.AST:
    """``node`` with its first operation on two numbers (Python's evaluation order) done,
    the work appended to ``lines``."""
    if isinstance(node, ast.BinOp):
        if _value(node.left) is None:
            return ast.BinOp(_reduce(node.left, lines), node.op, node.right)
        if _value(node.right) is None:
            return ast.BinOp(node.left, node.op, _reduce(node.right, lines))
        x, y = _value(node.left), _value(node.right)
        lines += _binary_lines(x, type(node.op), y)
        result = _OPS[type(node.op)](x, y)
        return ast.Constant(result) if result >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-result))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return ast.UnaryOp(ast.USub(), _reduce(node.operand, lines))
    raise ValueError(f"cannot work {ast.unparse(node)!r} step by step")


def _supported(tree: ast.AST) -> bool:
    """Whether ``tree`` is integers under ``+ - *``, parentheses and unary minus only."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and type(node.op) not in _OPS:
            return False
        if not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant,
                                 ast.USub, *_OPS)):
            return False
        if isinstance(node, ast.Constant) and not isinstance(node.value, int):
            return False
    return True


def worked_expression(expression: str, answer: str) -> str | None:
    """The worked solution of an arithmetic ``expression`` (``+ - *`` on integers, with
    parentheses), ending ``<expression> = <answer>``; None when it holds anything else or its
    value is not ``answer``."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return None
    if not _supported(tree):
        return None
    node, lines = tree.body, []
    try:
        while _value(node) is None:
            node = _reduce(node, lines)
    except ValueError:  # a shape _supported let through that has no step: keep the one line
        return None
    if str(_value(node)) != answer.strip():
        return None
    final = f"{expression.strip()} = {answer.strip()}"
    if lines and lines[-1] == final:
        return "\n".join(lines)
    return "\n".join(lines + [final])


def worked_lcm(numbers: list[int]) -> str:
    """The lcm of two or more positive integers through their greatest common divisor ``g``:
    ``lcm(a, b) = g * (a / g) * (b / g)``, which is ``a * (b / g)``; a number that divides the
    other needs no product. More numbers fold left to right."""
    lines: list[str] = []
    value = numbers[0]
    for n in numbers[1:]:
        g = math.gcd(value, n)
        lines.append(f"gcd({value}, {n}) = {g}")
        if g == min(value, n):
            big, small = max(value, n), min(value, n)
            if big != small:
                lines.append(f"{big} = {small} * {big // small}")
        elif g == 1:
            lines += worked_product(value, n)
        else:
            lines += [f"{value} = {g} * {value // g}", f"{n} = {g} * {n // g}",
                      f"{g} * {value // g} * {n // g} = {value} * {n // g}"]
            lines += worked_product(value, n // g)
        value = math.lcm(value, n)
    lines.append(f"lcm({', '.join(map(str, numbers))}) = {value}")
    return "\n".join(lines)
