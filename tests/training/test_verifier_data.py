"""The verifier's verdict line, its reward, and balanced verification examples."""

from __future__ import annotations

from slm_math.grading.verdict import parse_verdict
from slm_math.training.verifier_data import (build_verification_rows, verdict_accuracy,
                                             verdict_reward, wrong_answer)


def test_parse_verdict_takes_the_last_line():
    assert parse_verdict("checking...\nVERDICT: CORRECT") == "CORRECT"
    assert parse_verdict("VERDICT: CORRECT\nwait, no.\n**Verdict: incorrect**") == "INCORRECT"
    assert parse_verdict("VERDICT: UNCLEAR") == "UNCLEAR"
    assert parse_verdict("The solution is correct.") is None


def test_verdict_reward_scores_agreement_with_the_label():
    reward = verdict_reward(correct=1.0, incorrect=-1.0, unclear=-0.5, missing=-2.0)
    completions = [[{"role": "assistant", "content": "VERDICT: CORRECT"}],
                   "VERDICT: CORRECT", "VERDICT: UNCLEAR", "no verdict"]
    labels = ["CORRECT", "INCORRECT", "CORRECT", "CORRECT"]
    assert reward(completions, label=labels) == [1.0, -1.0, -0.5, -2.0]
    assert verdict_accuracy(["VERDICT: CORRECT", "x"], ["CORRECT", "CORRECT"])["accuracy"] == 0.5


def test_rows_are_balanced_and_reference_answers_are_perturbed():
    problems = [{"id": f"p{i}", "problem": f"{i} * 3?", "answer": str(3 * i),
                 "solution": f"{i} * 3 = {3 * i}"} for i in range(1, 5)]
    samples = [["\\boxed{1}", "\\boxed{2}"] for _ in problems]
    verdicts = [[False, False] for _ in problems]
    rows = build_verification_rows(problems, samples, verdicts, reference_solutions=True, seed=0)
    labels = [r["label"] for r in rows]
    assert labels.count("CORRECT") == labels.count("INCORRECT") == 4
    assert "VERDICT: CORRECT" in rows[0]["prompt"][0]["content"]
    assert wrong_answer("12") == "13" and wrong_answer("3/4") == "3/2" and wrong_answer("x+1") is None
