"""Metrics of one evaluation cell (model × agent) from its eval rows.

Per benchmark and overall (pooled over problems): `n`, `correct`, `accuracy` (pass@1 of the
agent's answer) with its 95% Wilson interval `ci95`, `extraction_failure_rate` (no final
answer found, or an empty `\\boxed{}`), `tokens_mean`, `latency_s_mean`; when the agent drew n > 1 samples,
`pass@k` (unbiased) for k = 1, 2, 4, ... n and `maj@n`; where problems carry `level` or
`subject` (MATH), the same accuracy block per level and per subject; for iterative agents
(rows with `iteration_correct`), `accuracy_by_iteration`: accuracy had every problem stopped
after iteration 1, 2, ... (a problem that stopped earlier keeps its last answer).

Whether an agent's model still speaks the agent's formats, from the eval rows' traces (so a
collapse shows in the numbers, not only in a note): for code agents (rows whose trace holds
`tool` steps) `code_executed_rate`, the share of problems where a reply's code ran in the
sandbox, and `code_ok_rate`, where it also exited cleanly within its limits; for verifying
agents (trace steps with `verdict_parsed`: solver_verifier's verify calls, best_of_n's
scored samples) `verdicts` and `verdict_parsed_rate`, the share that gave a verdict.

What a verifier's scores buy, from the same scored samples (best_of_n rows, whose trace
keeps every sample's `score`; `scored_samples_block`): `best@n` and `weighted_maj@n`, the
accuracy had the agent kept the best-scored sample or the score-weighted majority answer
(beside `pass@1`, a random sample, and `maj@n`, the unweighted vote, of the very same
samples); `verifier_auc`, the chance that a right sample outscores a wrong one of the same
problem (0.5: the scores rank at chance; over problems with both); and
`verifier_balanced_accuracy`, the mean of the right samples scored >= 0.5 and the wrong ones
scored < 0.5 (0.5 for a verifier that calls everything CORRECT).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from slm_math.agents.voting import choose
from slm_math.evaluation.stats import majority_answer, pass_at_k, wilson_interval


def accuracy_block(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`n`, `correct`, `accuracy` and `ci95` of rows (each with a boolean `correct`)."""
    n = len(rows)
    correct = sum(1 for r in rows if r["correct"])
    low, high = wilson_interval(correct, n)
    return {"n": n, "correct": correct, "accuracy": round(correct / n, 6) if n else 0.0,
            "ci95": [round(low, 6), round(high, 6)]}


def _powers_of_two_upto(n: int) -> list[int]:
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    return ks if ks[-1] == n else ks + [n]


