"""Offline recipe: which SFT and GRPO settings pay off inside the 2-core CPU budget.

An experiment, not a speed benchmark. The question: with the offline data
(SmolLM2-135M-Instruct; basic_arithmetic, chain_sum, products, lcm + CHAMP), can base 4-shot
< SFT < GRPO, each step significant, fit the budget of 2 CPU cores (the cpu_ablation
profile's sizes, `PROFILE`)? It searches the knobs on a GPU, holding each stage to what the
CPU can afford:

- SFT (full fine-tuning): at most SFT_TOKEN_BUDGET training tokens, padding included
  (examples x epochs x padded length); free: learning rate, batch size, epochs, schedule.
- GRPO from the best SFT model: at most GRPO_COMPLETION_BUDGET sampled training completions
  of <= 96 tokens (steps x prompts x K; the pass-rate curriculum's k x candidates samples are
  counted apart); free: LoRA vs full, learning rate, beta, K, temperature, loss, curriculum.

It runs the project's own code paths: ``slm_math.training.sft.train_sft`` (TRL SFTTrainer)
on ``load_sft_examples``/``split_held_out``, ``slm_math.training.grpo.build_grpo_trainer``/
``train_grpo`` (TRL GRPOTrainer) with ``grpo_data.select_problems`` and the rewards of
params.yaml, and the ``standard`` agent with ``evaluate_cell`` (graded by the project's
grader) for evaluation. Each section is params.yaml's ``sft_full`` / ``grpo`` with overrides,
so a winning row is a params change. As on the CPU, weights stay fp32 and train under bf16
autocast (the stages' ``bf16_mixed``), not bf16 weights.

Evaluation: greedy, zero-shot, the standard prompt, 256 new tokens, the first ``--limit``
(100) test problems of basic_arithmetic, chain_sum, products and lcm (the pooled 400 the
p-values use) and all of CHAMP (reported apart); base 4-shot is the ``fewshot`` agent
(4 worked examples from ``select_fewshot``, CHAMP borrowing "mixed"). McNemar exact p:
each SFT run against base 4-shot (and zero-shot), each GRPO run against its SFT start.

Run on a GPU machine from the repo root, with the base model converted to a folder and
the pipeline's data/ (train, benchmarks, cot/verified.jsonl); the GPU needs trl 1.16,
datasets 5.2 (+ dill, multiprocess), math-verify 0.9 (+ latex2sympy2_extended,
antlr4-python3-runtime), gguf 0.19 and transformers 5.19 (carried as wheels)::

    python -c "from pathlib import Path; from slm_math.base_model import load_gguf_as_plain_model as l
    m, t = l(Path('/tmp/g'), 'SmolLM2-135M-Instruct.Q4_1.gguf'); m.save_pretrained('/tmp/base')
    t.save_pretrained('/tmp/base')"
    python experiments/offline_recipe.py --model-dir /tmp/base --data data --work /tmp/recipe \
        --out $OUT --deadline 470 --phases base,sft      # minutes on one GPU
    python experiments/offline_recipe.py --model-dir /tmp/base --data data --work /tmp/recipe \
        --out $OUT --deadline 480 --phases grpo          # GRPO from the best SFT run, a minute or so a
                                                         # config; a rerun skips configs done
    python experiments/offline_recipe.py --tiny ...       # smoke run: 4 problems, 1-2 steps

The state (results.json, texts.jsonl.gz, models) lives in --work, so a later call on the
same machine continues; the deadline stops starting configs after that many seconds.
Here, on the dev machine, with the two files that came back::

    python experiments/offline_recipe.py --show offline_recipe.json --write   # table + results file
    python experiments/offline_recipe.py --grade offline_recipe-texts.jsonl.gz \
        --show experiments/results/offline_recipe.json --data data   # re-grade here (math-verify)

Writes experiments/results/offline_recipe.json (``--out`` elsewhere): machine facts, the
budgets, every config with its params overrides, steps, tokens or completions, accuracy per
benchmark, pooled (the 4 tasks) and with CHAMP, correctness vectors and p-values.

Trace variants (``--name offline_recipe_lcm``, experiments/results/offline_recipe_lcm.json):
the same SFT config trained on other verified.jsonl files, each ``--variant NAME=DIR`` a data
folder with train/ and cot/verified.jsonl (its train/ also gives its base 4-shot examples:
``base-fewshot-NAME``), ``--sft-seeds`` repeating each SFT config per seed (``-sSEED`` runs).
Each SFT run is tested against both variants' base 4-shot and against the same config and
seed on the first variant; GRPO starts from the seed-42 run of the (config, variant) with the
best mean pooled accuracy over its seeds. ``--rewrite-lcm SRC DST`` makes such a folder: SRC's
train/, benchmarks/ and cot/verified.jsonl with every lcm problem's solution and reference
trace rewritten by ``worked_lcm_solution`` below (the worked multiples; measured worse, so the
pipeline's ``reasoning_gym_source.reference_solution`` keeps the answer-only line)::

    python experiments/offline_recipe.py --rewrite-lcm data /tmp/data_lcm
    python experiments/offline_recipe.py --name offline_recipe_lcm --model-dir /tmp/base \
        --data data --variant cur=data --variant lcm=/tmp/data_lcm --sft-seeds 42,7,1234 \
        --only base-fewshot,sft-today,grpo-today-12-c96 --work /tmp/recipe --out $OUT

``--drop-traces SRC DST SOURCES`` makes a folder of SRC's train/ and benchmarks/ (so its
base 4-shot examples are SRC's) and SRC's cot/verified.jsonl without the traces of the
comma-separated sources (``--name offline_recipe_nolcm``: SFT without the answer-only lcm
traces; max_examples then draws its 256 from the other tasks' traces alone)::

    python experiments/offline_recipe.py --drop-traces data /tmp/data_nolcm lcm
    python experiments/offline_recipe.py --name offline_recipe_nolcm --model-dir /tmp/base \
        --data data --variant cur=data --variant nolcm=/tmp/data_nolcm --sft-seeds 42,7,1234 \
        --only base-fewshot,sft-today,grpo-today-12-c96 --grpo-start sft-today-nolcm ...
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import shutil
import sys
import time
import traceback
from pathlib import Path

ROOT = Path.cwd() if (Path.cwd() / "slm_math").is_dir() else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.common import pp  # noqa: E402

PROFILE = "cpu_ablation"
"""The params these searches start from: the CPU sizes they ran at (SFT on 256 traces with 16
held-out problems, GRPO's 24 curriculum candidates), not the time-sized CPU default."""

SEED = 42
SFT_TOKEN_BUDGET = 45_000
GRPO_COMPLETION_BUDGET = 200
TASKS = ["basic_arithmetic", "chain_sum", "products", "lcm"]
# What each experiment asked and how it was set up. No measured number is typed here:
# `findings` computes the results from the runs, so a rerun or a re-grade updates them.
SETUP = {
    "offline_recipe": [
        "Question: which SFT and GRPO settings pay off inside the 2-core CPU budget "
        "(SFT_TOKEN_BUDGET padded training tokens, GRPO_COMPLETION_BUDGET sampled completions)?",
        "SFT data: slm_math.teacher.reference.reference_trace for every train problem (the "
        "offline cascade's last teacher); data/train and data/benchmarks are the pipeline's.",
        "Eval on the GPU: fp32 weights, the hf backend's static CUDA-graph decoder, greedy; the "
        "stages' eval on the CPU (vLLM) may differ on a few problems.",
        "GRPO sampled with generation.backend 'trl' (TRL's generate, as on the CPU): the "
        "cuda_graph decoder's fp32 static cache rejects the bf16 keys autocast produces.",
        "Selection: the SFT configs share one baseline; sft-today (the params of the time) was "
        "fixed in advance, the others' p-values are uncorrected.",
    ],
    "offline_recipe_lcm": [
        "Question: does a worked lcm trace (the multiples of the largest number, then "
        "'q * n = lcm', then 'lcm(a, b) = lcm'; worked_lcm_solution) instead of the answer-only "
        "'lcm(a, b) = lcm' stop SFT losing lcm accuracy? Variant cur: the pipeline's "
        "data/cot/verified.jsonl; variant lcm: the same with every lcm trace and train solution "
        "rewritten (--rewrite-lcm), so base-fewshot-lcm's lcm examples are worked ones.",
        "SFT: sft_full's params of the time per seed; p-values per seed, uncorrected. GRPO "
        "starts from the seed-42 run of the variant with the better mean pooled accuracy.",
        "Eval as in offline_recipe.json: fp32, greedy, the hf backend's CUDA-graph decoder.",
    ],
    "offline_recipe_nolcm": [
        "Question: does SFT lose less on lcm without the answer-only lcm traces, on the three "
        "expression tasks' traces alone? Variant cur: data/ of a pipeline run; variant nolcm: "
        "the same with the lcm traces dropped (--drop-traces data DST lcm); train/ is "
        "unchanged, so base-fewshot-nolcm repeats base-fewshot-cur (a determinism check).",
        "SFT: sft_full's params of the time per seed (nolcm draws its max_examples from the "
        "other tasks' traces alone); p-values per seed, uncorrected.",
        "Eval as in offline_recipe_lcm.json (fp32, greedy, CUDA-graph decoder).",
    ],
}
HARD = ["champ"]

# name -> (sft_full overrides; "examples" is decided by the token budget unless given)
SFT_GRID = {
    "sft-today": {"learning_rate": 5e-5, "effective_batch_size": 16, "epochs": 1,
                  "max_examples": 256},                                   # committed params
    "sft-lr5e-5-b16": {"learning_rate": 5e-5, "effective_batch_size": 16, "epochs": 1},
    "sft-lr1e-4-b16": {"learning_rate": 1e-4, "effective_batch_size": 16, "epochs": 1},
    "sft-lr2e-4-b16": {"learning_rate": 2e-4, "effective_batch_size": 16, "epochs": 1},
    "sft-lr4e-4-b16": {"learning_rate": 4e-4, "effective_batch_size": 16, "epochs": 1},
    "sft-lr1e-4-b8": {"learning_rate": 1e-4, "effective_batch_size": 8, "epochs": 1},
    "sft-lr2e-4-b8": {"learning_rate": 2e-4, "effective_batch_size": 8, "epochs": 1},
    "sft-lr4e-4-b8": {"learning_rate": 4e-4, "effective_batch_size": 8, "epochs": 1},
    "sft-lr2e-4-b16-e2": {"learning_rate": 2e-4, "effective_batch_size": 16, "epochs": 2},
    "sft-lr2e-4-b8-const": {"learning_rate": 2e-4, "effective_batch_size": 8, "epochs": 1,
                            "scheduler": "constant_with_warmup"},
}

# generation "trl" (TRL's generate, as on the CPU): the static CUDA-graph decoder's fp32
# cache does not take the bf16 keys that autocast makes
_G = {"benchmarks": TASKS, "max_completion_length": 96, "curriculum": {"profile": None},
      "generation": {"backend": "trl"}}
# name -> grpo overrides (from the best SFT run); 12 x 4 x K=4 = 192 training completions
GRPO_GRID = {
    "grpo-today-12": {"mode": "lora", "learning_rate": 5e-5, "beta": 0.04, "max_steps": 12},
    "grpo-lora5e-4-b0": {"mode": "lora", "learning_rate": 5e-4, "beta": 0.0, "max_steps": 12},
    "grpo-lora1e-3-b0": {"mode": "lora", "learning_rate": 1e-3, "beta": 0.0, "max_steps": 12},
    "grpo-full5e-6-b0": {"mode": "full", "learning_rate": 5e-6, "beta": 0.0, "max_steps": 12},
    "grpo-full2e-5-b0": {"mode": "full", "learning_rate": 2e-5, "beta": 0.0, "max_steps": 12},
    "grpo-full1e-5-b0-k8": {"mode": "full", "learning_rate": 1e-5, "beta": 0.0, "max_steps": 12,
                            "num_generations": 8, "prompts_per_step": 2},
    "grpo-lora5e-4-b0-t07": {"mode": "lora", "learning_rate": 5e-4, "beta": 0.0, "max_steps": 12,
                             "temperature": 0.7},
    "grpo-lora5e-4-b0-nocur": {"mode": "lora", "learning_rate": 5e-4, "beta": 0.0,
                               "max_steps": 12, "curriculum": {"mode": "none",
                                                               "candidates": None}},
    "grpo-lora5e-4-b0-grpoloss": {"mode": "lora", "learning_rate": 5e-4, "beta": 0.0,
                                  "max_steps": 12, "loss_type": "grpo"},
    "grpo-lora5e-4-b04": {"mode": "lora", "learning_rate": 5e-4, "beta": 0.04, "max_steps": 12},
    "grpo-lora1e-4-b0": {"mode": "lora", "learning_rate": 1e-4, "beta": 0.0, "max_steps": 12},
    "grpo-lora2e-4-b0": {"mode": "lora", "learning_rate": 2e-4, "beta": 0.0, "max_steps": 12},
    "grpo-full2e-6-b0": {"mode": "full", "learning_rate": 2e-6, "beta": 0.0, "max_steps": 12},
    "grpo-today-12-s2": {"mode": "lora", "learning_rate": 5e-5, "beta": 0.04, "max_steps": 12,
                         "seed": 7},
    "grpo-full2e-5-b0-s2": {"mode": "full", "learning_rate": 2e-5, "beta": 0.0, "max_steps": 12,
                            "seed": 7},
    "grpo-lora1e-3-b0-s2": {"mode": "lora", "learning_rate": 1e-3, "beta": 0.0, "max_steps": 12,
                            "seed": 7},
}
# a bigger pass-rate pool: 96 candidates x k=4 (384 curriculum samples, counted apart)
_C96 = {"curriculum": {"candidates": 96}}
GRPO_GRID.update({
    "grpo-today-12-c96": {**GRPO_GRID["grpo-today-12"], **_C96},
    "grpo-lora1e-4-b0-c96": {**GRPO_GRID["grpo-lora1e-4-b0"], **_C96},
    "grpo-lora5e-4-b0-c96": {**GRPO_GRID["grpo-lora5e-4-b0"], **_C96},
    "grpo-full2e-6-b0-c96": {**GRPO_GRID["grpo-full2e-6-b0"], **_C96},
    "grpo-full5e-6-b0-c96": {**GRPO_GRID["grpo-full5e-6-b0"], **_C96},
    "grpo-full1e-5-b0-k8-c96": {**GRPO_GRID["grpo-full1e-5-b0-k8"], **_C96},
    "grpo-today-12-c96-s2": {**GRPO_GRID["grpo-today-12-s2"], **_C96},
})


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(
            out.get(key), dict) else value
    return out


def patch_precision() -> None:
    """fp32 weights under bf16 autocast on the GPU, as the stages train on the CPU
    (``bf16_mixed`` there also forces the CPU, so precision 'fp32' + autocast here)."""
    import slm_math.training.grpo as grpo_mod
    import slm_math.training.sft as sft_mod

    sft_mod.uses_bf16_autocast = lambda precision: True
    grpo_mod.uses_bf16_autocast = lambda precision: True


# ---------------------------------------------------------------- evaluation
def load_tests(data: Path, limit: int, tiny: bool) -> dict[str, list[dict]]:
    from slm_math.evaluation.run import load_benchmarks

    out = load_benchmarks(TASKS, data / "benchmarks", 4 if tiny else limit)
    out.update(load_benchmarks(HARD, data / "benchmarks", 4 if tiny else None))
    return out


def evaluate(model, tokenizer, tests: dict, *, fewshot: dict | None, max_new: int,
             label: str) -> dict:
    """Greedy standard-agent answers, graded: {benchmark: {"correct": [...], "texts": [...]}}."""
    from slm_math.agents import build_agent
    from slm_math.evaluation.run import evaluate_cell
    from slm_math.generation import SamplingParams
    from slm_math.generation.hf import HFGenerator

    agent = build_agent("standard", sampling=SamplingParams(temperature=0.0, max_new_tokens=max_new,
                                                           seed=SEED), fewshot=fewshot or {})
    model.eval()
    generator = HFGenerator(model, tokenizer, batch_size=512, progress=False)
    rows = evaluate_cell(agent, generator, tests, model=label, agent_name="standard",
                         journal=None, chunk_size=100_000, progress=False)
    return {name: {"correct": [bool(r["correct"]) for r in rs],
                   "texts": [r["response"] for r in rs]} for name, rs in rows.items()}


def summarize(graded: dict) -> dict:
    acc = {name: round(sum(v["correct"]) / len(v["correct"]), 4) for name, v in graded.items()}
    pooled = [c for name in TASKS for c in graded[name]["correct"]]
    allc = pooled + [c for name in HARD for c in graded[name]["correct"]]
    acc["pooled4"] = round(sum(pooled) / len(pooled), 4)
    acc["all"] = round(sum(allc) / len(allc), 4)
    return acc


def vector(run: dict, which: str = "pooled4") -> list[bool]:
    names = TASKS if which == "pooled4" else TASKS + HARD if which == "all" else [which]
    return [c == "1" for name in names for c in run["correct"][name]]


def paired(a: dict, b: dict, per_benchmark: bool = False) -> dict:
    """McNemar exact of b against a, on the 4 tasks pooled and with CHAMP (and each one)."""
    from slm_math.evaluation.stats import mcnemar_exact

    out = {}
    for which in ("pooled4", "all", *(TASKS + HARD if per_benchmark else ())):
        test = mcnemar_exact(vector(a, which), vector(b, which))
        out[which] = {"n": test.n, "a_only": test.a_only, "b_only": test.b_only,
                      "delta": round(test.delta, 4), "p": float(f"{test.p_value:.3g}")}
    return out


_PARAMS_FILE: list[Path] = []


def recipe_params(overrides: dict | None = None):
    """Params of the `PROFILE` composition (conf/), with `overrides` per section."""
    import tempfile

    from slm_math.config import load_params
    from slm_math.config.profiles import composed_text

    if not _PARAMS_FILE:
        path = Path(tempfile.mkdtemp(prefix="offline_recipe-")) / "params.yaml"
        path.write_text(composed_text(ROOT, PROFILE))
        _PARAMS_FILE.append(path)
    return load_params(_PARAMS_FILE[0], overrides)


# ---------------------------------------------------------------- SFT
def example_lengths(tokenizer, examples: list[dict], max_length: int) -> list[int]:
    out = []
    for e in examples:
        ids = tokenizer.apply_chat_template(e["prompt"] + e["completion"], tokenize=True)
        if isinstance(ids, dict) or hasattr(ids, "input_ids"):
            ids = ids["input_ids"]
        out.append(min(len(ids), max_length))
    return out


def padded_tokens(lengths: list[int], per_device: int, epochs: int, draws: int = 20) -> float:
    """Expected tokens processed, padding included: each micro-batch padded to its longest."""
    total = 0.0
    rng = random.Random(SEED)
    for _ in range(draws):
        for _ in range(epochs):
            order = lengths[:]
            rng.shuffle(order)
            total += sum(max(order[i:i + per_device]) * len(order[i:i + per_device])
                         for i in range(0, len(order), per_device))
    return total / draws


def budget_examples(lengths: list[int], batch: int, per_device: int, epochs: int) -> int:
    """The most examples (a multiple of the batch) whose padded tokens fit the budget."""
    best = batch
    for n in range(batch, len(lengths) + 1, batch):
        if padded_tokens(lengths[:n], per_device, epochs, draws=5) > SFT_TOKEN_BUDGET:
            break
        best = n
    return best


def run_sft(name: str, spec: dict, *, base_dir: Path, data: Path, work: Path, tiny: bool,
            examples_all: list[dict], tokenizer) -> dict:
    from slm_math.training.sft import train_sft
    from slm_math.training.sft_data import split_held_out

    spec = dict(spec)
    seed = int(spec.pop("seed", SEED))
    batch = spec["effective_batch_size"]
    epochs = int(spec.get("epochs", 1))
    overrides = {"precision": "fp32", "per_device_batch_size": min(8, batch),
                 "save_steps": 100_000, "max_steps": -1, **spec}
    base_cfg = recipe_params().sft_full
    # the examples the stage would train on (held-out problems removed, seeded shuffle)
    pool, _ = split_held_out(examples_all, base_cfg.eval_problems, seed)
    lengths = example_lengths(tokenizer, pool, base_cfg.max_length)
    if tiny:
        overrides.update(max_examples=16, max_steps=1)
    elif "max_examples" not in spec:
        overrides["max_examples"] = budget_examples(lengths, batch, overrides["per_device_batch_size"],
                                                    epochs)
    params = recipe_params({"sft_full": overrides})
    cfg = params.sft_full
    train, held = split_held_out(examples_all, cfg.eval_problems, seed, max_examples=cfg.max_examples)
    est = padded_tokens(lengths[:len(train)], cfg.per_device_batch_size, epochs)
    out_dir = work / "models" / name
    start = time.perf_counter()
    result = train_sft(base_model=base_dir, train_examples=train, eval_examples=[], cfg=cfg,
                       mode="full", output_dir=out_dir, checkpoint_dir=work / "ckpt" / name,
                       seed=seed, fingerprint=name)
    m = result.metrics
    return {"overrides": {k: v for k, v in overrides.items() if k != "precision"},
            "seed": seed, "examples": len(train), "epochs": epochs, "steps": m["steps"],
            "tokens_non_padding": m["tokens_seen"], "tokens_padded_est": int(est),
            "final_loss": round(m["final_loss"], 4) if m["final_loss"] is not None else None,
            "train_s": round(time.perf_counter() - start, 1),
            "model_dir": str(out_dir.relative_to(work))}


# ---------------------------------------------------------------- GRPO
def run_grpo(name: str, spec: dict, *, start_dir: Path, data: Path, work: Path,
             tiny: bool) -> tuple[dict, object, object]:
    from slm_math.grading.rewards import build_rewards
    from slm_math.training.grpo import build_grpo_trainer, train_grpo
    from slm_math.training.grpo_data import (drop_long_prompts, load_problem_list, prompt_row,
                                             select_problems)
    from slm_math.training.grpo_sampling import measure_pass_rates
    from slm_math.training.model_loading import load_causal_lm, load_tokenizer

    spec = dict(spec)
    seed = spec.pop("seed", SEED)
    overrides = _merge({**_G, "precision": "fp32", "save_steps": 100_000, "eval_problems": 0},
                       spec)
    if tiny:  # random weights solve nothing: no curriculum, so that the trainer runs
        overrides = _merge(overrides, {"max_steps": 2, "curriculum": {"mode": "none",
                                                                      "candidates": 8}})
    params = recipe_params({"grpo": overrides})
    cfg = params.grpo
    model = load_causal_lm(start_dir, "fp32").to("cuda")
    tokenizer = load_tokenizer(start_dir)
    problems = load_problem_list(data / "train", cfg.benchmarks)

    def measure(pool):
        return measure_pass_rates(model, tokenizer, pool, k=cfg.curriculum.k,
                                  temperature=cfg.temperature,
                                  max_new_tokens=cfg.max_completion_length, seed=seed)

    selection = select_problems(problems, cfg.curriculum, seed, measure=measure)
    rows, _ = drop_long_prompts([prompt_row(p) for p in selection.problems], tokenizer,
                                cfg.max_prompt_length)
    rewards = build_rewards({n: s.options for n, s in cfg.rewards.items()})
    weights = [s.weight for s in cfg.rewards.values()]
    out_dir = work / "models" / name
    start = time.perf_counter()
    trainer, plan, precision, backend = build_grpo_trainer(
        model=model, tokenizer=tokenizer, train_rows=rows, cfg=cfg, reward_funcs=rewards,
        reward_weights=weights, checkpoint_dir=work / "ckpt" / name, seed=seed,
        backend=cfg.generation.backend)
    result = train_grpo(trainer=trainer, tokenizer=tokenizer, cfg=cfg, output_dir=out_dir,
                        checkpoint_dir=work / "ckpt" / name, fingerprint=name, plan=plan,
                        precision=precision, backend=backend)
    m = result.metrics
    cur_samples = (len(selection.pass_rates) * cfg.curriculum.k
                   if cfg.curriculum.mode == "pass_rate" else 0)
    info = {"overrides": {k: v for k, v in overrides.items()
                          if k not in ("precision", "save_steps", "eval_problems")},
            "seed": seed, "steps": m["steps"],
            "train_completions": m["steps"] * cfg.prompts_per_step * cfg.num_generations,
            "curriculum_completions": cur_samples, "curriculum": selection.counts,
            "train_prompts": len(rows), "backend": backend,
            "reward_first": m.get("reward_first"), "reward_last": m.get("reward_last"),
            "reward_mean": m.get("reward_mean"),
            "frac_zero_std_mean": m.get("frac_reward_zero_std_mean"),
            "completion_length_mean": m.get("completion_length_mean"),
            "train_s": round(time.perf_counter() - start, 1)}
    # the trainer's model has accelerate's autocast wrapper on forward: evaluate a fresh copy
    del trainer, model
    trained = load_causal_lm(out_dir, "fp32").to("cuda")
    shutil.rmtree(out_dir, ignore_errors=True)
    return info, trained, tokenizer


# ---------------------------------------------------------------- bookkeeping
def load_state(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def result_name(state: dict) -> str:
    """The experiment's results file stem (``--name``; older states: offline_recipe)."""
    return state.get("name", "offline_recipe")


def save_state(state: dict, work: Path, out: Path | None) -> None:
    (work / "results.json").write_text(json.dumps(state, indent=1))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{result_name(state)}.json").write_text(json.dumps(state, indent=1))


def add_run(state: dict, texts: dict, name: str, kind: str, info: dict, graded: dict,
            work: Path, out: Path | None) -> dict:
    run = {"name": name, "kind": kind, **info, "accuracy": summarize(graded),
           "correct": {k: "".join("1" if c else "0" for c in v["correct"]) for k, v in graded.items()}}
    texts[name] = {k: v["texts"] for k, v in graded.items()}
    state.setdefault("runs", {})[name] = run
    with gzip.open(work / "texts.jsonl.gz", "at") as fh:
        fh.write(json.dumps({"name": name, "texts": texts[name]}) + "\n")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(work / "texts.jsonl.gz",
                    out / f"{result_name(state)}-texts.jsonl.gz")
    save_state(state, work, out)
    print(f"[offline_recipe] {name}: {run['accuracy']} "
          f"{ {k: info.get(k) for k in ('steps', 'tokens_padded_est', 'train_completions', 'train_s')} }",
          flush=True)
    return run


def add_tests(state: dict) -> None:
    """p-values: SFT vs base 4-shot and zero-shot; GRPO vs its SFT start."""
    runs = state.get("runs", {})
    for run in runs.values():
        tests = {}
        if run.get("compare"):  # trace variants: the references named when the run was made
            for ref in run["compare"]:
                if ref in runs:
                    tests[f"vs_{ref}"] = paired(runs[ref], run, per_benchmark=True)
        elif run["kind"] == "sft":
            for ref in ("base-fewshot", "base-zeroshot"):
                if ref in runs:
                    tests[f"vs_{ref}"] = paired(runs[ref], run)
        elif run["kind"] == "grpo" and run.get("start") in runs:
            tests[f"vs_{run['start']}"] = paired(runs[run["start"]], run)
            if "base-fewshot" in runs:
                tests["vs_base-fewshot"] = paired(runs["base-fewshot"], run)
        run["tests"] = tests


def show(state: dict) -> None:
    from benchmarks.common import print_table

    rows = []
    for run in state.get("runs", {}).values():
        acc = run["accuracy"]
        tests = run.get("tests", {})
        refs = ([f"vs_{r}" for r in run["compare"]] if run.get("compare") else
                ["vs_base-fewshot"] if run["kind"] == "sft" else
                [f"vs_{run.get('start')}"] if run["kind"] == "grpo" else [None])
        for i, ref in enumerate(refs):
            t = tests.get(ref, {}).get("pooled4", {}) if ref else {}
            lcm = tests.get(ref, {}).get("lcm", {}) if ref else {}
            rows.append({"name": run["name"] if i == 0 else "",
                         "steps": run.get("steps") if i == 0 else None,
                         "budget": (run.get("tokens_padded_est") or run.get("train_completions"))
                         if i == 0 else None,
                         **{k[:5]: acc.get(k) if i == 0 else None for k in TASKS},
                         "pool4": acc["pooled4"] if i == 0 else None,
                         "champ": acc.get("champ") if i == 0 else None,
                         "all": acc["all"] if i == 0 else None,
                         "vs": (ref or "")[3:], "d_pp": round(100 * t["delta"], 1) if t else None,
                         "b/a": f"{t['b_only']}/{t['a_only']}" if t else None,
                         "p": t.get("p") if t else None,
                         "lcm_p": lcm.get("p") if lcm else None})
    if rows:
        print_table(rows, list(rows[0]))


def _test_text(test: dict) -> str:
    """'+6.2 pp (59/34, p=0.01)': the paired delta, discordant counts b/a, McNemar p."""
    return f"{pp(test['delta'])} ({test['b_only']}/{test['a_only']}, p={test['p']:.2g})"


def findings(state: dict) -> list[str]:
    """The results in words, computed from the runs and their paired tests: accuracy of each
    run, each run against its references (pooled over the 4 tasks, and the tasks that moved at
    p < 0.05), seeds side by side, and the GRPO curriculum's counts."""
    runs = state.get("runs", {})
    n4 = len(vector(next(iter(runs.values())))) if runs else 0
    lines = [f"Accuracy: greedy, pooled over the {n4} problems of the 4 tasks (CHAMP apart); "
             "deltas are paired (b/a: problems only the run / only the reference solved), "
             "McNemar exact p, uncorrected."]
    for run in runs.values():
        acc = run["accuracy"]
        text = f"{run['name']}: {100 * acc['pooled4']:.2f}% (CHAMP {100 * acc.get('champ', 0):.1f}%)"
        parts = []
        for ref, test in run.get("tests", {}).items():
            moved = [f"{task} {pp(test[task]['delta'])} (p={test[task]['p']:.2g})"
                     for task in TASKS + HARD if task in test and test[task]["p"] < 0.05]
            parts.append(f"vs {ref[3:]} {_test_text(test['pooled4'])}"
                         + (f"; moved: {', '.join(moved)}" if moved else ""))
        if run["kind"] == "grpo" and run.get("curriculum"):
            c = run["curriculum"]
            parts.append(f"curriculum kept {c.get('selected')} of {c.get('measured')} "
                         f"(never solved {c.get('never_solved')}, always {c.get('always_solved')})"
                         if c.get("measured") else f"no curriculum ({c.get('selected')} problems)")
        lines.append(text + (": " + "; ".join(parts) if parts else ""))
    groups: dict[tuple, list[dict]] = {}
    for run in runs.values():
        if run["kind"] == "sft" and run.get("config"):
            groups.setdefault((run["config"], run.get("variant", "")), []).append(run)
    for (config, variant), group in groups.items():
        if len(group) > 1:
            accs = [r["accuracy"]["pooled4"] for r in group]
            seeds = "/".join(str(r.get("seed", SEED)) for r in group)
            pooled = "/".join(f"{100 * a:.2f}" for a in accs)
            lines.append(f"{config} on {variant or 'data'} over seeds {seeds}: pooled {pooled}% "
                         f"(mean {100 * sum(accs) / len(accs):.2f}%)")
    vs_start = {r["name"]: r["tests"]["vs_" + str(r.get("start"))]["pooled4"]
                for r in runs.values()
                if r["kind"] == "grpo" and "vs_" + str(r.get("start")) in r.get("tests", {})}
    if vs_start:
        best = max(vs_start, key=lambda name: vs_start[name]["delta"])
        wins = sum(t["p"] < 0.05 and t["delta"] > 0 for t in vs_start.values())
        lines.append(f"GRPO: {wins} of {len(vs_start)} configs beat their SFT start at p < 0.05; "
                     f"the best, {best}: {_test_text(vs_start[best])}")
    if state.get("errors"):
        lines.append(f"Failed configs: {', '.join(sorted(state['errors']))} (errors).")
    return lines


def worked_lcm_solution(numbers: list[int]) -> str:
    """The multiples of the largest number up to the first one every other number divides.

    ``lcm(17, 9)``: "Multiples of 17: 17, 34, ..., 153." / "17 * 9 = 153." /
    "lcm(17, 9) = 153" (a list longer than 20 shows its first and last three).
    """
    top, value = max(numbers), math.lcm(*numbers)
    shown = [str(top * i) for i in range(1, value // top + 1)]
    if len(shown) > 20:
        shown = shown[:3] + ["..."] + shown[-3:]
    lines = [f"Multiples of {top}: {', '.join(shown)}."]
    others = list(dict.fromkeys(n for n in numbers if n != top))
    if others:
        lines.append(", ".join(f"{value // n} * {n} = {value}" for n in others) + ".")
    lines.append(f"lcm({', '.join(map(str, numbers))}) = {value}")
    return "\n".join(lines)


def rewrite_lcm(src: Path, dst: Path) -> dict:
    """``dst``: ``src``'s train/, benchmarks/ and cot/verified.jsonl, every lcm problem's
    solution and reference trace rewritten by ``worked_lcm_solution``."""
    from slm_math.jsonl import read_jsonl, write_jsonl
    from slm_math.teacher.reference import reference_trace

    def rewritten(problem: dict) -> dict:
        numbers = [int(n) for n in problem["problem"].rsplit(":", 1)[1].split(",")]
        solution = worked_lcm_solution(numbers)
        if not solution.endswith(f"= {problem['answer']}"):
            raise ValueError(f"{problem['id']}: {solution!r} does not end in the answer")
        return {**problem, "solution": solution}

    counts = {"problems": 0, "traces": 0}
    shutil.copytree(src / "benchmarks", dst / "benchmarks", dirs_exist_ok=True)
    problems = {}
    for path in sorted((src / "train").glob("*.jsonl")):
        rows = read_jsonl(path)
        if path.stem == "lcm":
            rows = [rewritten(r) for r in rows]
            counts["problems"] += len(rows)
        problems.update((r["id"], r) for r in rows)
        write_jsonl(dst / "train" / path.name, rows)
    traces = read_jsonl(src / "cot" / "verified.jsonl")
    for trace in traces:
        if trace.get("source") == "lcm":
            if trace.get("teacher") != "reference":
                raise ValueError(f"{trace['problem_id']}: an lcm trace from {trace.get('teacher')!r}")
            trace["text"] = reference_trace(problems[trace["problem_id"]]).text
            counts["traces"] += 1
    write_jsonl(dst / "cot" / "verified.jsonl", traces)
    return counts


def drop_traces(src: Path, dst: Path, sources: list[str]) -> dict:
    """``dst``: ``src``'s train/ and benchmarks/, and its cot/verified.jsonl without the
    traces whose ``source`` is one of ``sources``."""
    from slm_math.jsonl import read_jsonl, write_jsonl

    shutil.copytree(src / "train", dst / "train", dirs_exist_ok=True)
    shutil.copytree(src / "benchmarks", dst / "benchmarks", dirs_exist_ok=True)
    traces = read_jsonl(src / "cot" / "verified.jsonl")
    kept = [t for t in traces if t.get("source") not in sources]
    write_jsonl(dst / "cot" / "verified.jsonl", kept)
    return {"kept": len(kept), "dropped": len(traces) - len(kept)}


def sft_name(config: str, seed: int, variant: str) -> str:
    return config + (f"-s{seed}" if seed != SEED else "") + (f"-{variant}" if variant else "")


def best_start(sft_runs: list[dict]) -> str | None:
    """The seed-42 run of the SFT (config, variant) with the best mean pooled accuracy."""
    groups: dict[tuple, list[dict]] = {}
    for run in sft_runs:
        groups.setdefault((run.get("config", run["name"]), run.get("variant", "")), []).append(run)
    if not groups:
        return None
    best = max(groups.values(), key=lambda g: sum(r["accuracy"]["pooled4"] for r in g) / len(g))
    return next((r for r in best if r.get("seed", SEED) == SEED), best[0])["name"]


def regrade(texts_path: Path, results_path: Path, data: Path, limit: int) -> None:
    """Grade every run's texts here (math-verify) and rewrite its correctness and accuracy."""
    from slm_math.grading import grade_many

    state = load_state(results_path)
    tests = load_tests(data, limit, tiny=bool(state.get("eval", {}).get("tiny")))
    for line in gzip.open(texts_path, "rt"):
        record = json.loads(line)
        run = state["runs"].get(record["name"])
        if run is None:
            continue
        graded = {}
        for name, problems in tests.items():
            verdicts = grade_many(record["texts"][name], [p["answer"] for p in problems],
                                  rule=[p.get("rule") or "auto" for p in problems])
            graded[name] = {"correct": [bool(v) for v in verdicts]}
        run["correct"] = {k: "".join("1" if c else "0" for c in v["correct"])
                          for k, v in graded.items()}
        run["accuracy"] = summarize(graded)
    add_tests(state)
    state["notes"] = SETUP[result_name(state)] + findings(state)
    from benchmarks.common import write_results

    write_results(result_name(state), state, results_path.parent)
    show(state)


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default="models/base")
    parser.add_argument("--data", default="data")
    parser.add_argument("--work", default="/tmp/offline_recipe", help="models, state, texts")
    parser.add_argument("--out", default=None, help="also copy results here (a folder)")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--deadline", type=float, default=1e9,
                        help="seconds after which no new config starts")
    parser.add_argument("--phases", default="base,sft,grpo")
    parser.add_argument("--only", default=None, help="comma-separated config names")
    parser.add_argument("--grpo-start", default=None, help="SFT run GRPO starts from (default best)")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--show", metavar="FILE")
    parser.add_argument("--grade", metavar="FILE", help="re-grade a texts file (jsonl.gz)")
    parser.add_argument("--write", action="store_true",
                        help="with --show: write experiments/results/<--name>.json")
    parser.add_argument("--name", default="offline_recipe", choices=sorted(SETUP),
                        help="the experiment: its results file name and notes")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                        help="a trace variant: DIR/train and DIR/cot/verified.jsonl (repeat)")
    parser.add_argument("--sft-seeds", default=str(SEED), help="comma-separated SFT seeds")
    parser.add_argument("--rewrite-lcm", nargs=2, metavar=("SRC", "DST"),
                        help="write DST: SRC's data with the worked lcm solutions and traces")
    parser.add_argument("--drop-traces", nargs=3, metavar=("SRC", "DST", "SOURCES"),
                        help="write DST: SRC's data without the traces of these sources")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()

    if args.drop_traces:
        src, dst, sources = args.drop_traces
        print(drop_traces(Path(src), Path(dst), sources.split(",")))
        return 0

    if args.rewrite_lcm:
        print(rewrite_lcm(Path(args.rewrite_lcm[0]), Path(args.rewrite_lcm[1])))
        return 0

    if args.show and not args.grade:
        state = load_state(Path(args.show))
        for run in state.get("runs", {}).values():  # older states kept the absolute folder
            if Path(run.get("model_dir", "")).is_absolute():
                run["model_dir"] = str(Path("models") / Path(run["model_dir"]).name)
        add_tests(state)
        state["notes"] = SETUP[result_name(state)] + findings(state)
        show(state)
        if args.write:
            from benchmarks.common import EXPERIMENT_RESULTS, write_results
            write_results(result_name(state), state, EXPERIMENT_RESULTS)
        return 0
    if args.grade:  # --grade TEXTS --show RESULTS: re-grade here, rewrite the results
        regrade(Path(args.grade), Path(args.show or "experiments/results/offline_recipe.json"),
                Path(args.data), args.limit)
        return 0

    import torch
    from slm_math.evaluation.run import select_fewshot
    from slm_math.training.model_loading import load_causal_lm, load_tokenizer
    from slm_math.training.sft_data import load_problems, load_sft_examples

    from benchmarks.common import machine

    patch_precision()
    work, data = Path(args.work), Path(args.data)
    out = Path(args.out) if args.out else None
    work.mkdir(parents=True, exist_ok=True)
    state = load_state(work / "results.json")
    state["name"] = args.name
    state.setdefault("machine", machine(("torch", "transformers", "trl", "peft", "datasets",
                                         "math-verify")))
    state.setdefault("machine_calls", []).append(
        {"gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
         "date": time.strftime("%Y-%m-%dT%H:%M:%S")})
    state["budgets"] = {"sft_tokens_padded": SFT_TOKEN_BUDGET,
                        "grpo_train_completions": GRPO_COMPLETION_BUDGET,
                        "max_completion_length": 96}
    state["eval"] = {"limit": args.limit, "tasks": TASKS, "hard": HARD, "greedy": True,
                     "max_new_tokens": args.max_new_tokens, "tiny": args.tiny}
    state.setdefault("errors", {})
    runs = state.setdefault("runs", {})
    texts: dict = {}
    only = set(args.only.split(",")) if args.only else None
    tests = load_tests(data, args.limit, args.tiny)
    max_new = 8 if args.tiny else args.max_new_tokens
    base_dir = Path(args.model_dir)
    phases = args.phases.split(",")
    # trace variants: name -> data folder ("" alone: --data, the runs' plain names)
    variants = dict(v.split("=", 1) for v in args.variant) or {"": str(data)}
    first = next(iter(variants))
    seeds = [int(x) for x in args.sft_seeds.split(",")]
    if args.variant:
        state["variants"] = variants
        state["sft_seeds"] = seeds

    def wanted(name: str, config: str | None = None) -> bool:
        if name in runs or (only and (config or name) not in only):
            return False
        if time.perf_counter() - t0 > args.deadline:
            print(f"[offline_recipe] deadline: {name} left for the next call", flush=True)
            return False
        return True

    def guarded(name: str, fn) -> None:
        try:
            fn()
        except Exception as err:  # one broken config must not cost the others
            state["errors"][name] = f"{type(err).__name__}: {err}"
            traceback.print_exc()
            save_state(state, work, out)
        finally:
            torch.cuda.empty_cache()

    if "base" in phases:
        tokenizer = load_tokenizer(base_dir)
        cells = [("base-zeroshot", "base-zeroshot", 0, first)] + [
            (sft_name("base-fewshot", SEED, v), "base-fewshot", 4, v) for v in variants]
        for name, config, k, variant in cells:
            if not wanted(name, config):
                continue

            def base_run(name=name, k=k, variant=variant):
                model = load_causal_lm(base_dir, "fp32").to("cuda")
                fewshot = select_fewshot(TASKS + HARD, Path(variants[variant]) / "train", k,
                                         seed=SEED, fallback="mixed")
                graded = evaluate(model, tokenizer, tests, fewshot=fewshot, max_new=max_new,
                                  label="base")
                add_run(state, texts, name, "base", {"fewshot": k, "steps": 0,
                                                     "variant": variant if k else ""},
                        graded, work, out)
            guarded(name, base_run)

    if "sft" in phases:
        tokenizer = load_tokenizer(base_dir)
        for variant, folder in variants.items():
            # the standard-format recipe: tool and verdict traces are other formats
            examples = [e for e in load_sft_examples(Path(folder) / "cot" / "verified.jsonl",
                                                     load_problems(Path(folder) / "train"))
                        if e["format"] == "standard"]
            state.setdefault("sft_examples_available", {})[variant or "data"] = len(examples)
            for (config, spec), seed in ((c, s) for c in SFT_GRID.items() for s in seeds):
                name = sft_name(config, seed, variant)
                if not wanted(name, config):
                    continue

                def sft_run(name=name, config=config, spec={**spec, "seed": seed},
                            variant=variant, examples=examples):
                    info = run_sft(name, spec, base_dir=base_dir, data=data, work=work,
                                   tiny=args.tiny, examples_all=examples, tokenizer=tokenizer)
                    if args.variant:
                        refs = ["base-zeroshot", sft_name("base-fewshot", SEED, first),
                                sft_name("base-fewshot", SEED, variant),
                                sft_name(config, info["seed"], first)]
                        info.update(config=config, variant=variant,
                                    compare=[r for r in dict.fromkeys(refs) if r != name])
                    model = load_causal_lm(work / info["model_dir"], "fp32").to("cuda")
                    graded = evaluate(model, tokenizer, tests, fewshot=None, max_new=max_new,
                                      label=name)
                    add_run(state, texts, name, "sft", info, graded, work, out)
                guarded(name, sft_run)

    if "grpo" in phases:
        sft_runs = [r for r in runs.values() if r["kind"] == "sft"
                    and (work / r["model_dir"]).is_dir()]
        start = args.grpo_start or (
            best_start(sft_runs) if args.variant else
            max(sft_runs, key=lambda r: r["accuracy"]["pooled4"])["name"] if sft_runs else None)
        state["grpo_start"] = start
        grid = GRPO_GRID
        if args.tiny:
            grid = {k: GRPO_GRID[k] for k in ("grpo-today-12", "grpo-full2e-5-b0")}
        for name, spec in grid.items():
            if start is None or not wanted(name):
                continue

            def grpo_run(name=name, spec=spec):
                info, model, tokenizer = run_grpo(name, spec, start_dir=work / runs[start]["model_dir"],
                                                  data=data, work=work, tiny=args.tiny)
                info["start"] = start
                if args.variant:
                    info["compare"] = list(dict.fromkeys([
                        start, sft_name("base-fewshot", SEED, first),
                        sft_name("base-fewshot", SEED, runs[start].get("variant", first))]))
                model = model.float()
                graded = evaluate(model, tokenizer, tests, fewshot=None, max_new=max_new,
                                  label=name)
                add_run(state, texts, name, "grpo", info, graded, work, out)
            guarded(name, grpo_run)

    add_tests(state)
    state["wall_s_last_call"] = round(time.perf_counter() - t0, 1)
    save_state(state, work, out)
    show(state)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
