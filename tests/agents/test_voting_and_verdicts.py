"""Verdict parsing, feedback extraction, and voting by value with its tie rule."""

from __future__ import annotations

import pytest

from slm_math.agents.voting import choose
from slm_math.agents.solver_verifier import feedback_of, read_verdict
from slm_math.agents.voting import answer_key, vote


@pytest.mark.parametrize("text, verdict", [
    ("The steps are right.\nVERDICT: CORRECT", "CORRECT"),
    ("verdict: incorrect", "INCORRECT"),
    ("**VERDICT:** UNCLEAR", "UNCLEAR"),
    ("VERDICT: **CORRECT**", "CORRECT"),
    ("VERDICT: CORRECT\nWait, 3*4 is 12.\nVERDICT: INCORRECT", "INCORRECT"),  # the last one counts
    ("VERDICT：CORRECT", "CORRECT"),          # full-width colon
    ("The answer is correct.", "UNCLEAR"),    # no verdict line: unclear, not a guess
    ("", "UNCLEAR"),
    ("VERDICT: CORRECTED", "UNCLEAR"),        # not a verdict word
    ("VERDICT: INCORRECTLY", "UNCLEAR"),
])
def test_verdict_parsing_table(text, verdict):
    found, rest = read_verdict(text, opened=False)  # the last verdict line; none reads UNCLEAR
    assert (found or "UNCLEAR") == verdict and rest == text


def test_feedback_drops_the_verdict_lines_and_keeps_the_end():
    assert feedback_of("Step 2 is wrong: 3*4=12.\nVERDICT: INCORRECT", 100) == "Step 2 is wrong: 3*4=12."
    assert feedback_of("VERDICT: UNCLEAR", 100) == "The final answer may be wrong."
    long = "x" * 50 + "END"
    assert feedback_of(long, 20) == "..." + long[-17:]


@pytest.mark.parametrize("a, b, rule, same", [
    ("1/2", "0.5", "numeric", True),
    ("\\frac{1}{2}", "0.50", "auto", True),
    ("$18", "18 dollars", "numeric", True),
    ("1,000", "1000", "numeric", True),
    ("2/4", "1/2", "fraction_lowest_terms", False),   # the rule tells them apart
    ("2 \\times 3", "3 x 2", "factor_list", True),
    ("6", "2 x 3", "factor_list", False),
    ("x+1", "x + 1", "latex", False),                 # text: compared as cleaned text only
    ("(1, 2)", "(1, 2)", "latex", True),
])
def test_answer_classes_follow_the_rule(a, b, rule, same):
    assert (answer_key(a, rule) == answer_key(b, rule)) is same


def test_vote_counts_equivalent_answers_together_and_ties_go_first():
    assert vote(["3", "1/2", "0.5"], rule="numeric") == 1      # 1/2 and 0.5: two votes
    assert vote(["3", "5"]) == 0                                # tie: the first (greedy) run
    assert vote(["5", "3", "3", "5"]) == 0                      # 2-2 tie: the class seen first
    assert vote([None, "4", None]) == 1                         # missing answers never vote
    assert vote([None, ""]) is None
    assert vote(["3", "5", "5"], weights=[0.9, 0.3, 0.3]) == 0  # weighted: 0.9 > 0.6
    with pytest.raises(ValueError):
        vote(["3"], weights=[1.0, 2.0])


def test_best_of_n_choice():
    answers, scores = ["3", "5", "5", None], [0.6, 0.4, 0.35, 0.9]
    # the top score has no answer: it cannot be right, so best keeps the best answered sample
    assert choose(answers, scores, aggregation="best") == 0
    assert choose([None, "", "7"], [0.9, 0.8, 0.1], aggregation="best") == 2  # "" is no answer
    assert choose([None, None], [0.1, 0.2], aggregation="best") == 1          # none answered
    assert choose(answers, scores, aggregation="weighted_majority") == 1   # 5: 0.75 > 0.6
    assert choose(["3", "3"], [0.5, 0.5], aggregation="best") == 0         # tie: earlier sample
    assert choose([None, None], [0.1, 0.2], aggregation="weighted_majority") == 1
