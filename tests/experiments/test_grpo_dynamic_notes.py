"""experiments/grpo_dynamic.py's notes: the findings of a finished run, computed from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.experiments.test_grpo_dynamic_partial import ROOT, script  # noqa: F401 (fixture)


def arm(delta: float, p: float, zero_drawn: float, extra: int, seed_accuracy: float) -> dict:
    return {"steps": 100, "accuracy": {"pooled": seed_accuracy},
            "vs_start": {"n": 1000, "a_only": 20, "b_only": 20 + int(delta * 1000), "delta": delta, "p": p},
            "zero_std_drawn_mean": zero_drawn, "zero_std_trained_mean": 0.0 if extra else zero_drawn,
            "extra_completions": extra, "extra_generation_share": extra / 12800, "seconds_per_step": 5.5,
            "curriculum_start": {"pool_start": {"active": 400}},
            "pool_end": {"problems": 1024, "active": 40, "retired": 470, "cooling": 514, "fallback_draws": 0},
            "held_out_guard": {"benchmark": "champ", "curve": {"step": [0, 100], "accuracy": [0.045, 0.034]}},
            "held_out_vs_start": {"delta": -0.011, "p": 1.0}}


def results() -> dict:
    return {"eval": {"start": {"pooled": 0.484}, "n_tasks": 1000, "tasks": ["lcm", "products"],
                     "max_new_tokens": 256},
            "arms": {"static@1": arm(0.012, 0.3, 0.7, 0, 0.496),
                     "dynamic@1": arm(0.034, 0.001, 0.52, 24472, 0.518),
                     "dynamic@2": arm(0.045, 3.3e-6, 0.53, 24440, 0.529)},
            "seeds": {"dynamic": {"seeds": [1, 2], "delta_mean": 0.0395, "delta_stdev": 0.0078,
                                  "significant_gains": 2}},
            "dynamic_vs_static": {"arms": ["static@1", "dynamic@1"], "n": 1000, "delta": 0.022, "p": 0.04},
            "targets": {"dynamic_zero_std_trained_under_30pct": True,
                        "dynamic_gain_larger_than_static": False}}


def test_the_notes_state_each_arm_the_seeds_and_the_targets(script):  # noqa: F811
    notes = script.final_notes(results())
    assert notes[0].startswith("start model: 0.484 greedy on 1000 task problems (lcm, products)")
    static, dynamic = notes[1], notes[2]
    assert "static@1: 100 steps, accuracy 0.496 (+1.2 pp over the start, 32 won / 20 lost, p 0.3)" in static
    assert "extra completions" not in static and "zero-variance groups 0.70 drawn, 0.70 trained" in static
    assert "24,472 extra completions (1.91x the step's own)" in dynamic
    assert "pool active 400 -> 40 of 1024 (retired 470, cooling 514, fallback draws 0)" in dynamic
    assert "champ during training 0.045 -> 0.034 (after vs start -1.1 pp, p 1)" in dynamic
    assert "dynamic over seeds 1, 2: gain +4.0 pp (sd 0.8 pp), significant (p < 0.05) in 2 of 2" in notes
    assert "dynamic@1 against static@1: +2.2 pp, p 0.04 on 1000 problems" in notes
    assert notes[-1] == ("targets: dynamic_zero_std_trained_under_30pct met, "
                         "dynamic_gain_larger_than_static missed")
    run = results()  # a pool that ran dry says from which step
    run["arms"]["dynamic@1"]["pool_end"]["dry_step"] = 57
    dry = script.final_notes(run)[2]
    assert "pool active 400 -> 40 of 1024 (retired 470, cooling 514, fallback draws 0, dry from step 57)" in dry


def test_the_notes_say_what_the_start_was_trained_on_and_a_format_reward_left_on(script):  # noqa: F811
    run = results()
    run["workspace"] = {"profile": "gpu", "data.solution_style": "worked"}
    run["arms"]["static@1"]["format_reward"] = {"decision": "kept: start format rate 0.7955 < 0.9",
                                                "weight": 1.0}
    run["arms"]["dynamic@1"]["format_reward"] = {"decision": "off: start format rate 0.94 >= 0.9",
                                                 "weight": 0.0}
    notes = script.final_notes(run)
    assert notes[0].endswith("256 new tokens, SFT on worked reference solutions (the gpu profile)")
    assert notes[1].endswith("; format reward on throughout (kept: start format rate 0.7955 < 0.9)")
    assert "format reward on" not in notes[2]
    run["workspace"]["data.solution_style"] = "expression"  # the default: nothing to say
    assert script.final_notes(run)[0].endswith("256 new tokens")


def test_the_notes_give_the_held_out_task_curve_where_the_run_has_it(script):  # noqa: F811
    run = results()
    run["arms"]["dynamic@1"]["held_out_tasks_curve"] = {"step": [0, 50, 100], "accuracy": [0.5075, 0.525, 0.47]}
    notes = script.final_notes(run)
    assert "held-out training-task problems at steps 0, 50, 100: 0.507 -> 0.525 -> 0.470" in notes[2]
    assert "held-out training-task problems" not in notes[1]  # a run from before the curve


def test_show_writes_the_results_with_their_notes(tmp_path):
    source = tmp_path / "run.json"
    source.write_text(json.dumps({**results(), "notes": ["stale"]}))
    out = tmp_path / "written" / "grpo_seeds.json"
    out.parent.mkdir()
    done = subprocess.run([sys.executable, "experiments/grpo_dynamic.py", "--show", str(source), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text())
    assert written["notes"][0].startswith("start model: 0.484") and "stale" not in written["notes"]
    assert written["arms"].keys() == results()["arms"].keys()
    assert "- dynamic@1: 100 steps" in done.stdout


def test_the_static_arm_is_valid_params_on_a_profile_with_extra_tasks(script):  # noqa: F811
    from slm_math.config import load_params, merge_overrides

    gpu = {"data": {"grpo_tasks": {"lcm_60": {"generator": "lcm", "size": 10,
                                              "config": {"min_value": 2, "max_value": 60}}}},
           "grpo": {"extra_tasks": ["lcm_60"], "curriculum": {"mode": "pass_rate"}}}
    for arm in ("static@1", "dynamic@1"):
        params = load_params(ROOT / "params.yaml", merge_overrides(gpu, script.arm_overrides(arm)))
        assert params.grpo.seed == 1
        assert params.grpo.extra_tasks == ([] if arm.startswith("static") else ["lcm_60"])


def test_each_dynamic_arm_is_compared_with_the_static_arm_of_its_seed(script):  # noqa: F811
    verdicts = {"static@1": [True, True, False, False, True], "dynamic@1": [True, False, True, True, True],
                "dynamic@1/lowlr": [False, False, False, False, True], "static@1/lowlr": [False] * 5,
                "dynamic@2": [True] * 5}  # no static@2
    rows = script.static_comparisons(list(verdicts), verdicts.__getitem__)
    assert [(r["arm"], r["static"]) for r in rows] == [("dynamic@1", "static@1"), ("dynamic@1/lowlr", "static@1")]
    assert {k: rows[0][k] for k in ("n", "a_only", "b_only", "delta")} == {"n": 5, "a_only": 1, "b_only": 2, "delta": 0.2}
    assert {k: rows[1][k] for k in ("n", "a_only", "b_only", "delta")} == {"n": 5, "a_only": 2, "b_only": 0, "delta": -0.4}
    assert 0 < rows[1]["p"] <= 1
    seedless = script.static_comparisons(["static", "dynamic/x"], {"static": [True], "dynamic/x": [False]}.__getitem__)
    assert [(r["arm"], r["static"], r["delta"]) for r in seedless] == [("dynamic/x", "static", -1.0)]


def test_each_variant_is_compared_with_the_plain_arm_of_its_kind_and_seed(script):  # noqa: F811
    verdicts = {"static@1": [True, True, False, False, True], "dynamic@1": [True, False, True, True, True],
                "dynamic@1/lowlr": [False, False, True, True, True], "static@1/x": [False] * 5,
                "dynamic@2/lowlr": [True] * 5, "dynamic/y": [True] * 5}  # no dynamic@2, no dynamic
    rows = script.base_comparisons(list(verdicts), verdicts.__getitem__)
    assert [(r["arm"], r["base"]) for r in rows] == [("dynamic@1/lowlr", "dynamic@1"), ("static@1/x", "static@1")]
    assert {k: rows[0][k] for k in ("n", "a_only", "b_only", "delta")} == {"n": 5, "a_only": 1, "b_only": 0, "delta": -0.2}
    assert {k: rows[1][k] for k in ("a_only", "b_only", "delta")} == {"a_only": 3, "b_only": 0, "delta": -0.6}
    run = results()
    run["vs_base"] = [{"arm": "dynamic@1/lowlr", "base": "dynamic@1", "n": 1000, "a_only": 20, "b_only": 45,
                       "delta": 0.025, "p": 0.003}]
    assert "dynamic@1/lowlr against dynamic@1: +2.5 pp, p 0.003 on 1000 problems" in script.final_notes(run)


def test_the_notes_state_each_arm_against_static_once(script):  # noqa: F811
    run = results()
    run["arms"]["dynamic@1/lowlr"] = arm(-0.004, 0.8, 0.5, 24000, 0.48)
    run["vs_static"] = [{"arm": "dynamic@1", "static": "static@1", "n": 1000, "a_only": 40, "b_only": 62,
                         "delta": 0.022, "p": 0.04},
                        {"arm": "dynamic@1/lowlr", "static": "static@1", "n": 1000, "a_only": 50, "b_only": 34,
                         "delta": -0.016, "p": 0.1}]
    notes = script.final_notes(run)
    assert notes.count("dynamic@1 against static@1: +2.2 pp, p 0.04 on 1000 problems") == 1
    assert "dynamic@1/lowlr against static@1: -1.6 pp, p 0.1 on 1000 problems" in notes
    assert notes[-1].startswith("targets: ")


def metrics(curves: dict) -> dict:
    """A metrics/grpo.json of a 10-step run with ``curves``."""
    return {"steps": 10, "wall_time_s": 60.0, "seconds_per_step": 6.0, "completions_per_step": 128,
            "curriculum": {"mode": "pass_rate"}, "curves": {"step": list(range(1, 11)), **curves}}


def test_the_arm_summary_has_grad_norm_and_entropy_by_fifths(script):  # noqa: F811
    grad = [0.1, 0.3, 0.5, 0.5, 1.0, 2.0, 2.0, 2.0, 4.0, 6.0]
    entropy = [0.8, None, 0.6, 0.6, 0.5, 0.3, 0.2, 0.2, 0.1, 0.1]  # TRL logged None on step 2
    windows = script.arm_summary(metrics({"grad_norm": grad, "entropy": entropy}))["update_windows"]
    assert [(w["from"], w["to"], w["mean"]) for w in windows["grad_norm"]] == [
        (1, 2, 0.2), (3, 4, 0.5), (5, 6, 1.5), (7, 8, 2.0), (9, 10, 5.0)]
    assert windows["entropy"][0] == {"from": 1, "to": 3, "mean": 0.7}  # step 2 left out
    step = [0.01] * 5 + [0.03] * 5  # update_norm: the step's own size
    windows = script.arm_summary(metrics({"grad_norm": grad, "update_norm": step}))["update_windows"]
    assert [w["mean"] for w in windows["update_norm"]] == [0.01, 0.01, 0.02, 0.03, 0.03]
    assert "update norm by fifths 0.01, 0.01, 0.02, 0.03, 0.03" in script.update_notes(windows)
    # metrics from before grad_norm was recorded: entropy only
    assert set(script.arm_summary(metrics({"entropy": entropy}))["update_windows"]) == {"entropy"}
    assert script.arm_summary(metrics({}))["update_windows"] == {}


def test_the_notes_give_each_arm_its_update_windows(script):  # noqa: F811
    run = results()
    run["arms"]["dynamic@1"]["update_windows"] = script.arm_summary(metrics({
        "grad_norm": [0.1, 0.3, 0.5, 0.5, 1.0, 2.0, 2.0, 2.0, 4.0, 6.0],
        "entropy": [0.8, 0.8, 0.6, 0.6, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]}))["update_windows"]
    run["arms"]["static@1"]["update_windows"] = {"entropy": [{"from": 1, "to": 10, "mean": 0.75}]}
    notes = script.final_notes(run)
    dynamic = next(n for n in notes if n.startswith("dynamic@1:"))
    assert dynamic.endswith("; grad norm by fifths 0.2, 0.5, 1.5, 2, 5; "
                            "entropy by fifths 0.8, 0.6, 0.5, 0.25, 0.125")
    static = next(n for n in notes if n.startswith("static@1:"))
    assert static.endswith("; entropy by fifths 0.75") and "grad norm" not in static
    assert not any("by fifths" in n for n in notes if n.startswith("dynamic@2:"))


def test_the_final_notes_give_each_arm_its_task_mix(script):  # noqa: F811
    mix = {"basic_arithmetic": {"drawn": 40.0, "trained": 10.0, "trained_share_by_half": [0.4, 0.1]},
           "lcm": {"drawn": 40.0, "trained": 30.0, "trained_share_by_half": [0.6, 0.9]}}
    assert script.arm_summary({**metrics({}), "task_mix": mix})["task_mix"] == mix
    assert script.arm_summary(metrics({}))["task_mix"] is None  # a run from before the mix
    run = results()
    run["arms"]["dynamic@1"]["task_mix"] = mix
    notes = script.final_notes(run)
    dynamic = next(n for n in notes if n.startswith("dynamic@1:"))
    assert dynamic.endswith("; trained groups by task, share in the first -> second half: "
                            "basic_arithmetic 0.40 -> 0.10, lcm 0.60 -> 0.90")
    assert not any("trained groups by task" in n for n in notes if not n.startswith("dynamic@1:"))


def test_the_notes_give_the_accuracy_a_benchmark_of_the_start_and_each_arm(script):  # noqa: F811
    run = results()
    run["eval"]["start"] = {"pooled": 0.484, "lcm": 0.16, "products": 0.4}
    run["arms"]["static@1"]["accuracy"] = {"pooled": 0.496, "lcm": 0.2, "products": 0.392}
    run["arms"]["dynamic@1"]["accuracy"] = {"pooled": 0.518, "lcm": 0.25, "products": 0.386}
    notes = script.final_notes(run)
    line = ("accuracy a benchmark, start -> static@1, dynamic@1, dynamic@2: lcm 0.160 -> 0.200, 0.250, -; "
            "products 0.400 -> 0.392, 0.386, -")  # dynamic@2: pooled accuracy only
    assert line in notes
    assert notes.index(line) == 4  # after the start's and the three arms' lines
    assert script.benchmark_note({"pooled": 0.5, "lcm": 0.1}, {"a": {"pooled": 0.5}, "b": None}) == [
        "accuracy a benchmark, start -> a: lcm 0.100 -> -"]
    assert script.benchmark_note({"pooled": 0.5}, {"a": {"pooled": 0.6}}) == []  # pooled only
    assert not any(n.startswith("accuracy a benchmark") for n in script.final_notes(results()))


def test_the_benchmark_note_keeps_the_runs_order_after_a_sorted_read_back(script):  # noqa: F811
    start = {"champ": 0.05, "lcm": 0.16, "pooled": 0.4, "products": 0.36}  # as json.load gives it back
    arms = {"static@1": {"champ": 0.02, "lcm": 0.2, "pooled": 0.5, "products": 0.42}}
    evaluation = {"tasks": ["products", "lcm"], "held_out": "champ"}
    assert script.benchmark_note(start, arms, evaluation) == [
        "accuracy a benchmark, start -> static@1: products 0.360 -> 0.420; lcm 0.160 -> 0.200; "
        "champ 0.050 -> 0.020"]
    # without the run's order (an older file), the order they came in
    assert script.benchmark_note(start, arms)[0].endswith("champ 0.050 -> 0.020; lcm 0.160 -> 0.200; "
                                                          "products 0.360 -> 0.420")


def test_show_recomputes_an_older_results_file_unchanged(tmp_path):
    """experiments/results/grpo_seeds.json predates update_windows and vs_static."""
    committed = json.loads((ROOT / "experiments" / "results" / "grpo_seeds.json").read_text())
    assert not any("update_windows" in row for row in committed["arms"].values()) and "vs_static" not in committed
    out = tmp_path / "grpo_seeds.json"
    done = subprocess.run([sys.executable, "experiments/grpo_dynamic.py", "--show",
                           str(ROOT / "experiments" / "results" / "grpo_seeds.json"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["notes"] == committed["notes"]


def test_the_headline_pair_is_the_plain_dynamic_arm_else_a_dynamic_variant(script):  # noqa: F811
    rows = {"static@1": arm(0.012, 0.3, 0.7, 0, 0.496), "dynamic@1/lowlr": arm(0.034, 0.001, 0.52, 24472, 0.518),
            "dynamic@2": arm(0.045, 3.3e-6, 0.53, 24440, 0.529), "static@2": arm(0.05, 0.01, 0.7, 0, 0.53)}
    vs = [{"arm": "dynamic@1/lowlr", "static": "static@1", "n": 1000, "delta": 0.022, "p": 0.04},
          {"arm": "dynamic@2", "static": "static@2", "n": 1000, "delta": -0.005, "p": 0.7}]
    top = script.headline(rows, vs)  # a plain dynamic arm wins over a variant of a lower seed
    assert top["dynamic_vs_static"] == {"arms": ["static@2", "dynamic@2"], "n": 1000, "delta": -0.005, "p": 0.7}
    assert top["targets"]["dynamic_gain_larger_than_static"] is False
    top = script.headline(rows, vs[:1])  # static@1 against dynamic@1/lowlr alone
    assert top["dynamic_vs_static"]["arms"] == ["static@1", "dynamic@1/lowlr"]
    assert top["targets"] == {"dynamic_zero_std_drawn_under_30pct": False,
                              "dynamic_zero_std_trained_under_30pct": True,
                              "dynamic_gain_larger_than_static": True}
    assert script.headline({"static@1": rows["static@1"]}, []) == {}


def test_the_starts_pass_rates_come_from_the_first_arm_that_measured_them(script, tmp_path):  # noqa: F811
    def rates(arm: str, rows: list[tuple[str, int]]) -> None:
        folder = script.arm_dir(tmp_path, arm) / "data" / "grpo"
        folder.mkdir(parents=True)
        (folder / "pass_rates.jsonl").write_text("".join(
            json.dumps({"problem_id": f"{task}/train/{i}", "source": task, "k": 8, "correct": c,
                        "pass_rate": c / 8}) + "\n" for i, (task, c) in enumerate(rows)))

    assert script.start_headroom(tmp_path, ["static@1"]) is None  # no arm measured them
    rates("dynamic@1/fixed", [("products", 0), ("products", 8), ("lcm", 4), ("lcm", 0)])
    rates("static@1", [("products", 0), ("products", 2), ("lcm", 8), ("lcm", 0)])
    headroom = script.start_headroom(tmp_path, ["dynamic@1/fixed", "static@1"])  # static first
    assert (headroom["arm"], headroom["k"]) == ("static@1", 8)
    assert headroom["tasks"]["products"] == {"problems": 2, "mean_pass_rate": 0.125, "pass_at_k": 0.5,
                                             "never_solved": 0.5, "always_solved": 0.0}
    assert headroom["all"]["pass_at_k"] == 0.5 and headroom["all"]["always_solved"] == 0.25
    note = script.headroom_note(headroom)[0]
    assert note.startswith("start's pass rates over the train problems (8 samples each, the "
                           "curriculum's measurement): all 4 mean 0.312, pass@8 0.500, never solved 0.500; ")
    assert note.endswith("products mean 0.125, pass@8 0.500, never solved 0.500")
    run = results()
    run["eval"]["start_headroom"] = headroom
    assert note in script.final_notes(run) and script.headroom_note(None) == []
