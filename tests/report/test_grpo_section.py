"""The report's GRPO section: the held-out curves (training tasks, guard) of every GRPO model."""

from __future__ import annotations

import json

from slm_math.report.grpo import grpo_table, read_grpo_metrics
from slm_math.report.summary import render_summary

GUARDED = {
    "steps": 200, "reward_first": 0.41, "reward_last": 0.62, "frac_reward_zero_std_mean": 0.35,
    "held_out_accuracy_before": 0.48, "held_out_accuracy_after": 0.53,
    "held_out_before": {"n": 400, "accuracy": 0.48},
    "dynamic_sampling": {"enabled": True, "metric": "correctness", "frac_reward_zero_std_mean": 0.30,
                         "zero_std_before_mean": 0.35, "zero_std_trained_mean": 0.02,
                         "extra_generation_share": 0.41},
    "held_out_guard": {"benchmark": "champ", "n": 88, "start": {"accuracy": 0.0795},
                       "end": {"accuracy": 0.0227}, "lost": ["c1", "c2", "c3", "c4", "c5", "c6"],
                       "gained": ["c9"]},
}
STATIC = {"steps": 4, "reward_first": 0.6, "reward_last": 0.5, "frac_reward_zero_std_mean": 0.5625,
          "held_out_accuracy_before": 0.625, "held_out_accuracy_after": 0.625,
          "held_out_before": {"n": 8}}


def test_metrics_of_grpo_models_only_are_read(tmp_path):
    (tmp_path / "grpo.json").write_text(json.dumps(GUARDED))
    (tmp_path / "sft_full.json").write_text(json.dumps({"steps": 16, "final_loss": 0.4}))
    found = read_grpo_metrics(tmp_path, ["base", "sft_full", "grpo", "grpo"])
    assert list(found) == ["grpo"]


def test_table_shows_the_guard_falling_beside_the_gain():
    table = grpo_table({"grpo": GUARDED, "grpo_static": STATIC}).splitlines()
    assert len(table) == 4
    guarded = table[2]
    # both shares on dynamic sampling's metric, not TRL's share on the weighted total (30%)
    assert "| grpo | 200 | 0.410 → 0.620 | 35.0% / 2.0% (correctness) | 41.0% |" in guarded
    assert "48.0% → 53.0% (n=400)" in guarded
    assert "champ 8.0% → 2.3% (n=88; lost 6, gained 1)" in guarded
    static = table[3]
    assert "56.2% / 56.2% (reward) | off |" in static and "not measured" in static


def test_summary_gets_the_section_only_with_grpo_models():
    results = {"base-standard": {"t": [{"problem_id": "a", "correct": True}]}}
    plain = render_summary(results, cells=["base-standard"], baseline="base-standard",
                           fewshot_baseline=None)
    assert "GRPO" not in plain
    with_grpo = render_summary(results, cells=["base-standard"], baseline="base-standard",
                               fewshot_baseline=None, grpo={"grpo": GUARDED})
    assert "## GRPO: learned and forgotten" in with_grpo and "lost 6" in with_grpo


CURVED = {**GUARDED,
          "held_out_tasks": {"n": 400, "every": 20, "curve": {
              "step": [0, 20, 40, 60, 80, 100], "accuracy": [0.48, 0.49, 0.5, 0.515, 0.52, 0.53]}},
          "held_out_guard": {**GUARDED["held_out_guard"], "every": 20, "curve": {
              "step": [0, 20, 40, 60, 80, 100],
              "accuracy": [0.0795, 0.0795, 0.1023, 0.0341, 0.0455, 0.0227]}}}


def test_table_draws_both_held_out_curves_from_start_to_end():
    row = grpo_table({"grpo": CURVED}).splitlines()[2]
    assert "| 48.0% → 49.0% → 50.0% → 51.5% → 52.0% → 53.0% (n=400, every 20 steps) |" in row
    assert ("| champ 8.0% → 8.0% → 10.2% → 3.4% → 4.5% → 2.3% (n=88, every 20 steps; "
            "lost 6, gained 1) |") in row


def test_a_long_curve_keeps_its_start_its_end_and_evenly_spaced_checks():
    steps = list(range(0, 101, 5))  # 21 points
    long = {**STATIC, "held_out_tasks": {"n": 8, "every": 5, "curve": {
        "step": steps, "accuracy": [s / 100 for s in steps]}}}
    cell = grpo_table({"grpo": long}).splitlines()[2].split(" | ")[5]
    assert cell == "0.0% → 15.0% → 30.0% → 45.0% → 55.0% → 70.0% → 85.0% → 100.0% (n=8, every 5 steps)"
