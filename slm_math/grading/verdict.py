"""The verifier's verdict line: ``VERDICT: CORRECT`` / ``VERDICT: INCORRECT`` / ``VERDICT: UNCLEAR``.

`parse_verdict` reads free text (the solver_verifier agent's verifier): the last
``VERDICT:`` line counts (case and surrounding markup ignored), a line that names several
different verdicts is none; text without one has no verdict (``None``).
`parse_opened_verdict` reads a reply whose ``VERDICT:`` was written into the prompt
(grpo_verifier's completions, as best_of_n's scorer opens the reply): the verdict is the
word the text begins with, unless its first line names another verdict too (the
instruction's list of choices copied is no verdict).
"""

from __future__ import annotations

import re

VERDICTS = ("CORRECT", "INCORRECT", "UNCLEAR")
_OPENED = re.compile(r"\s*\**\s*(CORRECT|INCORRECT|UNCLEAR)\b", re.IGNORECASE)
_AFTER_VERDICT = " \t\n\r\f\v*.:,;!-"  # what may follow the verdict word before the feedback
_VERDICT = re.compile(r"VERDICT\s*[:：]\s*\**\s*(CORRECT|INCORRECT|UNCLEAR)\b", re.IGNORECASE)


def parse_verdict(text: str) -> str | None:
    """``"CORRECT"``, ``"INCORRECT"``, ``"UNCLEAR"`` from the last verdict line, else None.
    A line naming different verdicts (``VERDICT: CORRECT, VERDICT: INCORRECT, or VERDICT:
    UNCLEAR.``, the instruction's choices copied) is no verdict line."""
    lines = (text[-4000:] if isinstance(text, str) else "").splitlines()
    for line in reversed(lines):
        found = _verdicts_in(line)
        if len(found) == 1:
            return found.pop()
    return None


def _verdicts_in(line: str) -> set[str]:
    """The verdicts a line names after ``VERDICT:`` (upper case)."""
    return {v.upper() for v in _VERDICT.findall(line)}


def split_opened_verdict(text: str) -> tuple[str | None, str]:
    """(the verdict a continuation of ``...VERDICT:`` begins with, or None; the text after
    it, its trailing punctuation dropped: the verifier's feedback). ``" INCORRECT. The sum
    is 12."`` gives ``("INCORRECT", "The sum is 12.")``; no verdict word: ``(None, text)``.

    A first line that goes on to another ``VERDICT: <other verdict>`` names no verdict:
    ``" CORRECT, VERDICT: INCORRECT, or VERDICT: UNCLEAR."`` is the prompt's list of
    choices copied, the first of which a weak verifier would otherwise always give (and
    grpo_verifier would reward whenever the label is that one)."""
    found = _OPENED.match(text[:256]) if isinstance(text, str) else None
    if found is None:
        return None, text
    verdict = found.group(1).upper()
    line = text[found.end():].split("\n", 1)[0]
    if _verdicts_in(line) - {verdict}:
        return None, text
    return verdict, text[found.end():].lstrip(_AFTER_VERDICT)


def parse_opened_verdict(text: str) -> str | None:
    """The verdict a continuation of ``...VERDICT:`` begins with (``" CORRECT. The sum..."``
    gives ``"CORRECT"``), else None."""
    return split_opened_verdict(text)[0]
