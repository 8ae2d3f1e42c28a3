"""Finding the final answer in a model's text.

Order of precedence (the first that finds something wins):
1. the last well-formed `\\boxed{...}` / `\\fbox{...}` (nested braces; `\\boxed 5` too);
2. the last GSM8K-style `#### 42` line;
3. the last "The answer is ...", "Final answer: ...", "Answer: ..." phrase, to the end of its
   sentence or line;
4. (only when `fallback=True`) the last number in the text, `3/4` and `1,234.5` included.

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
_LAST_NUMBER = re.compile(
    r"(?:(?<![\w)\]}])-)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)?"
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


def _last_answer_phrase(text: str) -> str | None:
    last = None
    for last in _ANSWER_PHRASE.finditer(text):
        pass
    if last is None:
        return None
    line = text[last.end() :].split("\n", 1)[0]
    end = _SENTENCE_END.search(line)
    answer = (line[: end.start()] if end else line).strip().strip("*").strip()
    return answer or None


def last_number(text: str) -> str | None:
    """The last number in `text` (with its minus sign, thousands separators, `/denominator`)."""
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
    phrase = _last_answer_phrase(text)
    if phrase is not None:
        return phrase
    return last_number(text) if fallback else None
