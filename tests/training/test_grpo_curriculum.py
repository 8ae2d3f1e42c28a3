"""The curriculum keeps problems with a signal: zero-variance ones (pass rate 0 or 1) go."""

from __future__ import annotations

import pytest

from slm_math.config.params import CurriculumParams
from slm_math.training.grpo_data import drop_long_prompts, prompt_row, select_problems
from slm_math.training.grpo_sampling import measure_pass_rates
from slm_math.training.model_loading import load_causal_lm, load_tokenizer


def _problems(n=6):
    return [{"id": f"p{i}", "source": "t", "split": "train", "problem": f"{i} + {i}?",
             "answer": str(2 * i), "rule": "numeric", "level": 1 + i % 5} for i in range(n)]


RATES = {"p0": 0.0, "p1": 1.0, "p2": 0.25, "p3": 0.75, "p4": 0.5, "p5": 0.0}


def fake_measure(pool):
    return [{"problem_id": p["id"], "k": 4, "correct": int(RATES[p["id"]] * 4),
             "pass_rate": RATES[p["id"]]} for p in pool]


def test_pass_rate_mode_drops_zero_variance_problems():
    sel = select_problems(_problems(), CurriculumParams(mode="pass_rate", candidates=None), 0,
                          measure=fake_measure)
    assert {p["id"] for p in sel.problems} == {"p2", "p3", "p4"}
    assert sel.counts["never_solved"] == 2 and sel.counts["always_solved"] == 1
    assert len(sel.pass_rates) == 6  # every measurement is kept for inspection


def test_easy_to_hard_order_window_and_cap():
    cfg = CurriculumParams(mode="pass_rate", candidates=None, order="easy_to_hard",
                           min_pass_rate=0.2, max_pass_rate=0.9, max_problems=2)
    sel = select_problems(_problems(), cfg, 0, measure=fake_measure)
    assert [p["id"] for p in sel.problems] == ["p3", "p4"]  # 0.75, 0.5 (0.25 cut by the cap)


def test_level_mode_keeps_listed_levels():
    sel = select_problems(_problems(), CurriculumParams(mode="level", levels=[4, 5]), 0)
    assert sorted(p["level"] for p in sel.problems) == [4, 5]


def test_measured_pass_rates_of_a_model_that_never_solves(tiny_model_dir):
    model, tokenizer = load_causal_lm(tiny_model_dir, "fp32"), load_tokenizer(tiny_model_dir)
    problems = _problems(3)
    rates = measure_pass_rates(model, tokenizer, problems, k=2, temperature=1.0,
                               max_new_tokens=4, seed=0)
    assert [r["k"] for r in rates] == [2, 2, 2] and all(r["pass_rate"] == 0.0 for r in rates)
    sel = select_problems(problems, CurriculumParams(mode="pass_rate", k=2, candidates=None), 0,
                          measure=lambda pool: measure_pass_rates(
                              model, tokenizer, pool, k=2, temperature=1.0, max_new_tokens=4,
                              seed=0))
    assert sel.problems == [] and sel.counts["never_solved"] == 3


