"""The grpo and grpo_verifier stages: start model → curriculum → GRPO → model, metrics, registry.

grpo (solver role): training problems → curriculum (pass rates written to
data/grpo/pass_rates.jsonl; the start model's format rate on the same samples decides
whether the format reward still counts) → the GRPO-only problems of ``grpo.extra_tasks``
(data/grpo_train/, unmeasured: the live pool starts them active and the groups it samples
measure them) → held-out greedy accuracy of the start model, on
the training benchmarks' test problems and on the held-out guard's benchmark → GRPO with
the correctness and format rewards (dynamic sampling, the live curriculum, and both
held-out checks every ``held_out.every`` steps) → the same held-out checks on the trained
model → models/grpo/, metrics/grpo.json (per-step reward mean/std, zero-variance share before
and after filtering, generation cost, pool and pass-rate histogram, the held-out curves on
the training tasks and the guard, KL, completion length), DVCLive curves, an MLflow run and a
registered version (alias ``current``).

grpo_verifier (verifier role): the start model's own solutions to training problems, graded
for ground truth, become verification prompts (plain text, the reply opened with
`VERDICT:`); the reward is verdict accuracy; the held-out number is verdict accuracy on
verification examples of held-out problems.

Work that is slow to redo (pass rates, the start evaluation, the verification examples) is
kept beside the checkpoints, so an interrupted stage resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slm_math.config import Params
from slm_math.config.params import GRPOParams, GRPOVerifierParams
from slm_math.grading.rewards import build_rewards
from slm_math.jsonl import DataFileError, read_jsonl, write_json, write_jsonl
from slm_math.tracking import data_hash, git_commit, params_hash, register_checkpoint, stage_run
from slm_math.tracking.mlflow_runs import is_main_process
from slm_math.training.batching import local_device
from slm_math.training.callbacks import dvclive_callback
from slm_math.training.checkpoints import prepare_checkpoint_dir
from slm_math.training.format_guard import FormatGuard
from slm_math.training.grpo import (GRPOResult, build_grpo_trainer, load_start_model,
                                    resolve_backend, train_grpo)
from slm_math.training.grpo_data import (CurriculumError, apply_profile, candidates,
                                         drop_long_prompts, load_problem_list, problem_files,
                                         prompt_row, select_problems)
from slm_math.training.grpo_dynamic import dynamic_summary, task_mix_summary
from slm_math.training.grpo_pool import ProblemPool
from slm_math.training.grpo_sampling import (HeldOutGuard, check_logs, grade_rows,
                                             held_out_accuracies,
                                             measure_pass_rates, sample)
from slm_math.training.grpo_vllm import LoraEngine
from slm_math.training.grpo_data import solve_messages
from slm_math.training.model_loading import resolve_precision
from slm_math.training.verifier_data import (build_verification_rows, verdict_accuracy,
                                             verdict_prompts, verdict_reward)


@dataclass(frozen=True)
class GRPOPaths:
    """Where the GRPO stages read and write, relative to the repo root."""

    problems: Path = Path("data/train")
    benchmarks: Path = Path("data/benchmarks")
    models: Path = Path("models")
    metrics: Path = Path("metrics")
    dvclive: Path = Path("dvclive")
    grpo_data: Path = Path("data/grpo")
    extra_problems: Path = Path("data/grpo_train")  # data.grpo_tasks: GRPO-only problems

    def output(self, stage: str) -> Path:
        """The stage's final model folder (a DVC output)."""
        return self.models / stage

    def checkpoints(self, stage: str) -> Path:
        """Scratch checkpoints and cached measurements, outside the DVC outputs."""
        return self.models / ".checkpoints" / stage


def _cached(path: Path, compute):
    """``compute()`` once per checkpoint folder: a resumed run reads the stored value."""
    if path.is_file():
        return json.loads(path.read_text())
    value = compute()
    if is_main_process():
        write_json(path, value)
    return value


def _held_out_problems(paths: GRPOPaths, cfg: GRPOParams, names: list[str] | None,
                       seed: int) -> list[dict]:
    if cfg.eval_problems == 0:
        return []
    names = names or [p.stem for p in problem_files(paths.problems, None)]
    files = [paths.benchmarks / f"{n}.jsonl" for n in names]
    pool = load_problem_list(paths.benchmarks, [f.stem for f in files if f.is_file()]) \
        if any(f.is_file() for f in files) else []
    return candidates(pool, cfg.eval_problems, seed)