def sampling_block(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """pass@k and maj@n over rows that hold `samples` ([{answer, correct}, ...]) of equal n."""
    sampled = [r for r in rows if r.get("samples")]
    if not sampled:
        return {}
    n = min(len(r["samples"]) for r in sampled)
    out: dict[str, float] = {}
    for k in _powers_of_two_upto(n):
        out[f"pass@{k}"] = round(sum(pass_at_k(n, sum(s["correct"] for s in r["samples"][:n]), k)
                                     for r in sampled) / len(sampled), 6)
    majority_correct = 0
    for r in sampled:
        samples = r["samples"][:n]
        winner = majority_answer([s["answer"] for s in samples])
        # the majority answer is right if the samples that gave it were graded right
        majority_correct += any(s["correct"] for s in samples if s["answer"] == winner) if winner is not None else 0
    out[f"maj@{n}"] = round(majority_correct / len(sampled), 6)
    return out


def _scored(row: Mapping[str, Any]) -> tuple[list, list[float], list[bool]] | None:
    """(answers, scores, correct) of a row's scored samples, in sample order, or None."""
    steps = sorted((s for s in row.get("trace") or () if "sample_index" in s and "score" in s),
                   key=lambda s: s["sample_index"])
    samples = row.get("samples") or []
    if not steps or len(steps) != len(samples):
        return None
    return ([s.get("answer") for s in steps], [float(s["score"]) for s in steps],
            [bool(s["correct"]) for s in samples])


def scored_samples_block(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """best@n, weighted_maj@n, verifier_auc, verifier_balanced_accuracy (module docstring)."""
    scored = [(r, got) for r in rows if (got := _scored(r)) is not None]
    if not scored:
        return {}
    n = min(len(answers) for _, (answers, _, _) in scored)
    best = weighted = 0
    right, wrong = [], []
    wins = pairs = 0.0
    for row, (answers, scores, correct) in scored:
        answers, scores, correct = answers[:n], scores[:n], correct[:n]
        rule = row.get("rule", "auto")
        best += correct[choose(answers, scores, aggregation="best", rule=rule)]
        weighted += correct[choose(answers, scores, aggregation="weighted_majority", rule=rule)]
        ups = [s for s, ok in zip(scores, correct) if ok]
        downs = [s for s, ok in zip(scores, correct) if not ok]
        right += ups
        wrong += downs
        wins += sum(1.0 if u > d else 0.5 if u == d else 0.0 for u in ups for d in downs)
        pairs += len(ups) * len(downs)
    out = {f"best@{n}": round(best / len(scored), 6), f"weighted_maj@{n}": round(weighted / len(scored), 6)}
    if pairs:
        out["verifier_auc"] = round(wins / pairs, 6)
    if right and wrong:
        out["verifier_balanced_accuracy"] = round(
            (sum(s >= 0.5 for s in right) / len(right) + sum(s < 0.5 for s in wrong) / len(wrong)) / 2, 6)
    return out


def accuracy_by_iteration(rows: Sequence[Mapping[str, Any]]) -> list[float]:
    """Accuracy after iteration 1..max over rows with `iteration_correct` (carried forward)."""
    tracked = [r["iteration_correct"] for r in rows if r.get("iteration_correct")]
    if not tracked:
        return []
    depth = max(len(t) for t in tracked)
    return [round(sum(t[min(i, len(t) - 1)] for t in tracked) / len(tracked), 6) for i in range(depth)]


def _ran(step: Mapping[str, Any]) -> bool:
    # rows written before `ran` existed: a tool step with code had run
    return bool(step.get("ran", step.get("code") is not None))


def format_use_block(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """code_executed_rate, code_ok_rate, verdicts, verdict_parsed_rate (module docstring);
    only the keys that apply to the rows."""
    out: dict[str, Any] = {}
    tools = [[s for s in r.get("trace") or () if s.get("role") == "tool"] for r in rows]
    coded = [steps for steps in tools if steps]
    if coded:
        out["code_executed_rate"] = round(sum(any(map(_ran, steps)) for steps in coded) / len(coded), 6)
        out["code_ok_rate"] = round(sum(any(_ran(s) and s.get("exit_code") == 0 and s.get("limit") is None
                                            for s in steps) for steps in coded) / len(coded), 6)
    verdicts = [s["verdict_parsed"] for r in rows for s in r.get("trace") or () if "verdict_parsed" in s]
    if verdicts:
        out["verdicts"] = len(verdicts)
        out["verdict_parsed_rate"] = round(sum(map(bool, verdicts)) / len(verdicts), 6)
    return out


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every metric of one set of rows (a benchmark, or all of a cell's rows)."""
    out = accuracy_block(rows)
    out["extraction_failure_rate"] = round(
        sum(1 for r in rows if not r.get("prediction")) / len(rows), 6) if rows else 0.0
    out["tokens_mean"] = _mean(r["tokens"] for r in rows)
    out["latency_s_mean"] = _mean(r["latency_s"] for r in rows)
    out.update(sampling_block(rows))
    out.update(scored_samples_block(rows))
    out.update(format_use_block(rows))
    if by_iteration := accuracy_by_iteration(rows):
        out["accuracy_by_iteration"] = by_iteration
    for key in ("level", "subject"):
        groups: dict[str, list] = defaultdict(list)
        for r in rows:
            if r.get(key) is not None:
                groups[str(r[key])].append(r)
        if groups:
            out[f"by_{key}"] = {name: accuracy_block(g) for name, g in sorted(groups.items())}
    return out


def cell_metrics(rows_by_benchmark: Mapping[str, Sequence[Mapping[str, Any]]], *,
                 wall_s: float | None = None) -> dict[str, Any]:
    """The metrics file of a cell: overall (pooled) at the top, then `benchmarks.<name>`."""
    everything = [r for rows in rows_by_benchmark.values() for r in rows]
    out = summarize(everything)
    out["benchmarks"] = {name: summarize(rows) for name, rows in rows_by_benchmark.items()}
    if wall_s is not None:
        out["wall_s"] = round(wall_s, 2)
    return out