def test_long_prompts_are_dropped_not_cut(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    rows = [prompt_row(p) for p in _problems(2)]
    rows[1]["prompt"][0]["content"] += " word" * 300
    kept, dropped = drop_long_prompts(rows, tokenizer, 100)
    assert dropped == 1 and kept == rows[:1]


def test_bad_curriculum_window_is_a_params_error():
    from slm_math.config import ParamsError, load_params

    with pytest.raises(ParamsError, match="min_pass_rate must be below max_pass_rate"):
        load_params(overrides={"grpo": {"curriculum": {"min_pass_rate": 0.5,
                                                       "max_pass_rate": 0.5}}})


def test_format_rate_is_counted_on_the_curriculum_samples(tiny_model_dir):
    from slm_math.grading.rewards import format_reward

    model, tokenizer = load_causal_lm(tiny_model_dir, "fp32"), load_tokenizer(tiny_model_dir)
    check = format_reward(require_think=False)
    rates = measure_pass_rates(model, tokenizer, _problems(2), k=2, temperature=1.0,
                               max_new_tokens=4, seed=0,
                               format_check=lambda texts: [s > 0 for s in check(texts)])
    assert [r["formatted"] for r in rates] == [0, 0]  # a random model never boxes


@pytest.mark.parametrize("measured,weight,decision", [
    ({"samples": 100, "formatted": 95}, 0.0, "off: start format rate 0.95 >= 0.9"),
    ({"samples": 100, "formatted": 60}, 1.0, "kept: start format rate 0.6 < 0.9"),
    (None, 1.0, "kept: not measured (no pass-rate curriculum samples)"),
])
def test_format_reward_rule(measured, weight, decision):
    from slm_math.config.params import GRPOParams
    from slm_math.training.grpo_stage import format_rule

    rule = format_rule(GRPOParams(), measured)
    assert rule["weight"] == weight and rule["decision"] == decision
    assert format_rule(GRPOParams(format_reward_off_at=None), {"samples": 10, "formatted": 10})["weight"] == 1.0
    assert format_rule(GRPOParams(rewards={"correctness": GRPOParams().rewards["correctness"]}),
                       measured) == {"decision": "absent"}


def test_two_held_out_checks_share_one_generation_call(tiny_model_dir, monkeypatch):
    from slm_math.training import grpo_sampling

    model, tokenizer = load_causal_lm(tiny_model_dir, "fp32"), load_tokenizer(tiny_model_dir)
    calls, real = [], grpo_sampling.sample
    monkeypatch.setattr(grpo_sampling, "sample",
                        lambda *a, **k: calls.append(len(a[2])) or real(*a, **k))
    held, guard = _problems(3), _problems(5)[3:]
    a, empty, b = grpo_sampling.held_out_accuracies(model, tokenizer, [held, [], guard],
                                                    max_new_tokens=4, seed=0)
    assert calls == [5]
    assert (a["n"], b["n"], empty["accuracy"]) == (3, 2, None)
    assert a["seconds"] == b["seconds"] and a["correct"] == b["correct"] == 0


def test_shared_checks_grade_each_set_on_its_own_problems(monkeypatch):
    from slm_math.training import grpo_sampling

    def boxed_even(model, tokenizer, prompts, **kwargs):  # right on p0, p2, p4: a known answer key
        return [[f"\\boxed{{{2 * i if i % 2 == 0 else -1}}}"] for i in order]

    order = [0, 1, 2, 3, 4]
    monkeypatch.setattr(grpo_sampling, "sample", boxed_even)
    problems = _problems(5)
    a, b = grpo_sampling.held_out_accuracies(None, None, [problems[:2], problems[2:]],
                                             max_new_tokens=4, seed=0)
    assert a["correct_ids"] == ["p0"] and a["accuracy"] == 0.5
    assert b["correct_ids"] == ["p2", "p4"] and b["accuracy"] == round(2 / 3, 4)
    assert b["boxed_rate"] == 1.0


def test_solver_checks_share_a_call_where_the_token_budgets_match(monkeypatch):
    from slm_math.training import grpo_sampling
    from slm_math.training.grpo_stage import _solver_checks

    calls = []

    def first_right(model, tokenizer, prompts, *, max_new_tokens, **kwargs):  # right on the first only
        calls.append((len(prompts), max_new_tokens))
        return [["\\boxed{0}"]] + [["\\boxed{-1}"]] * (len(prompts) - 1)

    monkeypatch.setattr(grpo_sampling, "sample", first_right)
    problems = _problems(5)
    both = _solver_checks(None, tokenizer=None, tasks=problems[:3], tasks_tokens=8, guard=problems[3:],
                          guard_tokens=8, seed=0)
    assert calls == [(5, 8)]
    assert (both["tasks"]["correct_ids"], both["guard"]["n"], both["guard"]["correct"]) == (["p0"], 2, 0)
    calls.clear()
    apart = _solver_checks(None, tokenizer=None, tasks=problems[:3], tasks_tokens=8, guard=problems[3:],
                           guard_tokens=16, seed=0)
    assert calls == [(3, 8), (2, 16)]
    assert (apart["tasks"]["n"], apart["guard"]["n"], apart["guard"]["correct"]) == (3, 2, 0)
    calls.clear()
    alone = _solver_checks(None, tokenizer=None, tasks=problems[:3], tasks_tokens=8, guard=[],
                           guard_tokens=16, seed=0)
    assert calls == [(3, 8)] and list(alone) == ["tasks"]