def _guard_problems(paths: GRPOPaths, cfg: GRPOParams, seed: int) -> list[dict]:
    """The held-out guard's problems: a seeded sample of its benchmark's test problems."""
    guard = cfg.held_out
    if guard.problems == 0:
        return []
    file = paths.benchmarks / f"{guard.benchmark}.jsonl"
    if not file.is_file():
        raise DataFileError(f"{file}: no such benchmark file (grpo.held_out.benchmark is "
                            f"{guard.benchmark!r}); add it to data.benchmarks and run the download "
                            "stage, or set grpo.held_out.problems: 0")
    return candidates(load_problem_list(paths.benchmarks, [guard.benchmark]), guard.problems, seed)


def _solver_rows(cfg: GRPOParams, params: Params, paths: GRPOPaths, model, tokenizer,
                 scratch: Path, problems: list[dict], engine=None
                 ) -> tuple[list[dict], dict, dict[str, float], dict | None]:
    """(training rows, curriculum counts, measured pass rates by problem id, format counts).

    With ``curriculum.refresh`` the rows are every measured candidate, the selection first:
    the live pool starts the others cooling (never solved) or retired (always solved).
    """
    format_check = None
    if "format" in cfg.rewards:
        check = build_rewards({"format": cfg.rewards["format"].options})[0]
        format_check = lambda texts: [score > 0 for score in check(texts)]  # noqa: E731

    def measure(pool):
        return measure_pass_rates(model, tokenizer, pool, k=cfg.curriculum.k,
                                  temperature=cfg.temperature,
                                  max_new_tokens=cfg.max_completion_length, seed=params.seed,
                                  engine=engine, format_check=format_check)

    def run_curriculum():
        selection = select_problems(problems, cfg.curriculum, params.seed, measure=measure)
        rates = selection.pass_rates
        formatted = None
        if rates and all("formatted" in r for r in rates):
            formatted = {"samples": sum(r["k"] for r in rates),
                         "formatted": sum(r["formatted"] for r in rates)}
        return {"ids": [p["id"] for p in selection.problems], "pass_rates": rates,
                "counts": selection.counts, "format": formatted}

    chosen = _cached(scratch / "curriculum.json", run_curriculum)
    if is_main_process():
        write_jsonl(paths.grpo_data / "pass_rates.jsonl", chosen["pass_rates"])
    by_id = {p["id"]: p for p in problems}
    rows = [prompt_row(by_id[i]) for i in chosen["ids"]]
    counts = dict(chosen["counts"])
    if not rows:
        raise CurriculumError(
            f"grpo.curriculum kept no problems ({json.dumps(counts)}); widen "
            "min_pass_rate/max_pass_rate, raise candidates, or start from a stronger model")
    rates = {r["problem_id"]: r["pass_rate"] for r in chosen["pass_rates"]}
    if cfg.curriculum.refresh:
        kept = set(chosen["ids"])
        rows += [prompt_row(by_id[r["problem_id"]]) for r in chosen["pass_rates"]
                 if r["problem_id"] not in kept]
    return rows, counts, rates, chosen.get("format")


def format_rule(cfg: GRPOParams, measured: dict | None) -> dict[str, Any]:
    """Whether the format reward still counts, by the measured rule (docs/grpo.md).

    The start model's format rate is the share of the curriculum's samples (k per candidate,
    at the training temperature) that the format reward accepts. At or above
    ``format_reward_off_at`` nearly every completion earns it, so it adds a near-constant to
    each group: its weight becomes 0 (it is still computed, and logged as a monitor).
    """
    spec = cfg.rewards.get("format")
    if spec is None:
        return {"decision": "absent"}
    threshold = cfg.format_reward_off_at
    rule: dict[str, Any] = {"threshold": threshold, "configured_weight": spec.weight}
    if measured is None or not measured["samples"]:
        return {**rule, "rate": None, "weight": spec.weight,
                "decision": "kept: not measured (no pass-rate curriculum samples)"}
    rate = round(measured["formatted"] / measured["samples"], 4)
    rule.update(rate=rate, samples=measured["samples"])
    if threshold is not None and rate >= threshold:
        return {**rule, "weight": 0.0, "decision": f"off: start format rate {rate} >= {threshold}"}
    return {**rule, "weight": spec.weight,
            "decision": "kept" + ("" if threshold is None else f": start format rate {rate} < {threshold}")}


