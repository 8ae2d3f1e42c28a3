"""Voting over answers that mean the same value: `answer_key`, `vote`, and best_of_n's `choose`.

Two answers vote together when the grader would read them as the same value under the
problem's rule (`slm_math.grading.normalize`): under `numeric` (and `auto`/`latex` when both
are plain numbers) `1/2`, `0.5`, `\\frac{1}{2}` and `$0.50` are one class; under
`fraction_lowest_terms` the fraction as written (`2/4` is not `1/2`: the rule tells them
apart); under `factor_list` the multiset of factors (`2 x 3` is `3 × 2`); anything else by
its cleaned LaTeX text. A missing answer never votes.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from slm_math.grading.normalize import (clean_latex, clean_plain_answer, parse_factor_list,
                                        parse_fraction_literal, parse_number)

MAX_ANSWER_CHARS = 1000  # the grader's own bound: a longer answer is wrong anyway


def answer_key(answer: str | None, rule: str = "auto") -> Hashable | None:
    """The equivalence class of `answer` under `rule`, or None when there is no answer."""
    if answer is None or not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
        return None
    if rule == "factor_list":
        factors = parse_factor_list(answer)
        return ("factors", tuple(factors)) if factors is not None else ("text", clean_latex(answer))
    plain = clean_plain_answer(answer)
    if rule == "fraction_lowest_terms":
        fraction = parse_fraction_literal(plain)
        return ("fraction", fraction) if fraction is not None else ("text", plain)
    value = parse_number(plain)
    return ("number", value) if value is not None else ("text", clean_latex(answer))


def vote(answers: Sequence[str | None], *, rule: str = "auto",
         weights: Sequence[float] | None = None) -> int | None:
    """Index of the answer that wins the (weighted) vote, or None when no answer votes.

    Each class's score is its count (or the sum of its members' `weights`); the highest
    score wins; a tie goes to the class seen first, and the index returned is that class's
    first member, so with a greedy first run the tie goes to the first run.
    """
    if weights is not None and len(weights) != len(answers):
        raise ValueError(f"{len(weights)} weights for {len(answers)} answers")
    scores: dict[Hashable, float] = {}
    first: dict[Hashable, int] = {}
    for i, answer in enumerate(answers):
        key = answer_key(answer, rule)
        if key is None:
            continue
        scores[key] = scores.get(key, 0.0) + (1.0 if weights is None else float(weights[i]))
        first.setdefault(key, i)
    if not scores:
        return None
    best = max(scores.values())
    return min(first[k] for k, s in scores.items() if s == best)


AGGREGATIONS = ("best", "weighted_majority")


def choose(answers: Sequence[str | None], scores: Sequence[float], *, aggregation: str,
           rule: str = "auto") -> int:
    """The index of the sample best_of_n keeps: `best`, the highest-scored sample among those
    with an answer (all samples when none has one; a tie goes to the earlier sample): a
    sample without an answer is graded wrong whatever its score; `weighted_majority`, the
    best-scored sample of the answer whose class has the largest sum of scores (`best` when
    no answer votes)."""
    def best_of(indices) -> int:
        return max(indices, key=lambda i: (scores[i], -i))

    winner = None if aggregation == "best" else vote(answers, rule=rule, weights=scores)
    if winner is None:
        answered = [i for i, a in enumerate(answers) if answer_key(a, rule) is not None]
        return best_of(answered or range(len(scores)))
    key = answer_key(answers[winner], rule)
    return best_of(i for i, a in enumerate(answers) if answer_key(a, rule) == key)
