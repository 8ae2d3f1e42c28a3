"""The grpo and grpo_verifier stages end to end on a tiny model: metrics, curves, registry."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from slm_math.config.params import (CurriculumParams, DynamicSamplingParams, GRPOVerifierParams,
                                    HeldOutGuardParams, Params, RewardSpec, TrackingParams)
from slm_math.jsonl import read_jsonl, write_jsonl
from slm_math.teacher.reference import reference_trace
from slm_math.trace_formats.verdict import build_verdict_traces
from slm_math.training.grpo_stage import CurriculumError, GRPOPaths, run_grpo_stage
from slm_math.training.sft_data import load_problems
from slm_math.training.sft_stage import StagePaths, run_sft_stage
from tests.training.helpers import quick_grpo, quick_params
from tests.training.test_grpo_train import Interrupt


def _workspace(tmp_path, tiny_model_dir):
    shutil.copytree(tiny_model_dir, tmp_path / "models" / "base")
    for split, folder in (("train", "train"), ("test", "benchmarks")):
        rows = [{"id": f"products/{split}/{i}", "source": "products", "split": split,
                 "problem": f"Solve the following multiplication: {i} * 3.",
                 "answer": str(3 * i), "rule": "numeric", "solution": f"{i} * 3 = {3 * i}"}
                for i in range(2, 10)]
        write_jsonl(tmp_path / "data" / folder / "products.jsonl", rows)
    write_jsonl(tmp_path / "data" / "benchmarks" / "champ.jsonl", [
        {"id": f"champ/test/{i}", "source": "champ", "split": "test", "rule": "numeric",
         "problem": f"How many subsets does a set of {i} elements have?", "answer": str(2 ** i)}
        for i in range(1, 5)])
    return GRPOPaths(problems=tmp_path / "data" / "train", benchmarks=tmp_path / "data" / "benchmarks",
                     models=tmp_path / "models", metrics=tmp_path / "metrics",
                     dvclive=tmp_path / "dvclive", grpo_data=tmp_path / "data" / "grpo")


def test_grpo_stage_writes_metrics_curves_and_registers(tiny_model_dir, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    paths = _workspace(tmp_path, tiny_model_dir)
    cfg = quick_grpo(max_steps=2, rewards={"correctness": RewardSpec(1.0, {"incorrect": -1.0}),
                                           "format": RewardSpec(0.5, {"require_think": False})},
                     curriculum=CurriculumParams(mode="none", candidates=None, refresh=True,
                                                 cooldown_steps=5),
                     dynamic_sampling=DynamicSamplingParams(enabled=True, max_extra_batches=1),
                     held_out=HeldOutGuardParams(benchmark="champ", problems=3, every=1))
    params = Params(seed=1, grpo=cfg, tracking=TrackingParams(experiment="grpo-test"))
    run_grpo_stage(params, paths)

    metrics = json.loads((tmp_path / "metrics" / "grpo.json").read_text())
    assert metrics["steps"] == 2 and metrics["reference_model"] is False
    curves = metrics["curves"]
    assert curves["step"] == [1, 2] and len(curves["reward_std"]) == 2
    # a random model never answers: every reward is -1, every group has zero variance
    assert curves["reward"] == [-1.0, -1.0] and curves["frac_reward_zero_std"] == [1.0, 1.0]
    assert metrics["held_out_before"]["n"] == 4 and metrics["held_out_accuracy_after"] == 0.0
    assert read_jsonl(tmp_path / "data" / "grpo" / "pass_rates.jsonl") == []  # mode none
    plot = tmp_path / "dvclive" / "grpo" / "plots" / "metrics" / "frac_reward_zero_std.tsv"
    assert plot.is_file() and len(plot.read_text().splitlines()) == 3
    # dynamic sampling tried one extra round a step, found nothing informative, masked it all
    assert curves["dynamic/extra_batches"] == [1.0, 1.0]
    assert curves["dynamic/zero_std_trained"] == [1.0, 1.0]
    dynamic = metrics["dynamic_sampling"]
    assert dynamic["extra_completions"] == 2 * 2 * 4 and dynamic["extra_generation_share"] == 1.0
    # the live pool: every group was all wrong, so each problem it drew cools down
    pool = metrics["curriculum"]["pool_end"]
    assert pool["groups_seen"] == 2 * (2 + 2) and pool["cooling"] == pool["measured"] > 0
    assert pool["histogram"]["0"] == pool["measured"]
    live = tmp_path / "dvclive" / "grpo" / "plots" / "metrics" / "curriculum"
    assert (live / "pass_rate" / "0.tsv").is_file() and (live / "cooling.tsv").is_file()
    # the held-out guard: start, every step (the last one is the end check), end
    guard = metrics["held_out_guard"]
    assert guard["benchmark"] == "champ" and guard["n"] == 3
    assert guard["curve"]["step"] == [0, 1, 2] and guard["curve"]["accuracy"] == [0.0] * 3
    assert metrics["held_out_guard_accuracy_after"] == 0.0 and guard["lost"] == []
    # the start and end checks share one generation call with the held-out check
    assert guard["start"]["seconds"] == metrics["held_out_before"]["seconds"]
    assert guard["end"]["seconds"] == metrics["held_out_after"]["seconds"]
    assert (live.parent / "held_out" / "accuracy.tsv").is_file()
    # the training tasks' held-out curve, checked with the guard
    assert metrics["held_out_tasks"]["curve"] == {"step": [0, 1, 2], "accuracy": [0.0] * 3}
    assert (live.parent / "held_out" / "tasks_accuracy.tsv").is_file()
    assert (live.parent / "dynamic" / "extra_completions.tsv").is_file()
    assert metrics["format_reward"]["decision"].startswith("kept: not measured")
    version = MlflowClient().get_model_version_by_alias("slm-math-grpo", "current")
    assert version.tags["params_hash"] == metrics["params_hash"] and version.tags["init"] == "base"
    assert (tmp_path / "models" / "grpo" / "model.safetensors").is_file()


def test_pass_rate_curriculum_that_keeps_nothing_stops_with_a_clear_error(tiny_model_dir, tmp_path):
    paths = _workspace(tmp_path, tiny_model_dir)
    cfg = quick_grpo(curriculum=CurriculumParams(mode="pass_rate", k=2, candidates=3))
    with pytest.raises(CurriculumError, match="kept no problems.*never_solved"):
        run_grpo_stage(Params(grpo=cfg), paths)
    rates = read_jsonl(tmp_path / "data" / "grpo" / "pass_rates.jsonl")
    assert len(rates) == 3 and all(r["pass_rate"] == 0.0 and r["k"] == 2 for r in rates)


def test_extra_tasks_join_the_pool_active_without_the_start_measurement(tiny_model_dir,
                                                                         tmp_path, monkeypatch):
    from slm_math.training import grpo_stage

    paths = _workspace(tmp_path, tiny_model_dir)
    write_jsonl(tmp_path / "data" / "grpo_train" / "products_hard.jsonl", [
        {"id": f"products_hard/train/{i}", "source": "products_hard", "split": "train",
         "problem": f"Solve the following multiplication: {i} * 37.", "answer": str(37 * i),
         "rule": "numeric"} for i in range(11, 17)])
    write_jsonl(tmp_path / "data" / "grpo_train" / "unused.jsonl", [])
    measured: list[str] = []

    def fake_measure(model, tokenizer, pool, **kwargs):  # the start model's pass rates
        measured.extend(p["id"] for p in pool)
        return [{"problem_id": p["id"], "k": 2, "correct": 1, "pass_rate": 0.5} for p in pool]

    monkeypatch.setattr(grpo_stage, "measure_pass_rates", fake_measure)
    cfg = quick_grpo(max_steps=1, extra_tasks=["products_hard"],
                     rewards={"correctness": RewardSpec(1.0, {})},
                     curriculum=CurriculumParams(mode="pass_rate", k=2, candidates=None,
                                                 refresh=True))
    _, metrics = run_grpo_stage(Params(seed=1, grpo=cfg), dataclasses.replace(
        paths, extra_problems=tmp_path / "data" / "grpo_train"))

    assert sorted(measured) == sorted(f"products/train/{i}" for i in range(2, 10))
    rates = read_jsonl(tmp_path / "data" / "grpo" / "pass_rates.jsonl")
    assert {r["problem_id"] for r in rates} == set(measured)
    curriculum = metrics["curriculum"]
    assert curriculum["extra_tasks"] == {"problems": 6, "of_pool": 14,
                                         "by_task": {"products_hard": 6}}
    assert metrics["train_prompts"] == 14
    start = curriculum["pool_start"]["by_source"]
    assert start["products_hard"] == {"problems": 6, "active": 6, "cooling": 0, "retired": 0,
                                      "measured": 0}
    assert start["products"]["measured"] == 8
    end = curriculum["pool_end"]["by_source"]
    assert sum(s["measured"] for s in end.values()) == curriculum["pool_end"]["measured"]
    # extra_tasks_draw 'reserve' (the default): 8 active train problems fill the step's
    # prompts, so no extra problem was drawn, hence none measured
    assert cfg.extra_tasks_draw == "reserve" and end["products_hard"]["measured"] == 0
    assert end["products"]["measured"] == 8


@pytest.mark.parametrize("clash, message", [
    (False, r"grpo_train/lcm_60\.jsonl: no such problem file \(grpo\.extra_tasks names 'lcm_60'\)"),
    (True, r"lcm_60\.jsonl: problem id 'products/train/2' is already a training problem's"),
])
def test_a_missing_or_clashing_extra_task_file_is_an_error_naming_it(tiny_model_dir, tmp_path,
                                                                     clash, message):
    from slm_math.jsonl import DataFileError

    paths = _workspace(tmp_path, tiny_model_dir)
    if clash:
        train = read_jsonl(tmp_path / "data" / "train" / "products.jsonl")
        write_jsonl(tmp_path / "data" / "grpo_train" / "lcm_60.jsonl", train[:1])
    cfg = quick_grpo(extra_tasks=["lcm_60"], curriculum=CurriculumParams(
        mode="none", candidates=None, refresh=True))
    with pytest.raises(DataFileError, match=message):
        run_grpo_stage(Params(grpo=cfg), dataclasses.replace(
            paths, extra_problems=tmp_path / "data" / "grpo_train"))


def test_fewer_prompts_than_a_step_needs_is_an_error_not_a_silent_empty_run(tiny_model_dir,
                                                                            tmp_path):
    paths = _workspace(tmp_path, tiny_model_dir)
    cfg = quick_grpo(curriculum=CurriculumParams(mode="none", candidates=1))  # 2 prompts a step
    with pytest.raises(CurriculumError, match="1 training prompts, fewer than prompts_per_step"):
        run_grpo_stage(Params(grpo=cfg), paths)


def test_grpo_verifier_stage_trains_on_verdicts(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    paths = _workspace(tmp_path, tiny_model_dir)
    common = {k: v for k, v in vars(quick_grpo(max_steps=1, max_prompt_length=512)).items()
              if k not in ("curriculum", "rewards", "eval_problems")}
    cfg = GRPOVerifierParams(**common, problems=6, solver_samples=1, eval_problems=2)
    run_grpo_stage(Params(grpo_verifier=cfg, tracking=TrackingParams(experiment="v")), paths,
                   stage="grpo_verifier")
    metrics = json.loads((tmp_path / "metrics" / "grpo_verifier.json").read_text())
    counts = metrics["curriculum"]
    assert counts["problems"] == 6 and counts["solver_samples"] == 6
    assert metrics["held_out_before"]["n"] > 0 and "verdict_rate" in metrics["held_out_before"]
    assert "rewards/verdict/mean" in metrics["curves"]
    assert metrics["registered_model"] == "slm-math-grpo-verifier"


@pytest.mark.slow
def test_grpo_verifier_rewards_vary_on_the_real_model(smollm2_model_dir, tmp_path, monkeypatch):
    """With the reply opened by `VERDICT:`, the 135M model's sampled verdicts differ within a
    group (it says " CORRECT" about 40% of the time at temperature 1), so GRPO has a signal;
    left to write `VERDICT:` itself it never did, and every reward was 0."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    paths = _workspace(tmp_path, smollm2_model_dir)
    common = {k: v for k, v in vars(quick_grpo(max_steps=1, max_prompt_length=512)).items()
              if k not in ("curriculum", "rewards", "eval_problems")}
    common.update(prompts_per_step=4, per_device_batch_size=16, max_completion_length=4,
                  learning_rate=1e-5, temperature=1.0)
    cfg = GRPOVerifierParams(**common, problems=4, solver_samples=1, eval_problems=0)
    run_grpo_stage(Params(seed=0, grpo_verifier=cfg, tracking=TrackingParams(experiment="v")), paths,
                   stage="grpo_verifier")
    curves = json.loads((tmp_path / "metrics" / "grpo_verifier.json").read_text())["curves"]
    assert curves["reward_std"][0] > 0, curves
    assert 0 < curves["rewards/verdict/mean"][0] < 1, curves
    assert curves["frac_reward_zero_std"][0] < 1, curves


