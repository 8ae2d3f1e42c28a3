"""grpo_verifier data: verification prompts built from solver outputs, and the verdict reward.

A verification example shows a problem and a proposed solution (``verify.jinja``); the
verifier's reply is opened with ``VERDICT:`` in the prompt (``verdict_prompts``: plain-text
prompts, the chat template applied), so a completion begins with its verdict (`` CORRECT``,
`` INCORRECT``, `` UNCLEAR``, then any feedback) and the reward reads that first word. It is
the very text and the very tokens best_of_n's generative verifier scores (P(`` CORRECT``)
after ``VERDICT:``), so a trained verifier plugs in there. The proposed solutions are the start model's own sampled answers to training problems, labelled
by the grader against the gold answer; with ``reference_solutions`` each problem's
reference solution is added as a CORRECT example and the same solution ending in a wrong
answer as an INCORRECT one (the 135M solver is rarely right, so its samples alone are
nearly all INCORRECT). Labels are balanced by dropping the surplus of the larger class.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from slm_math.grading.rewards import completion_text
from slm_math.grading.verdict import parse_opened_verdict
from slm_math.prompts import open_verdict, verify_messages
from slm_math.trace_formats.verdict import wrong_answer


def verification_row(problem: dict, solution: str, correct: bool, origin: str) -> dict:
    """One GRPO row: the prompt and its ground-truth label."""
    return {"prompt": verify_messages(problem["problem"], solution),
            "label": "CORRECT" if correct else "INCORRECT", "problem_id": problem["id"],
            "origin": origin}


def reference_rows(problem: dict) -> list[dict]:
    """The reference solution as CORRECT, and with a wrong boxed answer as INCORRECT."""
    solution = problem.get("solution")
    if not solution:
        return []
    rows = [verification_row(problem, f"{solution}\nThe answer is \\boxed{{{problem['answer']}}}.",
                             True, "reference")]
    wrong = wrong_answer(problem["answer"])
    if wrong is not None:
        rows.append(verification_row(problem, f"{solution}\nThe answer is \\boxed{{{wrong}}}.",
                                     False, "reference_wrong"))
    return rows


def build_verification_rows(problems: Sequence[dict], samples: Sequence[Sequence[str]],
                            verdicts: Sequence[Sequence[bool]], *, reference_solutions: bool,
                            seed: int) -> list[dict]:
    """Balanced verification rows from graded solver samples (and reference solutions)."""
    rows = []
    for problem, texts, labels in zip(problems, samples, verdicts, strict=True):
        rows.extend(verification_row(problem, t, ok, "solver") for t, ok in zip(texts, labels)
                    if t.strip())
        if reference_solutions:
            rows.extend(reference_rows(problem))
    rng = random.Random(seed)
    positives = [r for r in rows if r["label"] == "CORRECT"]
    negatives = [r for r in rows if r["label"] == "INCORRECT"]
    n = min(len(positives), len(negatives)) or max(len(positives), len(negatives))
    rng.shuffle(positives)
    rng.shuffle(negatives)
    kept = positives[:n] + negatives[:n]
    rng.shuffle(kept)
    return kept


def verdict_prompts(rows: Sequence[dict], tokenizer) -> list[dict]:
    """The rows with their chat prompt (the user turn) as the plain text the verifier
    continues: chat template, assistant turn opened, ``VERDICT:`` (``prompts.open_verdict``).

    TRL tokenizes a plain-text prompt with the tokenizer's special tokens: a BOS the chat
    template already wrote is dropped from the text so that it is not doubled.
    """
    out = []
    for row in rows:
        text = row["prompt"]
        if not isinstance(text, str):
            text = open_verdict(tokenizer, text)
            bos = tokenizer.bos_token
            if bos and text.startswith(bos) and tokenizer("").input_ids[:1] == [tokenizer.bos_token_id]:
                text = text[len(bos):]
        out.append({**row, "prompt": text})
    return out


def verdict_reward(correct: float = 1.0, incorrect: float = 0.0, unclear: float = 0.0,
                   missing: float = 0.0, *, label_column: str = "label"):
    """TRL reward: ``correct`` when the verdict the completion begins with (its prompt ends
    in ``VERDICT:``) matches the row's label."""

    def reward(completions: Sequence, **kwargs) -> list[float]:
        labels = kwargs.get(label_column)
        if labels is None:
            raise KeyError(f"verdict reward needs the dataset column {label_column!r}")
        out = []
        for completion, label in zip(completions, labels, strict=True):
            verdict = parse_opened_verdict(completion_text(completion))
            if verdict is None:
                out.append(missing)
            elif verdict == "UNCLEAR":
                out.append(unclear)
            else:
                out.append(correct if verdict == label else incorrect)
        return out

    reward.__name__ = "verdict"
    return reward


def verdict_accuracy(texts: Sequence[str], labels: Sequence[str]) -> dict:
    """Share of completions (of prompts opened with ``VERDICT:``) whose verdict equals the
    label, how many gave a verdict at all, the balanced accuracy (the mean over labels of
    the share of that label's examples judged right) and the majority-class baseline (the
    accuracy of always answering the commoner label)."""
    verdicts = [parse_opened_verdict(t) for t in texts]
    n = len(labels)
    right = sum(v == label for v, label in zip(verdicts, labels))
    given = sum(v is not None for v in verdicts)
    by_label = {label: [v == label for v, y in zip(verdicts, labels) if y == label]
                for label in sorted(set(labels))}
    recall = [sum(hits) / len(hits) for hits in by_label.values()]
    return {"n": n, "correct": right, "accuracy": round(right / n, 4) if n else None,
            "verdict_rate": round(given / n, 4) if n else None,
            "balanced_accuracy": round(sum(recall) / len(recall), 4) if recall else None,
            "majority_baseline": round(max(map(len, by_label.values())) / n, 4) if n else None,
            "labels": {label: len(hits) for label, hits in by_label.items()}}
