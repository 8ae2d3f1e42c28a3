"""Verdict traces: a graded solution, and the verifier's reply `VERDICT: CORRECT` or
`VERDICT: INCORRECT`.

The user turn is verify.jinja with the problem and the solution (`prompts.user_turn
("verdict", ...)`), the prompt solver_verifier's verifier, best_of_n's scorer and
grpo_verifier all use; the reply begins with `VERDICT:` as best_of_n and grpo_verifier open
it, so a model trained on these traces gives a verdict where those read one.

Right solutions are verified traces (standard and tool-integrated). Wrong ones are the
failed attempts cotgen kept (a teacher's, or the base model's own samples when it is served
as the `local` teacher), and, to balance the labels, perturbed copies of verified ones: a
standard solution whose final computation and box move to a wrong value (`7 * 8 = 57. ...
\\boxed{57}`), a tool-integrated one whose box the printed output does not support. The
surplus label is dropped, real failures are kept before perturbed copies.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction

from slm_math.grading import extract_answer
from slm_math.prompts import VERDICT_PREFIX
from slm_math.trace_formats.tool import split_after_code

LABELS = ("CORRECT", "INCORRECT")
OFFSETS = (-10, -2, -1, 1, 2, 10)


def verdict_text(label: str) -> str:
    """The verifier's reply for `label`: `VERDICT: CORRECT` or `VERDICT: INCORRECT`."""
    if label not in LABELS:
        raise ValueError(f"verdict label must be one of {LABELS}, got {label!r}")
    return f"{VERDICT_PREFIX} {label}"


def wrong_answer(answer: str, offset: int = 1) -> str | None:
    """A plausible wrong value for a numeric gold: an integer moved by `offset`, a fraction
    doubled; None when the gold is not a number."""
    try:
        value = Fraction(answer.strip().replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return None
    wrong = value + offset if value.denominator == 1 else value * 2
    return str(wrong.numerator) if wrong.denominator == 1 else f"{wrong.numerator}/{wrong.denominator}"


def _replace_last_box(text: str, old: str, new: str) -> str | None:
    marker = f"\\boxed{{{old}}}"
    at = text.rfind(marker)
    if at < 0:
        return None
    return text[:at] + f"\\boxed{{{new}}}" + text[at + len(marker):]


def perturb(text: str, fmt: str, wrong: str) -> str | None:
    """A wrong copy of a right solution (see the module docstring); None when its answer
    cannot be found to change."""
    answer = extract_answer(text)
    if answer is None or answer == wrong:
        return None
    if fmt == "tool":
        split = split_after_code(text)
        if split is None:
            return None
        rest = _replace_last_box(split[1], answer, wrong)
        return None if rest is None else split[0] + rest
    out = _replace_last_box(text, answer, wrong)
    if out is None:
        return None
    # the computation agrees with the wrong box: "7 * 8 = 57", not only a mistyped box
    return re.sub(rf"=\s*{re.escape(answer)}(?!\d|\.\d)", f"= {wrong}", out)


def verdict_record(trace: Mapping, problem: Mapping, label: str, origin: str) -> dict:
    """A verdict trace for `trace` (a cotgen trace record) on `problem`."""
    return {"problem_id": trace["problem_id"], "source": problem.get("source"),
            "rule": problem.get("rule", "auto"), "teacher": trace.get("teacher"),
            "attempt": trace.get("attempt"), "format": "verdict",
            "solution_format": trace.get("format") or "standard", "origin": origin,
            "label": label, "solution": trace["text"], "text": verdict_text(label),
            "correct": True, "problem": problem["problem"], "gold": problem["answer"]}


def build_verdict_traces(verified: Sequence[Mapping], failed: Sequence[Mapping],
                         problems: Mapping[str, Mapping], *, max_traces: int | None,
                         seed: int) -> list[dict]:
    """Balanced verdict traces: `verified` traces as CORRECT, `failed` ones (graded wrong,
    with text) and perturbed copies of verified ones as INCORRECT; at most `max_traces`."""
    rng = random.Random(seed)
    positives = [verdict_record(t, problems[t["problem_id"]], "CORRECT", "verified") for t in verified]
    real = [verdict_record(t, problems[t["problem_id"]], "INCORRECT", "failed_attempt")
            for t in failed if (t.get("text") or "").strip()]
    perturbed = []
    for t in verified:
        problem = problems[t["problem_id"]]
        wrong = wrong_answer(problem["answer"], rng.choice(OFFSETS))
        text = perturb(t["text"], t.get("format") or "standard", wrong) if wrong else None
        if text is not None:
            perturbed.append(verdict_record({**t, "text": text}, problem, "INCORRECT", "perturbed"))
    rng.shuffle(positives)
    rng.shuffle(real)
    rng.shuffle(perturbed)
    negatives = real + perturbed
    n = min(len(positives), len(negatives))
    if max_traces is not None:
        n = min(n, max_traces // 2)
    kept = positives[:n] + negatives[:n]
    rng.shuffle(kept)
    return kept