def _verifier_rows(cfg: GRPOVerifierParams, params: Params, model, tokenizer, scratch: Path,
                   problems: list[dict]) -> tuple[list[dict], list[dict], dict]:
    def build():
        pool = candidates(problems, cfg.problems, params.seed)
        texts = sample(model, tokenizer, [solve_messages(p) for p in pool], n=cfg.solver_samples,
                       temperature=cfg.temperature, max_new_tokens=cfg.max_completion_length,
                       seed=params.seed)
        verdicts = grade_rows(pool, texts)
        rows = build_verification_rows(pool, texts, verdicts,
                                       reference_solutions=cfg.reference_solutions,
                                       seed=params.seed)
        held_ids = {p["id"] for p in pool[:max(1, min(cfg.eval_problems, len(pool) // 4))]} \
            if cfg.eval_problems else set()
        return {"train": [r for r in rows if r["problem_id"] not in held_ids],
                "held_out": [r for r in rows if r["problem_id"] in held_ids],
                "counts": {"problems": len(pool), "solver_samples": sum(map(len, texts)),
                           "solver_correct": sum(sum(v) for v in verdicts),
                           "examples": len(rows)}}

    data = _cached(scratch / "verification.json", build)
    if not data["train"]:
        raise CurriculumError("grpo_verifier: no verification examples to train on")
    return (verdict_prompts(data["train"], tokenizer), verdict_prompts(data["held_out"], tokenizer),
            data["counts"])


def _verifier_accuracy(model, tokenizer, rows: list[dict], max_new_tokens: int, seed: int) -> dict:
    if not rows:
        return {"n": 0, "accuracy": None}
    texts = sample(model, tokenizer, [r["prompt"] for r in rows], n=1, temperature=0.0,
                   max_new_tokens=max_new_tokens, seed=seed)
    return verdict_accuracy([t[0] for t in texts], [r["label"] for r in rows])


@contextmanager
def _lora_engine(backend: str, start_dir: Path, cfg: GRPOParams, scratch: Path):
    """The run's vLLM LoRA engine for backend ``vllm_lora`` (else None), closed at the end."""
    if backend != "vllm_lora":
        yield None
        return
    engine = LoraEngine(start_dir, max_lora_rank=cfg.lora.r, scratch=scratch,
                        max_model_len=cfg.max_prompt_length + cfg.max_completion_length)
    try:
        yield engine
    finally:
        engine.close()


def run_grpo_stage(params: Params, paths: GRPOPaths = GRPOPaths(), *, stage: str = "grpo",
                   keep_checkpoints: bool = False, extra_callbacks: list | None = None
                   ) -> tuple[GRPOResult, dict[str, Any]]:
    """Run ``stage`` ("grpo" or "grpo_verifier") end to end; returns the result and metrics."""
    cfg: GRPOParams = getattr(params, stage)
    if cfg.seed is not None:  # a GRPO seed sweep from one SFT start: only this stage re-runs
        params = dataclasses.replace(params, seed=cfg.seed)
    verifier = stage == "grpo_verifier"
    precision = resolve_precision(cfg.precision)
    benchmarks, profile_counts = cfg.benchmarks, None
    if cfg.curriculum.profile:
        names = cfg.benchmarks or [p.stem for p in problem_files(paths.problems, None)]
        benchmarks, profile_counts = apply_profile(names, cfg.curriculum.profile)
    model, tokenizer, start_dir = load_start_model(cfg.init, paths.models, precision)
    model = model.to(local_device())  # the curriculum and held-out sampling run before TRL moves it
    backend = resolve_backend(cfg.generation.backend, mode=cfg.mode, start_dir=start_dir)
    files = problem_files(paths.problems, benchmarks)
    extra_files = problem_files(paths.extra_problems, cfg.extra_tasks, field="grpo.extra_tasks") \
        if cfg.extra_tasks else []
    hashes = {"params_hash": params_hash(cfg, {"seed": params.seed}),
              "data_hash": data_hash(*files, *extra_files), "start_model_hash": data_hash(start_dir)}
    fingerprint = "-".join(hashes.values())
    scratch = paths.checkpoints(stage)
    resuming = prepare_checkpoint_dir(scratch, fingerprint) is not None
    problems = load_problem_list(paths.problems, benchmarks)
    extra = {file.stem: load_problem_list(paths.extra_problems, [file.stem]) for file in extra_files}
    source = {p["id"]: p["source"] for p in problems}  # the pool counts its states per source
    for name, records in extra.items():
        clash = next((p["id"] for p in records if p["id"] in source), None)
        if clash is not None:
            raise DataFileError(f"{paths.extra_problems / name}.jsonl: problem id {clash!r} is "
                                "already a training problem's; re-run the download stage")
        source.update({p["id"]: name for p in records})
    tags = {"git_commit": git_commit(), **hashes, "init": cfg.init,
            "role": "verifier" if verifier else "solver"}

    with _lora_engine(backend, start_dir, cfg, scratch) as engine, \
            stage_run(params.tracking, stage, params={stage: cfg, "seed": params.seed},
                      tags=tags) as run:
        guard_tokens = cfg.held_out.max_new_tokens or cfg.max_completion_length
        if verifier:
            rows, held_rows, counts = _verifier_rows(cfg, params, model, tokenizer, scratch, problems)
            rewards = [verdict_reward(**cfg.verdict_rewards)]
            weights = [1.0]
            check = lambda m: {"tasks": _verifier_accuracy(  # noqa: E731
                m, tokenizer, held_rows, cfg.max_completion_length, params.seed)}
            rates, format_measured, guard_problems, held = {}, None, [], []
        else:
            guard_problems = _guard_problems(paths, cfg, params.seed)  # a missing file: stop now
            rows, counts, rates, format_measured = _solver_rows(
                cfg, params, paths, model, tokenizer, scratch, problems, engine)
            # unmeasured: the live pool starts them active
            rows += [prompt_row(p) for records in extra.values() for p in records]
            held = _held_out_problems(paths, cfg, benchmarks, params.seed)
            check = functools.partial(_solver_checks, tokenizer=tokenizer, tasks=held,
                                      tasks_tokens=cfg.max_completion_length,
                                      guard=guard_problems, guard_tokens=guard_tokens,
                                      seed=params.seed, engine=engine)
            rewards, weights = [], []
        if profile_counts is not None:
            counts["profile"] = profile_counts
        rule = format_rule(cfg, format_measured)
        if cfg.rewards:
            rewards += build_rewards({name: spec.options for name, spec in cfg.rewards.items()})
            weights += [rule["weight"] if name == "format" else spec.weight
                        for name, spec in cfg.rewards.items()]
        rows, too_long = drop_long_prompts(rows, tokenizer, cfg.max_prompt_length)
        counts["dropped_too_long"] = too_long
        if not rows:
            raise CurriculumError(f"{stage}: every prompt is longer than max_prompt_length "
                                  f"({cfg.max_prompt_length} tokens)")
        pool = None
        if cfg.curriculum.refresh:
            cur = cfg.curriculum
            pool = ProblemPool([r["problem_id"] for r in rows], seed=params.seed,
                               retire_after=cur.retire_after, cooldown_steps=cur.cooldown_steps,
                               initial_rates=rates, min_rate=cur.min_pass_rate,
                               max_rate=cur.max_pass_rate,
                               sources=[source[r["problem_id"]] for r in rows],
                               reserve=[cfg.extra_tasks_draw == "reserve"
                                        and source[r["problem_id"]] in extra for r in rows])
            counts["pool_start"] = pool.summary()
            if extra:  # extra tasks need the live pool, which counts each source's problems
                by_source = counts["pool_start"]["by_source"]
                by_task = {name: by_source.get(name, {}).get("problems", 0) for name in cfg.extra_tasks}
                counts["extra_tasks"] = {"problems": sum(by_task.values()), "of_pool": len(rows),
                                         "by_task": by_task}
        elif len(rows) < cfg.prompts_per_step:  # TRL's sampler would make no batch: 0 steps
            raise CurriculumError(
                f"{stage}: {len(rows)} training prompts, fewer than prompts_per_step "
                f"({cfg.prompts_per_step}), so TRL would train no step ({json.dumps(counts)}); "
                "raise curriculum.candidates, widen the pass-rate window, lower "
                "prompts_per_step, or set curriculum.refresh: true (the live pool repeats "
                "problems)")
        # the held-out checks during training, every held_out.every steps: the guard's
        # benchmark and the training tasks' test problems (the verifier has none)
        guard = HeldOutGuard(check, cfg.held_out.every) if held or guard_problems else None

        at_start = functools.cache(lambda: check(model))  # the first read runs both sets
        start_eval = _cached(scratch / "start_eval.json", lambda: at_start()["tasks"])
        start = {"tasks": start_eval}
        if guard_problems:
            guard_start = start["guard"] = _cached(scratch / "start_guard.json",
                                                   lambda: at_start()["guard"])

        callbacks = list(extra_callbacks or [])
        live = dvclive_callback(paths.dvclive / stage, resume=resuming) if is_main_process() else None
        if live is not None:  # None where dvclive is not installed (a bare GPU node)
            callbacks.append(live)
        if guard is not None:  # the curves begin at step 0 (a resumed run's DVCLive has it)
            _log_check(live if not resuming else None, run, 0, check_logs(start))
        format_guard = None
        # a guard where the rule turned a weighted format reward off: a weight to give back
        if (rule.get("weight") == 0.0 and rule.get("configured_weight")
                and cfg.format_reward_restore_window):
            format_guard = FormatGuard(weight=rule["configured_weight"], threshold=rule["threshold"],
                                       window=cfg.format_reward_restore_window)
        trainer, plan, precision, backend = build_grpo_trainer(
            model=model, tokenizer=tokenizer, train_rows=rows, cfg=cfg, reward_funcs=rewards,
            reward_weights=weights, checkpoint_dir=scratch, seed=params.seed,
            backend=cfg.generation.backend, report_to=["mlflow"] if run is not None else [],
            callbacks=callbacks, run_name=stage, lora_engine=engine, pool=pool,
            held_out_guard=guard, format_guard=format_guard)
        result = train_grpo(trainer=trainer, tokenizer=tokenizer, cfg=cfg,
                            output_dir=paths.output(stage), checkpoint_dir=scratch,
                            fingerprint=fingerprint, plan=plan, precision=precision,
                            backend=backend, keep_checkpoints=keep_checkpoints)
        end = check(trainer.model)
        end_eval, guard_end = end["tasks"], end.get("guard")
        steps = int(result.metrics["steps"])
        if guard is not None:
            _log_check(live, run, steps, check_logs(end))
        curves = result.metrics["curves"]
        if pool is not None:
            counts["pool_end"] = pool.summary()
        metrics: dict[str, Any] = {
            **{k: v for k, v in result.metrics.items() if k != "curves"},
            "init": cfg.init, "mode": cfg.mode, "beta": cfg.beta, "loss_type": cfg.loss_type,
            "train_prompts": len(rows), "curriculum": counts,
            "format_reward": {**rule, **({"guard": format_guard.summary()} if format_guard else {})},
            "dynamic_sampling": dynamic_summary(cfg.dynamic_sampling, curves,
                                                result.metrics["completions_per_step"]),
            "held_out_before": start_eval, "held_out_after": end_eval,
            "held_out_accuracy_before": start_eval.get("accuracy"),
            "held_out_accuracy_after": end_eval.get("accuracy"),
        }
        if mix := task_mix_summary(curves):
            metrics["task_mix"] = mix
        if held:
            metrics["held_out_tasks"] = tasks_report(cfg, start_eval, end_eval, curves, steps)
        if guard_problems:
            metrics["held_out_guard"] = guard_report(cfg, guard_start, guard_end, curves, steps)
            metrics["held_out_guard_accuracy_before"] = guard_start["accuracy"]
            metrics["held_out_guard_accuracy_after"] = guard_end["accuracy"]
        metrics.update({"curves": curves, **hashes, "git_commit": tags["git_commit"]})
        if run is None:
            return result, metrics
        import mlflow

        mlflow.log_metrics({k: float(v) for k, v in metrics.items()
                            if isinstance(v, (int, float)) and not isinstance(v, bool)})
        version = register_checkpoint(
            result.output_dir, getattr(params.tracking.registered_models, stage), tags=tags,
            log_files=params.tracking.log_model_files,
            description=f"{stage}: init {cfg.init}, {metrics['steps']} steps")
        metrics.update({"registered_model": version.name, "registered_version": version.version,
                        "mlflow_run_id": version.run_id})
    write_json(paths.metrics / f"{stage}.json", metrics)
    guard_line = ""
    if "held_out_guard" in metrics:
        guard_line = (f", {cfg.held_out.benchmark} {metrics['held_out_guard_accuracy_before']} -> "
                      f"{metrics['held_out_guard_accuracy_after']}")
    print(f"[{stage}] reward {metrics.get('reward_first')} -> {metrics.get('reward_last')}, "
          f"{zero_variance_line(metrics)}, held-out accuracy "
          f"{metrics['held_out_accuracy_before']} -> {metrics['held_out_accuracy_after']}"
          f"{guard_line}; sampling {metrics.get('generation_tokens_per_s')} tokens/s, training "
          f"{metrics.get('training_tokens_per_s')} tokens/s; "
          f"registered {version.name} v{version.version} @{version.alias}")
    return result, metrics


def zero_variance_line(metrics: dict) -> str:
    """The console's zero-variance share, on the metric the report uses: dynamic sampling's
    (drawn and trained) when it ran, else TRL's share on the weighted reward; each named."""
    dynamic = metrics.get("dynamic_sampling") or {}
    if dynamic.get("enabled") and dynamic.get("zero_std_before_mean") is not None:
        return (f"zero-variance groups on {dynamic['metric']} {dynamic['zero_std_before_mean']} drawn, "
                f"{dynamic['zero_std_trained_mean']} trained")
    return f"zero-variance groups on the weighted reward {metrics.get('frac_reward_zero_std_mean')}"


def _solver_checks(m, *, tokenizer, tasks: list[dict], tasks_tokens: int, guard: list[dict],
                   guard_tokens: int, seed: int, engine=None) -> dict[str, dict]:
    """Greedy held-out accuracy of ``m``: ``"tasks"`` (the training benchmarks' test problems,
    at ``max_completion_length``) and, with a guard, ``"guard"``; one generation call for
    the checks of each token budget (both together where their budgets match)."""
    checks = {"tasks": (tasks, tasks_tokens), **({"guard": (guard, guard_tokens)} if guard else {})}
    out: dict[str, dict] = {}
    for tokens in dict.fromkeys(budget for _, budget in checks.values()):
        names = [name for name, (_, budget) in checks.items() if budget == tokens]
        found = held_out_accuracies(m, tokenizer, [checks[name][0] for name in names],
                                    max_new_tokens=tokens, seed=seed, engine=engine)
        out.update(zip(names, found))
    return out


def _log_check(live, run, step: int, logs: dict[str, float]) -> None:
    """The start or end check's logs at ``step``, where training's log calls do not reach
    (the start is before the first step, the end is measured on the saved model): a DVCLive
    row each (``live``: the stage's callback, or None) and MLflow metrics (``run``: the
    stage's run, or None), so both draw each held-out curve from step 0 to the last step."""
    if not logs:
        return
    if live is not None and live.live is not None:
        live.live.step = step
        for key, value in logs.items():
            live.live.log_metric(key, value)
        live.live.make_summary()
    if run is not None:
        import mlflow

        mlflow.log_metrics(logs, step=step)


def check_curve(curves: dict, key: str, start: dict, end: dict, steps: int) -> dict:
    """A held-out curve: ``{"step", "accuracy"}`` at step 0 (``start``), every logged check
    (``curves[key]``, None on the steps between checks) and the last step (``end``)."""
    logged = [(s, a) for s, a in zip(curves.get("step", []), curves.get(key, [])) if a is not None]
    points = [(0, start["accuracy"]), *logged, (steps, end["accuracy"])]
    return {"step": [s for s, _ in points], "accuracy": [a for _, a in points]}


def tasks_report(cfg: GRPOParams, start: dict, end: dict, curves: dict, steps: int) -> dict:
    """metrics/grpo.json's held-out curve on the training tasks: the same ``eval_problems``
    test problems of the training benchmarks at the start, every ``held_out.every`` steps and
    the end (the start and end results themselves are ``held_out_before``/``after``)."""
    return {"n": start["n"], "every": cfg.held_out.every, "seconds_per_check": end.get("seconds"),
            "curve": check_curve(curves, "held_out/tasks_accuracy", start, end, steps)}


def guard_report(cfg: GRPOParams, start: dict, end: dict, curves: dict, steps: int) -> dict:
    """metrics/grpo.json's held-out guard: the curve (start, every N steps, end) and which
    problems the start solved that the end lost, and the reverse."""
    start_ids, end_ids = set(start.get("correct_ids", [])), set(end.get("correct_ids", []))
    return {"benchmark": cfg.held_out.benchmark, "n": start["n"], "every": cfg.held_out.every,
            "start": start, "end": end, "seconds_per_check": end.get("seconds"),
            "curve": check_curve(curves, "held_out/accuracy", start, end, steps),
            "lost": sorted(start_ids - end_ids), "gained": sorted(end_ids - start_ids)}


def read_pass_rates(path: Path) -> list[dict]:
    """The measured pass rates the grpo stage wrote (for inspection and tests)."""
    if not path.is_file():
        raise DataFileError(f"{path}: no pass rates; run the grpo stage with curriculum.mode pass_rate")
    return read_jsonl(path)
