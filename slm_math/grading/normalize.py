"""Normalization of answer strings and parsers for plain answers (numbers, fractions, factor lists).

Everything here is pure Python over bounded strings (the caller caps their length), with regular
expressions that run in linear time, so this module needs no time limit of its own and never
touches a LaTeX parser: it is the fast path for GSM8K-style grading.
"""

from __future__ import annotations

import re
from fractions import Fraction

from slm_math.grading.relations import stated_value

# Decimal exponents beyond this are refused: Fraction("1e999999999") would build a huge integer.
MAX_EXPONENT = 400
# Digits beyond this are refused (Python refuses int(str) above 4300 digits anyway).
MAX_DIGITS = 400

_TEXT_NAMES = (
    r"text|textbf|textit|textrm|textnormal|textup|textsf|texttt|mathrm|mathbf|mathit|mathsf|mathnormal|mbox|hbox"
)
_TEXT_COMMANDS = re.compile(rf"\\(?:{_TEXT_NAMES}|operatorname)\s*\{{([^{{}}]*)\}}")
# `\\` (a matrix row break) is matched first so its second backslash never reads as `\ `.
_LATEX_SPACES = re.compile(r"\\\\|\\[,;: ]|\\quad|\\qquad|~")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|\\degree|°|\bdegrees?\b")
_PERCENT = re.compile(r"\\?%|\bpercent\b")
_CURRENCY = re.compile(r"\\\$|\$|€|£|¥|₹|\bUSD\b|\bRs\.?")
_TRAILING_PUNCT = re.compile(r"[\s.,;:?]+$")  # not "!": 5! is a factorial
_WRAPPERS = [("\\(", "\\)"), ("\\[", "\\]"), ("**", "**")]