@pytest.mark.slow
def test_grpo_verifier_from_a_verdict_warmed_start_gets_rewards(tiny_model_dir, tmp_path, monkeypatch):
    """The random tiny model never begins a verifier reply with a verdict, so every verdict
    reward is 0 and GRPO has nothing to learn from. The sft stage on verdict traces (the
    formats mix with verdicts only) warms it: from that start the rewards are not all zero.
    (40 steps: the tiny model learns the order of the verdict's tokens slowly; after 40 it
    began 57 of 60 sampled replies with a verdict, about 10 minutes on a loaded 2-core VM.)"""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    paths = _workspace(tmp_path, tiny_model_dir)
    problems = load_problems(paths.problems)
    verified = [{"problem_id": pid, "teacher": "reference", "attempt": 1, "format": "standard",
                 "text": reference_trace(p).text} for pid, p in problems.items()]
    traces = tmp_path / "data" / "cot" / "verified.jsonl"
    write_jsonl(traces, build_verdict_traces(verified, [], problems, max_traces=None, seed=0))
    sft = quick_params("full", formats={"verdict": 1.0}, max_steps=40, max_examples=None,
                       max_length=256, eval_problems=1, learning_rate=1e-2, scheduler="constant",
                       effective_batch_size=8, per_device_batch_size=8, save_steps=100)
    run_sft_stage("sft_full", Params(seed=0, sft_full=sft, tracking=TrackingParams(experiment="w")),
                  StagePaths(traces=traces, problems=paths.problems, base_model=paths.models / "base",
                             models=paths.models, metrics=paths.metrics, dvclive=paths.dvclive))
    assert json.loads((paths.metrics / "sft_full.json").read_text())["formats"]["verdict"]["examples"] == 14

    common = {k: v for k, v in vars(quick_grpo(max_steps=1, max_prompt_length=512)).items()
              if k not in ("curriculum", "rewards", "eval_problems", "init")}
    metrics = {}
    for init in ("base", "sft_full"):
        cfg = GRPOVerifierParams(**common, init=init, problems=6, solver_samples=1, eval_problems=2)
        _, metrics[init] = run_grpo_stage(Params(seed=0, grpo_verifier=cfg), paths, stage="grpo_verifier")
    assert metrics["base"]["curves"]["rewards/verdict/mean"] == [0.0]
    assert metrics["base"]["held_out_before"]["verdict_rate"] == 0.0
    warmed = metrics["sft_full"]
    assert warmed["curves"]["rewards/verdict/mean"][0] > 0, warmed["curves"]
    assert warmed["held_out_before"]["verdict_rate"] == 1.0          # every reply begins with a verdict


