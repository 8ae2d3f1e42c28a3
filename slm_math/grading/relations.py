"""What an answer holding `=`, `<` or `\\le` states: a value, or a relation to compare as such.

An answer states a value only through an assignment to a name that its value does not use
(`x = 3`, `k = \\frac{1}{3}`, `total cost = 50`, `AB = 4, CD = 5` states `4, 5`), through a chain from such a name
whose middle steps are arithmetic (`x = 5 + 5 + 1 = 11`), or through arithmetic written out and
then its result (`2 + 1 = 3`, `798 = 2 × 3 × 7 × 19`). Anything else with a relation is a relation:
an equation in variables (`2x - y + 3z + 8 = 0`, `2x = 6`, `x = 2x - 6`), an inequality
(`x \\ge 5`), a membership (`x \\in [2, 5)`). Those keep their text, so they never read as the
number after their last `=`, and the `latex` rule compares them as relations (math-verify).

Pure Python over bounded strings, one linear scan per split.
"""

from __future__ import annotations

import re

# Relations other than equality: text holding one states a relation, never a value.
_ORDER_RELATION = re.compile(
    r"<|>|≤|≥|≠|!=|\\(?:le|ge|leq|geq|lt|gt|ne|neq|leqslant|geqslant|nless|ngtr|in|notin|subset|subseteq"
    r"|supset|supseteq|equiv|cong|sim|simeq|propto|parallel|perp)(?![A-Za-z])"
)
_EQUALITY = re.compile(r"=|\\approx(?![A-Za-z])|≈")
# A separator, or a bracket that changes the nesting depth (split_top_level's one scan).
_EQUALITY_SCAN = re.compile(rf"[{{}}()\[\]]|{_EQUALITY.pattern}")
_COMMA_SCAN = re.compile(r"[{}()\[\]]|,")
_BRACKETS = {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}
# What an assignment assigns to: `x`, `AB`, `total cost`, `a_1`, `x_{n}`, `\theta`, `f(2)`, `f'(x)`,
# `\angle ABC`; `base` is the name itself, without subscript, primes or arguments.
_NAME = re.compile(
    r"^(?:m?\s*\\angle\s*)?(?P<base>[A-Za-z]+(?: [A-Za-z]+){0,5}|\\[A-Za-z]+)"
    r"(?:_(?:\{[^{}]{1,20}\}|[A-Za-z0-9]))?'*(?:\([^()=]{0,40}\))?$"
)
_COMMAND = re.compile(r"\\[A-Za-z]+")
_LETTER = re.compile(r"[A-Za-z]")


def split_top_level(text: str, scan: re.Pattern) -> list[str]:
    """`text` cut at each separator outside any `{}`, `()` or `[]` (an interval such as `[0, 1)`
    counts as one bracket pair); `scan` matches a bracket or a separator. The parts are stripped."""
    parts: list[str] = []
    depth, start = 0, 0
    for match in scan.finditer(text):
        token = match.group(0)
        if token in _BRACKETS:
            depth = max(0, depth + _BRACKETS[token])
        elif depth == 0:
            parts.append(text[start : match.start()].strip())
            start = match.end()
    parts.append(text[start:].strip())
    return parts


def _variables(text: str) -> set[str]:
    """The letters of `text` outside LaTeX commands (`\\frac`, `\\sqrt` and `\\pi` are not variables)."""
    return set(_LETTER.findall(_COMMAND.sub(" ", text)))


def _uses(name: re.Match, text: str) -> bool:
    """Whether `text` uses the assigned name: a one-letter name as a variable (`2x`, `x^2`, `\\sqrt{x}`;
    not the x of `max` or of `5 xylophones`), a longer name as a whole word or command."""
    base = name.group("base")
    escaped = re.escape(base)
    if base.startswith("\\"):
        return re.search(rf"{escaped}(?![A-Za-z])", text) is not None
    text = _COMMAND.sub(" ", text)
    if len(base) == 1:
        return re.search(rf"(?<![A-Za-z]{{2}}){escaped}(?![A-Za-z]{{2}})", text) is not None
    return re.search(rf"(?<![A-Za-z]){escaped}(?![A-Za-z])", text) is not None


def _assigned_value(item: str) -> str | None:
    """`value` for `name = value` when the value does not use the name, else None."""
    parts = split_top_level(item, _EQUALITY_SCAN)
    if len(parts) != 2:
        return None
    name, value = parts[0], parts[1]
    match = _NAME.match(name)
    if not value or match is None or _uses(match, value):
        return None
    return value


def _chain_value(text: str) -> str | None:
    """The last part of `a = b = ... = value` when `a` is a name or arithmetic and the middle
    steps are arithmetic, else None."""
    parts = split_top_level(text, _EQUALITY_SCAN)
    if len(parts) < 2:
        return None
    first, middle, last = parts[0], parts[1:-1], parts[-1]
    if not last or any(_variables(step) for step in middle):
        return None
    name = _NAME.match(first)
    if name is not None:
        return None if _uses(name, last) else last
    if not _variables(first):  # arithmetic written out, then its result
        return last
    return None


def stated_value(text: str) -> str:
    """The value `text` states, or `text` itself when it holds no assignment (see the module
    docstring): `x = 3` -> `3`; `AB=4, CD=5` -> `4, 5`; `2x - y + 8 = 0` and `x \\ge 5` unchanged."""
    if not _EQUALITY.search(text) or _ORDER_RELATION.search(text):
        return text
    items = split_top_level(text, _COMMA_SCAN)
    if len(items) >= 2:
        values = [_assigned_value(item) for item in items]
        if all(value is not None for value in values):
            return ", ".join(values)
    value = _chain_value(text)
    return text if value is None else value

