"""The verifier's verdict line, its reward, and balanced verification examples."""

from __future__ import annotations

import pytest

from slm_math.grading.verdict import parse_opened_verdict, parse_verdict, split_opened_verdict
from slm_math.prompts import verifier_prompt
from slm_math.training.grpo_data import prompt_tokens
from slm_math.training.verifier_data import (build_verification_rows, verdict_accuracy,
                                             verdict_prompts, verdict_reward, verification_row,
                                             wrong_answer)


def test_parse_verdict_takes_the_last_line():
    assert parse_verdict("checking...\nVERDICT: CORRECT") == "CORRECT"
    assert parse_verdict("VERDICT: CORRECT\nwait, no.\n**Verdict: incorrect**") == "INCORRECT"
    assert parse_verdict("VERDICT: UNCLEAR") == "UNCLEAR"
    assert parse_verdict("The solution is correct.") is None


def test_parse_opened_verdict_reads_the_first_word():
    assert parse_opened_verdict(" CORRECT") == "CORRECT"
    assert parse_opened_verdict(" incorrect. The sum is 12, not 13.\nVERDICT: CORRECT") == "INCORRECT"
    assert parse_opened_verdict(" **UNCLEAR**") == "UNCLEAR"
    assert parse_opened_verdict(" CORRECTLY done") is None
    assert parse_opened_verdict(" The answer is CORRECT") is None
    assert parse_opened_verdict(" " * 10_000 + "CORRECT") is None  # bounded: the start only


def test_the_prompt_choices_copied_are_no_verdict():
    """verify.jinja ends with the choices; a verifier that copies them gives none of them."""
    echo = " CORRECT, VERDICT: INCORRECT, or VERDICT: UNCLEAR."
    assert parse_opened_verdict(echo) is None
    assert split_opened_verdict(echo) == (None, echo)
    assert parse_opened_verdict(" INCORRECT, or VERDICT: UNCLEAR.") is None
    assert parse_opened_verdict(" CORRECT. VERDICT: CORRECT") == "CORRECT"  # the same verdict twice
    assert parse_opened_verdict(" CORRECT\nVERDICT: INCORRECT, or VERDICT: UNCLEAR") == "CORRECT"  # line 1 only
    assert verdict_reward()([echo, " CORRECT"], label=["CORRECT", "CORRECT"]) == [0.0, 1.0]
    # free text: a line of choices is no verdict line; an earlier real one still counts
    assert parse_verdict("VERDICT:" + echo) is None
    assert parse_verdict("The sum is 12.\nVERDICT: INCORRECT\nVERDICT:" + echo) == "INCORRECT"
    assert parse_verdict("VERDICT: CORRECT (VERDICT: CORRECT)") == "CORRECT"


def test_split_opened_verdict_leaves_the_feedback():
    assert split_opened_verdict(" INCORRECT. The sum is 12, not 13.") == ("INCORRECT", "The sum is 12, not 13.")
    assert split_opened_verdict(" **correct**") == ("CORRECT", "")
    assert split_opened_verdict(" The answer is wrong.") == (None, " The answer is wrong.")


def test_verdict_reward_reads_the_verdict_the_completion_begins_with():
    reward = verdict_reward(correct=1.0, incorrect=-1.0, unclear=-0.5, missing=-2.0)
    completions = [" CORRECT", [{"role": "assistant", "content": " CORRECT\nThe steps add up."}],
                   " INCORRECT", " UNCLEAR", " I think so.\nVERDICT: CORRECT"]
    labels = ["CORRECT", "CORRECT", "CORRECT", "CORRECT", "CORRECT"]
    assert reward(completions, label=labels) == [1.0, 1.0, -1.0, -0.5, -2.0]
    assert reward([" CORRECT"], label=["INCORRECT"]) == [-1.0]
    assert verdict_reward()([" CORRECT", " INCORRECT"], label=["CORRECT", "CORRECT"]) == [1.0, 0.0]
    stats = verdict_accuracy([" CORRECT", " x", " INCORRECT"], ["CORRECT", "CORRECT", "CORRECT"])
    assert stats["accuracy"] == round(1 / 3, 4) and stats["verdict_rate"] == round(2 / 3, 4)
    # always CORRECT on 3 CORRECT, 1 INCORRECT: accuracy 0.75 = the majority baseline, balanced 0.5
    stats = verdict_accuracy([" CORRECT"] * 4, ["CORRECT", "CORRECT", "CORRECT", "INCORRECT"])
    assert (stats["accuracy"], stats["balanced_accuracy"], stats["majority_baseline"]) == (0.75, 0.5, 0.75)
    assert stats["labels"] == {"CORRECT": 3, "INCORRECT": 1}


@pytest.fixture(scope="module")
def tokenizer(smol_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smol_tokenizer_dir)


def test_verdict_prompts_are_the_text_best_of_n_scores(tokenizer):
    problem = {"id": "p1", "problem": "What is 2 + 3?", "answer": "5"}
    rows = [verification_row(problem, "2 + 3 = 6. \\boxed{6}", False, "solver"),
            verification_row(problem, "\\boxed{5}", True, "solver")]
    opened = verdict_prompts(rows, tokenizer)
    assert [r["label"] for r in opened] == ["INCORRECT", "CORRECT"]
    assert opened[0]["prompt"] == verifier_prompt(tokenizer, problem["problem"], "2 + 3 = 6. \\boxed{6}")
    assert opened[0]["prompt"].endswith("<|im_start|>assistant\nVERDICT:")
    assert verdict_prompts(opened, tokenizer) == opened  # already text: unchanged
    assert prompt_tokens(tokenizer, opened[1]["prompt"]) == len(tokenizer(opened[1]["prompt"]).input_ids)


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
