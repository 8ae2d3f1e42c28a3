"""Grading: the final answer in model text, and whether it is correct under a benchmark's rule.

Every number the project reports and every GRPO reward goes through `grade`.

Public API
----------
- `extract_answer(response) -> str | None`: the final answer as written.
- `grade(response, gold, *, rule="auto", **options) -> bool`: never raises, bounded in time.
- `judge(...) -> Verdict`: the same, with the rule applied, the answer and the reason.
- `grade_many(responses, golds, *, rule=..., workers=...) -> list[bool]`, `judge_many`.
- `infer_rule(gold)`, `RULES`, `warm_up(workers)`, rewards in `slm_math.grading.rewards`.

Grading policy
--------------
docs/grading.md writes it out for users, with examples that tests/grading/test_docs_examples.py checks.

Extraction (`extract.py`): the last well-formed `\\boxed{}`/`\\fbox{}` (nested braces; `\\boxed 5`);
else the last `#### n`; else the last "The answer is ..."/"Answer: ..." (when a sentence follows,
"Final Answer: The largest $n$ is 34.", the part after its last "is", else its last number); else,
only when the final-number fallback is on, the last number in the text: a whole token (`1,234`,
`3/4`, `\\frac{10}{9}`, `1 \\times 10^3`), never digits inside a word (`AZYUK2A`), an exponent, a
subscript or a LaTeX argument. The response is cut to its last `max_chars` (20,000) characters
first: answers are at the end. An answer longer than `max_answer_chars` (1,000) is wrong.

The gold goes through the same steps: a boxed gold is its last box's content (`\\boxed{10}` is
graded as `10`, under the same rule), and gold and prediction are normalized alike.

Several answers: only one answer is graded. Several boxes: the last box counts, whatever the
earlier ones say. One box holding several values (`3, 5`, `3 \\text{ or } 5`) is a list: wrong for a
single-value gold (a set `{3, 5}` is not `5`), right only where the gold is that list/set.

Ignored decorations: `$`/`\\(\\)` delimiters, `\\left`/`\\right`, `\\dfrac`/`\\tfrac`/`\\cfrac`, text
commands (`\\text`, `\\textbf`, `\\textnormal`, `\\mbox`, ...: their content stays), thousands
separators (`1,234`, `1{,}234`, `1,\\!234`, `11,\\! 111`; but `32, 349` is a list), currency, unit
words and a unit in a text command at the end (`18 dollars`, `\\frac{1}{3} \\text{meters}`), degrees,
parentheses around the whole answer (`(-7)`; not `(1, 2)`), trailing punctuation (not `!`).

Relations (`relations.py`): an answer states a value only as a single assignment to a name its
value does not use (`x = 3`; `AB=4, CD=5` states `4, 5`), a chain from such a name through
arithmetic (`x = 5+5+1 = 11`), or arithmetic then its result (`2+1 = 3`). Equations in variables
(`2x - y + 3z + 8 = 0`, `2x = 6`), inequalities (`x \\ge 5`) and memberships are relations, compared
as such under `latex`; never the number after their last `=`.

Percent: `75\\%` (or `75 percent`), on either side, reads as 75 or as 0.75 (as the Qwen2.5-Math
grader reads it); a bare `75` for the gold 0.75 is wrong.

Rules (each benchmark declares one):
- `numeric`: the answer must be a number literal: integer, decimal, `1.5e3`, or a fraction of
  integers (`3/4`, `\\frac{3}{4}`). Its exact rational value must equal the gold's: exactly for an
  integer gold (`1000002` is not `1000001`), else up to float noise (`26.000000000000004`) or
  within a relative tolerance `rel_tol` (1e-6) that also rounds to the gold's last decimal:
  `0.3333333` for `1/3` and `1/3` for `0.3333333`, but not `16386.17` for `16386.16`. A
  computation is wrong even when it evaluates to the gold (`\\boxed{2602 - -(9777 * -3677)}`,
  `\\sqrt{100}` for 10), and so are an integer-valued fraction (`36/12` for 3) and a relation
  (`x \\le 5`). Fallback on by default.
- `fraction_lowest_terms`: exactly the gold fraction, in lowest terms (`37840/68542` for `440/797`
  is wrong; so are `0.5` for `1/2` and `3/1` for `3`). Fallback on by default.
- `factor_list`: the gold's multiset of factors in any order, separated by `x`, `×`, `*`,
  `\\times`, `\\cdot` or commas; `2^2` counts as `2 × 2`. The product (`798`) is wrong. Fallback off.
- `latex`: mathematical equivalence by math-verify with sympy (intervals, tuples, sets, matrices,
  pi, roots, equations, inequalities, expressions). Plain numbers on both sides, or identical
  strings, are settled without the LaTeX parser. Fallback off by default.
- `auto`: `numeric` for a plain-number gold (or an assignment of one, `k = 1`), `factor_list` for a
  product of integers written with a product sign (`2 × 3 × 7`; a power alone, `2^3`, is a number
  to compute), else `latex`. It never picks `fraction_lowest_terms`.
A gold that does not fit its declared rule is graded with `latex` (logged once).

Bounds: the fast path (everything but math-verify) is pure Python on bounded strings with
linear regexes. math-verify runs in persistent worker processes killed at `time_limit_s` (1.0 s)
(`timeout.py` explains why signals are not enough); waiting for a worker to start is bounded by
`startup_timeout_s` (0.9 s), so a grade takes at most about 1.9 s whatever the input. The one
exception is the first start of a process's first worker (imports, ~0.7 s here): until then a grade
may wait up to `timeout.COLD_START_TIMEOUT_S` rather than grade a right answer wrong; `warm_up()`,
`grade_many` and `rewards.build_rewards` pay it up front. A grade that gets no verdict in time is
wrong, and counted in `timeout.pool().stats`.
"""

from slm_math.grading.extract import extract_answer
from slm_math.grading.grader import (
    DEFAULT_MAX_ANSWER_CHARS,
    DEFAULT_MAX_CHARS,
    DEFAULT_REL_TOL,
    DEFAULT_STARTUP_TIMEOUT_S,
    DEFAULT_TIME_LIMIT_S,
    Verdict,
    grade,
    grade_many,
    judge,
    judge_many,
    warm_up,
)
from slm_math.grading.rules import RULES, infer_rule

__all__ = [
    "DEFAULT_MAX_ANSWER_CHARS",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_REL_TOL",
    "DEFAULT_STARTUP_TIMEOUT_S",
    "DEFAULT_TIME_LIMIT_S",
    "RULES",
    "Verdict",
    "extract_answer",
    "grade",
    "grade_many",
    "infer_rule",
    "judge",
    "judge_many",
    "warm_up",
]
