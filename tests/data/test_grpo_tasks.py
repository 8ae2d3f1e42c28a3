"""GRPO-only problems (data.grpo_tasks): train-only, distinct, never a test problem, and
drawn without changing the benchmarks' train and test sets."""

from __future__ import annotations

import copy

from slm_math.config.params import DataParams, GRPOTaskParams, TaskParams
from slm_math.data.contamination import find_contaminated
from slm_math.data.prepare import prepare_benchmarks, prepare_grpo_tasks
from slm_math.data.schema import problem_error

LCM = {"min_value": 2, "max_value": 12}


def small_data(**grpo_tasks: GRPOTaskParams) -> DataParams:
    return DataParams(benchmarks=["lcm", "chain_sum"], train_size=20, test_size=15,
                      tasks={"lcm": TaskParams("lcm", config=LCM),
                             "chain_sum": TaskParams("chain_sum", config={
                                 "min_terms": 2, "max_terms": 2, "max_digits": 1})},
                      grpo_tasks=grpo_tasks)


def test_grpo_tasks_are_train_only_distinct_and_never_a_test_problem():
    # the same tiny space as the lcm benchmark (2..12: 121 ordered pairs, fewer questions),
    # so many draws are test or train problems that must be skipped, and one harder variant
    data = small_data(lcm_again=GRPOTaskParams("lcm", config=LCM, size=200),
                      chain_sum_3terms=GRPOTaskParams("chain_sum", size=40, config={
                          "min_terms": 3, "max_terms": 3, "max_digits": 2}))
    train, test, _ = prepare_benchmarks(data, 5, progress=False)
    sets, metrics = prepare_grpo_tasks(data, 5, train, test)

    taken = {r["problem"] for s in (train, test) for records in s.values() for r in records}
    drawn = [r for records in sets.values() for r in records]
    assert len({r["problem"] for r in drawn}) == len(drawn)              # distinct over tasks
    assert not {r["problem"] for r in drawn} & taken                     # no train or test copy
    all_test = [r["problem"] for records in test.values() for r in records]
    assert find_contaminated([r["problem"] for r in drawn], all_test, data.contamination_ngram) == []
    for name, records in sets.items():
        assert all(problem_error(r) is None and r["split"] == "train" for r in records)
        assert all(r["id"].startswith(f"{name}/train/") and r["source"] == name for r in records)
    lcm = metrics["tasks"]["lcm_again"]
    assert lcm["train_duplicate"] > 0 and 0 < lcm["train"] < 200 and lcm["train_short"] > 0
    assert metrics["tasks"]["chain_sum_3terms"]["train"] == len(sets["chain_sum_3terms"]) > 0
    assert metrics["total"]["train"] == len(drawn)


def test_grpo_tasks_leave_the_benchmarks_and_their_inputs_unchanged():
    plain = prepare_benchmarks(small_data(), 5, progress=False)
    data = small_data(lcm_30=GRPOTaskParams("lcm", config={"min_value": 2, "max_value": 30},
                                            size=50))
    train, test, metrics = prepare_benchmarks(data, 5, progress=False)
    before = copy.deepcopy((train, test))
    prepare_grpo_tasks(data, 5, train, test)
    assert (train, test) == before and (train, test, metrics) == plain
