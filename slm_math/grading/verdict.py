"""The verifier's verdict line: ``VERDICT: CORRECT`` / ``VERDICT: INCORRECT`` / ``VERDICT: UNCLEAR``.

One shared parser for the grpo_verifier reward and the solver-verifier agent: the last
``VERDICT:`` line of the text counts (case and surrounding markup ignored); text without
one has no verdict (``None``).
"""

from __future__ import annotations

import re

VERDICTS = ("CORRECT", "INCORRECT", "UNCLEAR")
_VERDICT = re.compile(r"VERDICT\s*[:：]\s*\**\s*(CORRECT|INCORRECT|UNCLEAR)\b", re.IGNORECASE)


def parse_verdict(text: str) -> str | None:
    """``"CORRECT"``, ``"INCORRECT"``, ``"UNCLEAR"`` from the last verdict line, else None."""
    found = _VERDICT.findall(text[-4000:] if isinstance(text, str) else "")
    return found[-1].upper() if found else None