def test_a_missing_held_out_benchmark_is_an_error_naming_file_and_param(tiny_model_dir, tmp_path):
    from slm_math.jsonl import DataFileError

    paths = _workspace(tmp_path, tiny_model_dir)
    cfg = quick_grpo(held_out=HeldOutGuardParams(benchmark="aime24", problems=2))
    with pytest.raises(DataFileError, match=r"aime24\.jsonl: no such benchmark file "
                                            r"\(grpo\.held_out\.benchmark is 'aime24'\)"):
        run_grpo_stage(Params(grpo=cfg), paths)


class _AnswerKey:
    """Held-out sampling that answers the first ``calls`` prompts of its n-th call right (the
    rest wrong): each check's accuracy is known, and differs from the check before."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, model, tokenizer, prompts, **kwargs):
        import re

        texts = [m[-1]["content"] for m in prompts]
        right = len(self.calls)
        self.calls.append(texts)
        out = []
        for i, text in enumerate(texts):
            product = re.search(r"(\d+) \* 3", text)
            answer = 3 * int(product[1]) if product else 2 ** int(re.search(r"set of (\d+)", text)[1])
            out.append([f"\\boxed{{{answer if i < right else -1}}}"])
        return out


CORRECTNESS = {"correctness": RewardSpec(1.0, {})}


def _tsv(path) -> list[tuple[int, float]]:
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:]]
    return [(int(r[0]), float(r[1])) for r in rows]


def test_tasks_held_out_curve_is_measured_at_every_check_on_the_same_problems(
        tiny_model_dir, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    from slm_math.training import grpo_sampling
    from slm_math.training.grpo_data import user_prompt
    from slm_math.training.grpo_stage import _held_out_problems

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    key = _AnswerKey()
    monkeypatch.setattr(grpo_sampling, "sample", key)
    paths = _workspace(tmp_path, tiny_model_dir)
    cfg = quick_grpo(rewards=CORRECTNESS, max_steps=3, eval_problems=4,
                     held_out=HeldOutGuardParams(benchmark="champ", problems=2, every=1))
    _, metrics = run_grpo_stage(Params(seed=1, grpo=cfg, tracking=TrackingParams(experiment="t")),
                                paths)

    # start, steps 1 and 2, end: one generation call each, the 4 task problems then the guard's 2
    held = [user_prompt(p["problem"]) for p in _held_out_problems(paths, cfg, None, 1)]
    assert len(key.calls) == 4 and all(call[:4] == held for call in key.calls)
    tasks = metrics["held_out_tasks"]
    assert tasks["n"] == 4 and tasks["every"] == 1
    assert tasks["curve"] == {"step": [0, 1, 2, 3], "accuracy": [0.0, 0.25, 0.5, 0.75]}
    assert metrics["curves"]["held_out/tasks_accuracy"] == [0.25, 0.5, None]
    assert metrics["curves"]["held_out/tasks_correct"] == [1.0, 2.0, None]
    assert metrics["held_out_before"]["accuracy"] == 0.0 and metrics["held_out_after"]["accuracy"] == 0.75
    # the guard's problems follow the task problems in the same call: right from the 5th call on
    assert metrics["held_out_guard"]["curve"] == {"step": [0, 1, 2, 3], "accuracy": [0.0] * 4}
    # DVCLive and MLflow draw both curves from step 0 to the end
    plots = tmp_path / "dvclive" / "grpo" / "plots" / "metrics" / "held_out"
    assert _tsv(plots / "tasks_accuracy.tsv") == [(0, 0.0), (1, 0.25), (2, 0.5), (3, 0.75)]
    assert [s for s, _ in _tsv(plots / "accuracy.tsv")] == [0, 1, 2, 3]
    history = MlflowClient().get_metric_history(metrics["mlflow_run_id"], "held_out/tasks_accuracy")
    assert sorted((m.step, m.value) for m in history) == [(0, 0.0), (1, 0.25), (2, 0.5), (3, 0.75)]


def test_tasks_curve_without_a_guard_and_no_curve_without_task_problems(tiny_model_dir, tmp_path,
                                                                        monkeypatch):
    from slm_math.training import grpo_sampling

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setattr(grpo_sampling, "sample", _AnswerKey())
    paths = _workspace(tmp_path, tiny_model_dir)
    cfg = quick_grpo(rewards=CORRECTNESS, max_steps=2, eval_problems=4, held_out=HeldOutGuardParams(problems=0, every=1))
    _, metrics = run_grpo_stage(Params(grpo=cfg, tracking=TrackingParams(experiment="t")), paths)
    assert metrics["held_out_tasks"]["curve"] == {"step": [0, 1, 2], "accuracy": [0.0, 0.25, 0.5]}
    assert "held_out_guard" not in metrics and "held_out/accuracy" not in metrics["curves"]

    # eval_problems 0: the guard's curve alone, and no task curve anywhere
    shutil.rmtree(tmp_path / "models" / ".checkpoints")
    cfg = quick_grpo(rewards=CORRECTNESS, max_steps=2, eval_problems=0,
                     held_out=HeldOutGuardParams(benchmark="champ", problems=2, every=1))
    _, metrics = run_grpo_stage(Params(grpo=cfg, tracking=TrackingParams(experiment="t")), paths)
    assert metrics["held_out_before"] == {"n": 0, "correct": 0, "accuracy": None}
    assert "held_out_tasks" not in metrics and "held_out/tasks_accuracy" not in metrics["curves"]
    assert metrics["held_out_guard"]["curve"]["step"] == [0, 1, 2]
    assert not (tmp_path / "dvclive" / "grpo" / "plots" / "metrics" / "held_out" / "tasks_accuracy.tsv").exists()

    # neither: no check during training, and the stage still runs
    shutil.rmtree(tmp_path / "models" / ".checkpoints")
    cfg = quick_grpo(rewards=CORRECTNESS, max_steps=1, eval_problems=0, held_out=HeldOutGuardParams(problems=0))
    _, metrics = run_grpo_stage(Params(grpo=cfg, tracking=TrackingParams(experiment="t")), paths)
    assert metrics["steps"] == 1 and metrics["held_out_accuracy_after"] is None
    assert not any(k.startswith("held_out/") for k in metrics["curves"])


def test_a_resumed_run_keeps_the_tasks_curve_continuous(tiny_model_dir, tmp_path, monkeypatch):
    from slm_math.training import grpo_sampling

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    key = _AnswerKey()
    monkeypatch.setattr(grpo_sampling, "sample", key)
    paths = _workspace(tmp_path, tiny_model_dir)
    cfg = quick_grpo(rewards=CORRECTNESS, max_steps=4, save_steps=2, eval_problems=4,
                     held_out=HeldOutGuardParams(benchmark="champ", problems=2, every=1))
    params = Params(grpo=cfg, tracking=TrackingParams(experiment="t"))
    with pytest.raises(KeyboardInterrupt):  # after step 3, before its log: checkpoint-2 is the last
        run_grpo_stage(params, paths, extra_callbacks=[Interrupt(3)])
    assert len(key.calls) == 3  # start, steps 1 and 2

    _, metrics = run_grpo_stage(params, paths)
    assert metrics["resumed_from_step"] == 2 and len(key.calls) == 5  # step 3, end; start cached
    assert metrics["held_out_tasks"]["curve"] == {"step": [0, 1, 2, 3, 4],
                                                  "accuracy": [0.0, 0.25, 0.5, 0.75, 1.0]}
    assert metrics["held_out_guard"]["curve"]["step"] == [0, 1, 2, 3, 4]
    plots = tmp_path / "dvclive" / "grpo" / "plots" / "metrics" / "held_out"
    assert _tsv(plots / "tasks_accuracy.tsv") == [(0, 0.0), (1, 0.25), (2, 0.5), (3, 0.75), (4, 1.0)]


@pytest.mark.parametrize("window", [8, None])
def test_a_format_reward_turned_off_at_the_start_comes_back_when_the_format_drifts(
        tiny_model_dir, tmp_path, monkeypatch, window):
    from slm_math.training import grpo_stage

    paths = _workspace(tmp_path, tiny_model_dir)
    # the start "formats" every sample (so the rule turns the format reward off); the tiny
    # model's own samples during training never box an answer (a format rate of 0)
    monkeypatch.setattr(grpo_stage, "measure_pass_rates", lambda model, tokenizer, pool, **kw: [
        {"problem_id": p["id"], "k": 2, "correct": 1, "pass_rate": 0.5, "formatted": 2}
        for p in pool])
    cfg = quick_grpo(max_steps=2, format_reward_restore_window=window,
                     rewards={"correctness": RewardSpec(1.0, {}),
                              "format": RewardSpec(1.0, {"value": 0.2, "require_think": False})},
                     curriculum=CurriculumParams(mode="pass_rate", k=2, candidates=None))
    _, metrics = run_grpo_stage(Params(seed=1, grpo=cfg), paths)
    rule = metrics["format_reward"]
    assert rule["decision"] == "off: start format rate 1.0 >= 0.9" and rule["weight"] == 0.0
    if window is None:
        assert "guard" not in rule
    else:  # the first step's 8 completions fill the window: restored in step 1
        assert rule["guard"] == {"window": 8, "restored_at_step": 1, "rate_at_restore": 0.0,
                                 "rate_last_window": 0.0}
