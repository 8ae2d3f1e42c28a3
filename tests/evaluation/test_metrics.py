"""Cell metrics from eval rows: pooled and per benchmark, sampling metrics, breakdowns."""

from __future__ import annotations

import pytest

from slm_math.evaluation.metrics import cell_metrics, summarize
from slm_math.evaluation.stats import wilson_interval


def row(pid, correct, *, prediction="1", tokens=10, latency=0.5, **extra):
    return {"problem_id": pid, "correct": correct, "prediction": prediction, "tokens": tokens,
            "latency_s": latency, **extra}


def test_cell_metrics_pools_benchmarks_and_keeps_each():
    rows = {"a": [row("a1", True), row("a2", False, prediction=None, tokens=30)],
            "b": [row("b1", True), row("b2", True), row("b3", False)]}
    m = cell_metrics(rows, wall_s=12.345)
    assert (m["n"], m["correct"], m["accuracy"]) == (5, 3, 0.6)
    assert m["ci95"] == pytest.approx(list(wilson_interval(3, 5)), abs=1e-6)
    assert m["benchmarks"]["a"]["extraction_failure_rate"] == 0.5
    assert m["benchmarks"]["a"]["tokens_mean"] == 20.0
    assert m["benchmarks"]["b"]["accuracy"] == pytest.approx(2 / 3, abs=1e-6)
    assert m["wall_s"] == 12.35
    assert "pass@1" not in m  # one sample per problem: no sampling metrics


def test_level_and_subject_breakdown():
    rows = [row("1", True, level=1, subject="Algebra"), row("2", False, level=5, subject="Algebra"),
            row("3", True, level=5, subject="Geometry")]
    m = summarize(rows)
    assert m["by_level"]["5"]["n"] == 2 and m["by_level"]["5"]["accuracy"] == 0.5
    assert m["by_subject"]["Algebra"]["correct"] == 1
    assert set(m["by_subject"]) == {"Algebra", "Geometry"}


def test_pass_at_k_and_majority_from_samples():
    def samples(*items):
        return [{"answer": a, "correct": c} for a, c in items]
    rows = [
        # 1 of 4 right, the majority ("2") wrong
        row("1", False, samples=samples(("2", False), ("2", False), ("7", True), (None, False))),
        # 2 of 4 right and the majority right
        row("2", True, samples=samples(("5", True), ("5", True), ("4", False), ("3", False))),
    ]
    m = summarize(rows)
    assert m["pass@1"] == pytest.approx((1 / 4 + 2 / 4) / 2)
    assert m["pass@2"] == pytest.approx(((1 - 3 / 6) + (1 - 1 / 6)) / 2, abs=1e-6)
    assert m["pass@4"] == 1.0
    assert m["maj@4"] == 0.5


def test_an_empty_box_is_an_extraction_failure():
    # the model echoed the instruction's empty \boxed{}: no answer was given
    m = summarize([row("1", False, prediction=""), row("2", True, prediction="0"), row("3", False, prediction=None)])
    assert m["extraction_failure_rate"] == pytest.approx(2 / 3, abs=1e-6)


def test_code_executed_and_verdicts_parsed_are_counted_from_the_traces():
    ran = {"role": "tool", "ran": True, "code": "print(1)", "exit_code": 0, "limit": None}
    failed = {**ran, "exit_code": 1}
    none = {"role": "tool", "ran": False, "reason": "no ```python block in the reply"}
    old = {"role": "tool", "code": "print(2)", "exit_code": 0, "limit": None}  # before `ran` existed
    rows = [row("1", True, trace=[ran]), row("2", False, trace=[none]), row("3", False, trace=[failed]),
            row("4", True, trace=[none, old]), row("5", True, trace=[{"role": "assistant"}])]
    m = summarize(rows)
    assert m["code_executed_rate"] == 0.75 and m["code_ok_rate"] == 0.5  # row 5 used no tool
    verify = [{"role": "assistant", "step": "verify", "verdict": v, "verdict_parsed": p}
              for v, p in (("CORRECT", True), ("UNCLEAR", False), ("INCORRECT", True))]
    m = summarize([row("1", True, trace=verify[:2]), row("2", True, trace=verify[2:])])
    assert m["verdicts"] == 3 and m["verdict_parsed_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert "code_executed_rate" not in m
    plain = summarize([row("1", True, trace=[{"role": "assistant"}])])
    assert not {"code_executed_rate", "verdicts", "verdict_parsed_rate"} & set(plain)


def test_the_summary_column_shows_a_collapse():
    from slm_math.report.table import ablation_table, format_use

    none = {"role": "tool", "ran": False}
    rows = [row(str(i), False, trace=[none]) for i in range(4)]
    assert format_use(rows) == "code 0% (clean 0%)"
    verdicts = [row("v", True, trace=[{"verdict_parsed": False}, {"verdict_parsed": True}])]
    assert format_use(verdicts) == "verdicts 50% of 2" and format_use([row("p", True)]) == "–"
    table = ablation_table({"base-standard": {"t": [row(str(i), False) for i in range(4)]},
                            "grpo-python_tools": {"t": rows}}, baseline="base-standard")
    assert table.splitlines()[-1].endswith("| code 0% (clean 0%) |")


def scored_row(pid, items, chosen_correct):
    """A best_of_n row: samples [(answer, correct, score), ...] with the scores in its trace."""
    trace = [{"role": "user"}] + [{"role": "assistant", "sample_index": j, "answer": a, "score": s,
                                   "verdict_parsed": True} for j, (a, _, s) in enumerate(items)]
    return row(pid, chosen_correct, trace=trace, rule="numeric",
               samples=[{"answer": a, "correct": c} for a, c, _ in items])


def test_what_the_verifier_scores_buy_from_the_same_samples():
    rows = [
        # the verifier prefers the lone wrong "9"; the weighted vote still picks "4" (0.5 + 0.4)
        scored_row("1", [("4", True, 0.5), ("9", False, 0.8), ("4", True, 0.4)], False),
        # it ranks the right sample first: best and the weighted vote agree
        scored_row("2", [("1", False, 0.2), ("2", True, 0.9), ("1", False, 0.3)], True),
        # all wrong: no pair to rank, counts for accuracy only
        scored_row("3", [("5", False, 0.6), ("6", False, 0.1), ("7", False, 0.7)], False),
    ]
    m = summarize(rows)
    assert m["best@3"] == pytest.approx(1 / 3, abs=1e-6)
    assert m["weighted_maj@3"] == pytest.approx(2 / 3, abs=1e-6)
    assert m["maj@3"] == pytest.approx(1 / 3, abs=1e-6)  # unweighted: "4" wins row 1, "1" row 2
    # right above wrong: row 1 (0.5, 0.4 vs 0.8) 0 of 2; row 2 (0.9 vs 0.2, 0.3) 2 of 2
    assert m["verifier_auc"] == pytest.approx(2 / 4)
    # right scored >= 0.5: 0.5, 0.9 of 0.5, 0.4, 0.9; wrong < 0.5: 0.2, 0.3, 0.1 of six
    assert m["verifier_balanced_accuracy"] == pytest.approx((2 / 3 + 3 / 6) / 2, abs=1e-6)
    from slm_math.report.table import format_use

    assert format_use(rows) == "verdicts 100% of 9, AUC 0.50"
    plain = summarize([row("p", True, samples=[{"answer": "1", "correct": True}] * 2)])
    assert not {"best@2", "verifier_auc"} & set(plain)  # no scores in the trace: no verifier block