_SIGN = r"[+-]?"
_UNSIGNED = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+"
_NUMBER_RE = re.compile(
    rf"^(?P<sign>{_SIGN})\s*(?P<mant>{_UNSIGNED})"
    r"(?:[eE](?P<exp>[+-]?\d+)|\s*(?:\\times|\\cdot|×|\*)\s*10\s*\^\s*\{?\s*(?P<exp10>[+-]?\d+)\s*\}?)?$"
)
_REPEATING_RE = re.compile(r"^(?P<sign>[+-]?)\s*(?P<int>\d*)\.(?P<fixed>\d*)\\overline\s*\{\s*(?P<rep>\d+)\s*\}$")
_SLASH_FRACTION_RE = re.compile(r"^(?P<sign>[+-]?)\s*(?P<num>\d+)\s*/\s*(?P<den>\d+)$")
_LATEX_FRACTION_RE = re.compile(
    r"^(?P<sign>[+-]?)\s*\\frac\s*(?:\{\s*(?P<nsign>[+-]?)\s*(?P<num>\d+)\s*\}|(?P<num1>\d))"
    r"\s*(?:\{\s*(?P<den>\d+)\s*\}|(?P<den1>\d))$"
)
# A unit after a number: words of letters (optionally squared/cubed, joined by "/" or "per").
_UNIT_WORD = r"[A-Za-z]+\.?(?:\s*\^\s*\{?[23]\}?|[²³])?"
_TRAILING_UNIT_RE = re.compile(rf"^(?P<head>.*?\d\.?)\s*(?P<unit>{_UNIT_WORD}(?:(?:\s*/\s*|\s+){_UNIT_WORD})*)$")
# Words that follow a number but are not units: keeping "5 x 3" or "5 or 6" from reading as 5.
_NOT_UNITS = {"x", "X", "e", "i", "or", "and", "plus", "minus", "times", "over", "divided", "mod", "to", "pi", "sqrt"}
# A unit in a text command at the end, whatever comes before it (`\frac{1}{3} \text{ m}^2`).
_TRAILING_TEXT_UNIT_RE = re.compile(
    rf"(?<=\S)\s*\\(?:{_TEXT_NAMES})\s*\{{\s*(?P<unit>{_UNIT_WORD}(?:(?:\s*/\s*|\s+){_UNIT_WORD})*)\s*\}}"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
# `11,\!111` and `11,\! 111`: a comma and a negative thin space separate thousands.
_THIN_THOUSANDS = re.compile(r"(?<=\d),\\!\s*(?=\d{3}(?!\d))")
_FACTOR_SEPARATORS = re.compile(r"\s*(?:\\times|\\cdot|×|·|\*|(?<=[\d}\s])[xX](?=[\s\d]))\s*")
_FACTOR_RE = re.compile(r"^(?P<base>\d+)(?:\s*\^\s*\{?\s*(?P<exp>\d+)\s*\}?)?$")


def strip_math_delimiters(text: str) -> str:
    """Remove `$...$`, `\\(...\\)`, `\\[...\\]` and markdown `**...**` around an answer."""
    text = text.strip()
    changed = True
    while changed and text:
        changed = False
        if len(text) >= 2 and text[0] == "$" and text[-1] == "$":
            text, changed = text.strip("$").strip(), True
        for left, right in _WRAPPERS:
            if text.startswith(left) and text.endswith(right) and len(text) >= len(left) + len(right):
                text, changed = text[len(left) : len(text) - len(right)].strip(), True
    return text


def clean_latex(text: str) -> str:
    """Undo LaTeX decorations that never change an answer's meaning.

    `\\dfrac`/`\\tfrac`/`\\cfrac` become `\\frac`; `\\left`/`\\right` go; `\\text{...}` and friends
    (`\\textbf`, `\\textnormal`, `\\mbox`, `\\mathrm`, ...) keep their content; LaTeX spaces become plain
    spaces; thousands separators `{,}`, `,\\!` and `\\,` become commas or go; the unicode minus becomes
    `-`; math delimiters and trailing punctuation go.
    """
    text = strip_math_delimiters(text)
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    text = text.replace("\\left", "").replace("\\right", "").replace("\\displaystyle", "")
    text = text.replace("{,}", ",").replace("−", "-").replace("\u2009", "").replace("\u202f", "")
    text = re.sub(r"(?<=\d)\\,(?=\d{3}\b)", "", text)  # 1\,000 is one thousand
    text = _THIN_THOUSANDS.sub(",", text)  # 11,\! 111 is 11,111, where "11, 111" is a list
    text = text.replace("\\!", "")  # a negative thin space: 1,\!000
    text = _LATEX_SPACES.sub(lambda m: m.group(0) if m.group(0) == "\\\\" else " ", text)
    for _ in range(3):  # nested \text{\textbf{..}} unwraps in a few rounds
        text = _TEXT_COMMANDS.sub(r"\1", text)
    text = strip_math_delimiters(text)
    return _TRAILING_PUNCT.sub("", text).strip()


def clean_plain_answer(text: str) -> str:
    """Reduce an answer to its bare value: a trailing unit in a text command, `clean_latex`, the
    value an assignment states (`x = 3`; see `relations.stated_value`: an equation or inequality
    stays whole), currency, percent, degrees, a trailing unit word and parentheses around the
    whole answer go (`$18`, `18 dollars`, `\\frac{1}{3} \\text{ m}`, `45^\\circ`, `25\\%`, `(-7)`)."""
    text = strip_math_delimiters(text)
    match = _TRAILING_TEXT_UNIT_RE.search(text) if len(text) <= 1000 else None
    if match and not (set(match.group("unit").replace("/", " ").split()) & _NOT_UNITS):
        text = text[: match.start()]
    text = stated_value(clean_latex(text))
    text = _CURRENCY.sub("", text)
    text = _PERCENT.sub("", text)
    text = _DEGREES.sub("", text)
    text = text.strip()
    match = _TRAILING_UNIT_RE.match(text) if len(text) <= 200 else None
    if match and not (set(match.group("unit").replace("/", " ").split()) & _NOT_UNITS):
        text = match.group("head")
    return _TRAILING_PUNCT.sub("", strip_outer_parentheses(text)).strip()


def strip_outer_parentheses(text: str) -> str:
    """`(x)` -> `x` when one pair of parentheses wraps the whole text and holds no top-level
    comma (`(1, 2)` is a pair, `(1)+(2)` is not wrapped); a few levels at most."""
    for _ in range(3):
        text = text.strip()
        if len(text) < 2 or text[0] != "(" or text[-1] != ")":
            return text
        depth = 0
        for i, char in enumerate(text):
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0 and i != len(text) - 1:
                    return text  # the first pair closes early
            elif char == "," and depth == 1:
                return text  # a pair or tuple, not a wrapped number
        text = text[1:-1]
    return text.strip()


def has_percent(text: str) -> bool:
    """True when the answer carries a percent sign or the word percent (`25\\%`, `25 percent`)."""
    return bool(_PERCENT.search(text))


def _bounded_decimal(sign: str, mantissa: str, exponent: str | None) -> Fraction | None:
    mantissa = mantissa.replace(",", "")
    if len(mantissa) > MAX_DIGITS:
        return None
    value = Fraction(mantissa.rstrip(".") or "0")
    if exponent is not None:
        exp = int(exponent)
        if abs(exp) > MAX_EXPONENT:
            return None
        value *= Fraction(10) ** exp
    return -value if sign == "-" else value


def parse_number(text: str) -> Fraction | None:
    """The exact value of a plain number literal, or None when `text` is not one.

    Accepted: integers (`1,234` thousands separators included), decimals, repeating decimals
    (`0.\\overline{3}`), scientific notation
    (`1.5e3`, `1.5 \\times 10^{3}`), and fractions of integers (`3/4`, `\\frac{3}{4}`,
    `-\\frac{3}{4}`, `\\frac34`). Not accepted: anything with an operator left to evaluate
    (`2+3`, `2 \\times 3`, `\\sqrt{4}`). The caller cleans decorations first (see
    `clean_plain_answer`).
    """
    text = text.strip()
    if not text or len(text) > 2 * MAX_DIGITS:
        return None
    fraction = parse_fraction_literal(text)
    if fraction is not None:
        num, den = fraction
        return Fraction(num, den) if den else None
    match = _REPEATING_RE.match(text)
    if match and len(text) <= 100:
        fixed, rep = match.group("fixed"), match.group("rep")
        value = Fraction(int(match.group("int") or "0")) + Fraction(int(fixed or "0"), 10 ** len(fixed))
        value += Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
        return -value if match.group("sign") == "-" else value
    match = _NUMBER_RE.match(text)
    if not match:
        return None
    exponent = match.group("exp") if match.group("exp") is not None else match.group("exp10")
    return _bounded_decimal(match.group("sign"), match.group("mant"), exponent)


def parse_fraction_literal(text: str) -> tuple[int, int] | None:
    """`(numerator, denominator)` as written, for `a/b`, `\\frac{a}{b}` and signed forms.

    The sign goes on the numerator. Returns None for anything else, including decimals and
    `\\frac{3}{-4}`, so callers can tell `6/8` from `3/4` (lowest-terms rule).
    """
    text = text.strip()
    if len(text) > 2 * MAX_DIGITS:
        return None
    match = _SLASH_FRACTION_RE.match(text)
    if match:
        sign, num, den = match.group("sign"), match.group("num"), match.group("den")
    else:
        match = _LATEX_FRACTION_RE.match(text)
        if not match:
            return None
        num = match.group("num") or match.group("num1")
        den = match.group("den") or match.group("den1")
        signs = (match.group("sign") + (match.group("nsign") or "")).replace("+", "")
        sign = "-" if len(signs) % 2 else ""
    if len(num) > MAX_DIGITS or len(den) > MAX_DIGITS:
        return None
    value = int(num)
    return (-value if sign == "-" else value), int(den)


def parse_factor_list(text: str) -> list[int] | None:
    """The sorted list of factors in `2 x 3 x 7 x 19`, `2 × 3`, `2*3`, `2 \\times 3`, `2^2 \\cdot 3`.

    A power `p^k` stands for k copies of p (capped at 64). A single integer is a list of one.
    Returns None when any part is not a positive integer (so `798` is `[798]`, never
    `[2, 3, 7, 19]`).
    """
    text = stated_value(clean_latex(text))  # "798 = 2 x 3 x 7 x 19"
    text = text.replace("\\{", "").replace("\\}", "").strip()
    if not text or len(text) > 4 * MAX_DIGITS:
        return None
    parts = [p for p in _FACTOR_SEPARATORS.split(text)]
    if len(parts) == 1 and "," in text:
        parts = text.split(",")
    factors: list[int] = []
    for part in parts:
        match = _FACTOR_RE.match(part.strip())
        if not match or len(match.group("base")) > MAX_DIGITS:
            return None
        exp = int(match.group("exp") or 1)
        if not 1 <= exp <= 64:
            return None
        factors.extend([int(match.group("base"))] * exp)
    return sorted(factors)


def is_factor_product(text: str) -> bool:
    """True when `text` is a product of at least two integers written out with a product sign
    (`2 × 3 × 7`, `2^2 \\times 3`); a comma list (`2, 3, 7`) is a list of solutions, and a power
    alone (`2^3`) a number to compute, not a factorization."""
    cleaned = clean_latex(text)
    if "," in cleaned or len(_FACTOR_SEPARATORS.split(cleaned)) < 2:
        return False
    if parse_number(clean_plain_answer(cleaned)) is not None:
        return False  # 2 \times 10^{3} is scientific notation, not a factorization
    factors = parse_factor_list(cleaned)
    return factors is not None and len(factors) >= 2 and "=" not in cleaned
