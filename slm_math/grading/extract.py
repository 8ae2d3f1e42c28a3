"""Finding the final answer in a model's text.

Order of precedence (the first that finds something wins):
1. the last well-formed `\\boxed{...}` / `\\fbox{...}` (nested braces; `\\boxed 5` too);
2. the last GSM8K-style `#### 42` line;
3. the last "The answer is ...", "Final answer: ...", "Answer: ..." phrase, to the end of its
   sentence or line; when what follows is itself a sentence ("Final Answer: The largest $n$ is
   34."), the part after its last "is"/"are"/"equals" (`34`), else (with the fallback on) the
   sentence's last number;
4. (only when `fallback=True`) the last number in the text: a whole number token (`-12`, `1,234.5`,
   `3/4`, `\\frac{10}{9}`, `1 \\times 10^3`, `1.5e3`), never digits inside a word (`AZYUK2A`), an
   exponent (`x^2`), a subscript (`a_7`) or a LaTeX argument (the 9 of `\\frac{10}{9}`).

Boxes win over position: a `####` after a box does not override it. Several boxes: the last one
counts (a model that boxes two candidates is graded on the second). An empty box (`\\boxed{}`,
the prompt's instruction echoed back) is no answer: the rules below it still apply. Every scan
here is linear in the input, which the caller has already cut to its tail.
"""

from __future__ import annotations

import re

_BOX_START = re.compile(r"\\(?:boxed|fbox)\b\s*")
_GSM8K = re.compile(r"####[ \t]*([^\n]*)")
_ANSWER_PHRASE = re.compile(r"(?:final answer|the answer|answer)\s*(?:is|:|=)[\s:]*", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?=\s|$)")
# An answer phrase followed by a sentence: it opens with a letter and has a copula, or two words
# (not LaTeX commands) of three letters or more.
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_COPULA = re.compile(r"\s(?:is|are|was|were|equals|becomes)\s+", re.IGNORECASE)
# A whole number token for the last-number fallback. Thousands separators as written in text and
# LaTeX (`1,234`, `1{,}234`, `1,\!234`); a LaTeX fraction of integers; scientific notation.
_THOUSANDS = r"(?:,|\{,\}|,\\!\s?)"
_INTEGER = rf"(?:\d{{1,3}}(?:{_THOUSANDS}\d{{3}})+|\d+)"
_DECIMAL = rf"(?:{_INTEGER}(?:\.\d+)?|\.\d+)"
_TIMES_TEN = r"(?:[eE][+-]?\d+|\s*(?:\\times|\\cdot|×)\s*10\s*\^\s*(?:\{\s*[+-]?\d+\s*\}|\d))"
_LATEX_FRACTION = r"\\[dtc]?frac\s*(?:\{\s*-?\d+\s*\}|\d)\s*(?:\{\s*\d+\s*\}|\d)"
_LAST_NUMBER = re.compile(
    # not glued to a word, an exponent, a subscript or a LaTeX argument on the left (an unclosed
    # box's own brace opens an answer, not an argument), nor starting inside a separated number
    # (which also keeps the scan linear: no start after a separator rescans the digits after it) ...
    r"(?<![\w^_.\\])(?:(?<!\{)|(?<=\\boxed\{)|(?<=\\fbox\{))(?<!\d,)(?<!\{,\})(?<!,\\!)(?<!,\\!\s)"
    r"(?:(?<![\w)\]}])-)?"
    # ... taken whole (atomic: a number cut short is no number) ...
    rf"(?>{_LATEX_FRACTION}|{_DECIMAL}(?:{_TIMES_TEN}|/{_INTEGER}(?:\.\d+)?)?)"
    # ... nor on the right (degrees `45^\circ` are fine), and never cut out of a longer number
    r"(?![\w_{]|\^(?!\s*\{?\s*\\circ)|[.,/]\d)"
)
# How many box candidates (from the end) to try when the last ones are malformed.
_MAX_BOX_ATTEMPTS = 8


def _braced_content(text: str, open_index: int) -> str | None:
    """Content of the `{...}` group opening at `open_index`, or None when it never closes.

    `\\{` and `\\}` are literal braces in LaTeX and do not count.
    """
    depth = 0
    i = open_index
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_index + 1 : i]
        i += 1
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last well-formed `\\boxed{}`/`\\fbox{}` in `text` (`\\boxed 5` gives `5`)."""
    starts = [m.end() for m in _BOX_START.finditer(text)]
    for start in reversed(starts[-_MAX_BOX_ATTEMPTS:]):
        if start < len(text) and text[start] == "{":
            content = _braced_content(text, start)
        else:
            match = re.match(r"[^\s${}]+", text[start : start + 200])
            content = match.group(0) if match else None
        # an empty box is the prompt's instruction echoed back ("within \\boxed{}"), not an
        # answer: skip it, so an earlier box or a later "The answer is 7" is graded instead
        if content is not None and content.strip():
            return content.strip()
    return None


def _last_answer_phrase(text: str, fallback: bool) -> str | None:
    last = None
    for last in _ANSWER_PHRASE.finditer(text):
        pass
    if last is None:
        return None
    line = text[last.end() :].split("\n", 1)[0]
    end = _SENTENCE_END.search(line)
    answer = (line[: end.start()] if end else line).strip().strip("*").strip()
    if answer[:1].isalpha() and (_COPULA.search(answer) or len(_WORD.findall(answer, 0, 500)) >= 2):
        answer = _answer_in_sentence(answer, fallback)
    return answer or None


def _answer_in_sentence(sentence: str, fallback: bool) -> str:
    """The answer a sentence states: after its last copula ("The largest $n$ is 34" -> `34`),
    else its last number when the fallback is on, else the sentence as written."""
    copula = None
    for copula in _COPULA.finditer(sentence):
        pass
    if copula is not None:
        return sentence[copula.end() :].strip()
    number = last_number(sentence) if fallback else None
    return number if number is not None else sentence


def last_number(text: str) -> str | None:
    """The last whole number token in `text` (with its minus sign, thousands separators,
    `/denominator`; a LaTeX fraction; scientific notation), or None."""
    last = None
    for last in _LAST_NUMBER.finditer(text):
        pass
    return last.group(0) if last else None


def extract_answer(response: str, *, fallback: bool = True, max_chars: int = 20_000) -> str | None:
    """The final answer in model text, as written (not yet normalized), or None.

    `response` is cut to its last `max_chars` characters first (answers sit at the end). See the
    module docstring for the order of precedence; `fallback` enables the last-number fallback.
    Never raises on a string.
    """
    if not isinstance(response, str) or not response:
        return None
    text = response[-max_chars:] if max_chars > 0 else response
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    gsm8k = None
    for gsm8k in _GSM8K.finditer(text):
        pass
    if gsm8k is not None and gsm8k.group(1).strip():
        return gsm8k.group(1).strip()
    phrase = _last_answer_phrase(text, fallback)
    if phrase is not None:
        return phrase
    return last_number(text) if fallback else None
