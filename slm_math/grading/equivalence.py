"""LaTeX equivalence through math-verify (sympy underneath).

This is the only module that imports math-verify, and only inside the function bodies: it runs in
the grading worker process (see `timeout.py`), never on the fast path. math-verify's own timeouts
are switched off here because they rely on `signal.alarm`, which raises in any thread but the main
one and has whole-second granularity; the worker process is bounded from outside instead.
"""

from __future__ import annotations

import functools
import logging

logging.getLogger("math_verify").setLevel(logging.ERROR)  # "timeout disabled" and parse warnings


@functools.lru_cache(maxsize=4096)
def _parse_cached(latex: str):
    # Golds repeat (a GRPO group shares one); sympy objects are immutable, so caching is safe.
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    return parse(
        f"${latex}$",
        extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()],
        parsing_timeout=None,
    )


def latex_equivalent(prediction: str, gold: str) -> bool:
    """Whether `prediction` equals `gold` as mathematics (math-verify `verify`).

    Both are bare answers (box contents, no `$`). Covers numbers, fractions, roots, pi,
    intervals, tuples, sets, matrices, equations (`x = 3` for `3`) and symbolic expressions.
    Unbounded in time: call it through `timeout.run_bounded`.
    """
    from math_verify import verify

    gold_parsed = _parse_cached(gold)
    pred_parsed = _parse_cached(prediction)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))


_WARM_PAIRS = [
    ("\\frac{1}{2}", "0.5"),
    ("(-\\infty, 3]", "(-\\infty,3]"),
    ("\\{1, 2\\}", "\\{2,1\\}"),
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
    ("x = 3", "3"),
    ("3\\sqrt{2}", "\\sqrt{18}"),
    ("\\frac{\\pi}{2}", "\\pi/2"),
    ("x^2+2x+1", "(x+1)^2"),
    ("(1, 2)", "(1,2)"),
]


def warm() -> None:
    """Import math-verify and sympy and run one comparison of each common kind (worker start):
    sympy imports and builds much lazily, and a first-use cost must not eat a grade's time limit."""
    for prediction, gold in _WARM_PAIRS:
        latex_equivalent(prediction, gold)
    _parse_cached.cache_clear()
