"""GRPO on TRL's GRPOTrainer: start model, rewards, knobs, fast sampling, resume.

``build_grpo_trainer`` turns a :class:`~slm_math.config.params.GRPOParams` section into a
``GRPOConfig`` and a trainer; ``train_grpo`` runs it, resuming from the last checkpoint of
an interrupted run with the same fingerprint, and writes the final model atomically.

- Start model (``init``): models/base, models/base + the sft_lora adapter merged in memory
  (so a fresh GRPO adapter's "adapter off" is the SFT model: the KL reference when beta > 0),
  or models/sft_full. ``mode`` trains a fresh LoRA adapter or every weight.
- ``beta == 0`` gives TRL no reason to build a reference model: none is loaded.
- Rewards come from ``slm_math.grading.rewards`` by name, weighted by TRL's ``reward_weights``.
- Sampling: TRL's ``generate``, transformers' continuous batching, vLLM (colocate or server),
  our static-cache decoder replayed as a CUDA graph
  (``slm_math/generation/static_decoding.py``, which the hf generation backend uses too), or
  on a CPU an in-process vLLM engine that follows the LoRA adapter (``grpo_vllm.py``).
- Zero-variance groups: TRL logs their share of each step as ``frac_reward_zero_std``;
  dynamic sampling replaces them before the update, the live curriculum refreshes pass rates
  from the sampled groups, and a held-out guard is evaluated during training
  (``grpo_dynamic.py``, ``grpo_pool.py``).
It runs unchanged as one process or under ``accelerate launch`` (DDP, FSDP, DeepSpeed).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from slm_math.config.params import GRPOParams
from slm_math.training.attention import use_pad_safe_attention
from slm_math.training.batching import BatchPlan, plan_batch, world_size
from slm_math.training.checkpoints import clear_checkpoints, prepare_checkpoint_dir
from slm_math.training.grad_guard import NonFiniteGradGuard, skipped_steps
from slm_math.training.model_loading import (load_causal_lm, load_tokenizer, lora_config,
                                             resolve_precision, uses_bf16_autocast)
from slm_math.training.update_norm import UpdateNormMeter

log = logging.getLogger(__name__)

START_DIRS = {"base": "base", "sft_lora": "sft_lora", "sft_full": "sft_full"}
CLIPPED_WARN_SHARE = 0.25
"""Above this mean share of completions cut at max_completion_length the run warns (the CPU
default's grpo stage cuts about one in six of its 96-token completions, and says so only in
metrics)."""


class GenerationBackendError(RuntimeError):
    """The chosen sampling backend cannot run here (vLLM missing, no GPU, ...)."""


class StartModelError(RuntimeError):
    """The start model named by ``grpo.init`` is missing or unreadable."""


@dataclass
class GRPOResult:
    """What a GRPO run produced."""

    metrics: dict[str, Any]
    output_dir: Path
    log_history: list[dict] = field(default_factory=list)


def load_start_model(init: str, models_dir: Path, precision: str):
    """(model, tokenizer, folder) for ``init``; an sft_lora adapter is merged into its base."""
    folder = Path(models_dir) / START_DIRS[init]
    if not folder.is_dir():
        raise StartModelError(f"{folder}: no start model for grpo.init={init!r}; run the "
                              f"{'download' if init == 'base' else init} stage first")
    if init != "sft_lora":
        return load_causal_lm(folder, precision), load_tokenizer(folder), folder
    if (folder / "merged" / "config.json").is_file():
        merged = folder / "merged"
        return load_causal_lm(merged, precision), load_tokenizer(merged), merged
    if not (folder / "adapter_config.json").is_file():
        raise StartModelError(f"{folder}: neither a PEFT adapter (adapter_config.json) nor merged/")
    from peft import PeftModel

    base_dir = Path(json.loads((folder / "adapter_config.json").read_text())
                    .get("base_model_name_or_path") or models_dir / "base")
    if not (base_dir / "config.json").is_file():
        base_dir = Path(models_dir) / "base"
    base = load_causal_lm(base_dir, precision)
    model = PeftModel.from_pretrained(base, str(folder)).merge_and_unload()
    return model, load_tokenizer(folder), folder


def resolve_backend(backend: str, *, use_cuda: bool | None = None, mode: str = "lora",
                    start_dir: Path | None = None) -> str:
    """The sampling backend that will run: 'auto' → cuda_graph on one GPU process, else trl.

    'vllm_lora' is opt-in: on a 2-core AVX2 CPU it sampled no faster than TRL's generate
    (grpo_vllm.py has the numbers). Raises :class:`GenerationBackendError` when a backend is
    asked for but cannot run.
    """
    import torch

    from slm_math.training.grpo_vllm import lora_engine_supported

    use_cuda = torch.cuda.is_available() if use_cuda is None else use_cuda
    if backend == "auto":
        return "cuda_graph" if use_cuda and world_size() == 1 else "trl"
    if backend == "vllm_lora":
        why = lora_engine_supported(mode=mode, start_dir=start_dir)
        if why is not None:
            raise GenerationBackendError(f"grpo.generation.backend=vllm_lora cannot run: {why}; "
                                         "choose 'auto' or 'trl'")
    if backend == "vllm":
        if importlib.util.find_spec("vllm") is None:
            raise GenerationBackendError(
                "grpo.generation.backend=vllm: the vllm package is not installed (pip install "
                "vllm on a GPU machine), or choose backend 'auto', 'trl' or 'cuda_graph'")
        if not use_cuda:
            raise GenerationBackendError(
                "grpo.generation.backend=vllm needs a CUDA GPU; none is visible here "
                "(choose backend 'auto' or 'trl' on CPU)")
    if backend == "cuda_graph" and world_size() > 1:
        raise GenerationBackendError(
            "grpo.generation.backend=cuda_graph runs in one process only (sharded weights "
            "move between steps); use 'trl', 'continuous_batching' or 'vllm' under accelerate launch")
    return backend


def grpo_batch_plan(cfg: GRPOParams) -> BatchPlan:
    """Completions per step = prompts_per_step × K, split into per-device passes."""
    return plan_batch(cfg.prompts_per_step * cfg.num_generations, cfg.per_device_batch_size)


def grpo_config(cfg: GRPOParams, plan: BatchPlan, *, checkpoint_dir: str | Path, seed: int,
                precision: str, backend: str, reward_weights: list[float],
                report_to: list[str], run_name: str, live_pool: bool = False):
    """TRL's ``GRPOConfig`` for one params section.

    ``live_pool``: the sampler draws from the live curriculum, whose state a resumed run
    restores from the checkpoint, so the data loader must not replay the batches done.
    """
    from trl import GRPOConfig

    gen = cfg.generation
    vllm = {}
    if backend == "vllm":
        vllm = dict(use_vllm=True, vllm_mode=gen.vllm_mode,
                    vllm_gpu_memory_utilization=gen.vllm_gpu_memory_utilization)
        if gen.vllm_server_url:
            vllm["vllm_server_base_url"] = gen.vllm_server_url
    scheduler_kwargs = {"min_lr": cfg.min_learning_rate} if cfg.scheduler == "cosine_with_min_lr" else None
    return GRPOConfig(
        output_dir=str(checkpoint_dir), run_name=run_name, seed=seed, data_seed=seed,
        max_steps=cfg.max_steps, num_train_epochs=cfg.epochs,
        per_device_train_batch_size=plan.per_device, gradient_accumulation_steps=plan.grad_accum,
        num_generations=cfg.num_generations, learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.scheduler, lr_scheduler_kwargs=scheduler_kwargs,
        warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm, beta=cfg.beta, loss_type=cfg.loss_type,
        scale_rewards=cfg.scale_rewards, epsilon=cfg.epsilon, epsilon_high=cfg.epsilon_high,
        num_iterations=cfg.num_iterations, max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature, top_p=cfg.top_p,
        mask_truncated_completions=cfg.mask_truncated_completions,
        reward_weights=reward_weights,
        use_transformers_continuous_batching=backend == "continuous_batching",
        bf16=uses_bf16_autocast(precision), fp16=False, use_cpu=precision == "bf16_mixed",
        gradient_checkpointing=cfg.gradient_checkpointing,
        logging_steps=cfg.logging_steps, logging_first_step=True,
        save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=2,
        report_to=report_to, ignore_data_skip=live_pool, **vllm,
    )


def _trainer_class():
    from trl import GRPOTrainer
    from trl.models import unwrap_model_for_generation

    from slm_math.generation.static_decoding import StaticDecoder
    from slm_math.training.grpo_dynamic import DynamicGRPOMixin

    class SlmGRPOTrainer(DynamicGRPOMixin, GRPOTrainer):
        """GRPOTrainer whose plain sampling path can use the static-cache CUDA-graph decoder,
        with dynamic sampling, the live curriculum and the held-out guard when given."""

        static_decoding = False
        last_decoder: StaticDecoder | None = None
        lora_engine = None  # grpo_vllm.LoraEngine: sample with vLLM and the current adapter
        _engine_calls = (-1, 0)  # (global step, engine calls in it)

        generation_seconds = 0.0  # wall time in sampling (every round, dynamic refills too)
        generated_tokens = 0  # completion tokens sampled

        def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations,
                                  has_tool_images=False):
            start = time.perf_counter()
            ids, extra = self._sample_turn(prompt_ids, images, multimodal_fields, num_generations,
                                           has_tool_images)
            self.generation_seconds += time.perf_counter() - start
            self.generated_tokens += sum(len(row) for row in ids)
            return ids, extra

        def _sample_turn(self, prompt_ids, images, multimodal_fields, num_generations,
                         has_tool_images=False):
            if self.lora_engine is not None and not (images is not None and any(images)):
                engine = self.lora_engine
                step = self.state.global_step
                engine.sync(self.accelerator.unwrap_model(self.model), step)
                # dynamic sampling may generate several times a step: each call its own seeds
                call = self._engine_calls[1] + 1 if self._engine_calls[0] == step else 0
                self._engine_calls = (step, call)
                ids = engine.sample_ids(prompt_ids, temperature=self.temperature,
                                        top_p=self.top_p, max_tokens=self.max_completion_length,
                                        stop_token_ids=self.eos_token_ids,
                                        seed=self.args.seed + 100_003 * step + 10_007 * call)
                return ids, None
            if not self.static_decoding or images is not None and any(images) or multimodal_fields:
                return super()._generate_single_turn(prompt_ids, images, multimodal_fields,
                                                     num_generations, has_tool_images)
            with unwrap_model_for_generation(
                    self.model_wrapped, self.accelerator,
                    gather_deepspeed3_params=self.args.ds3_gather_for_generation,
                    gradient_checkpointing_kwargs=self.args.gradient_checkpointing_kwargs) as model:
                decoder = StaticDecoder(model, eos_token_ids=self.eos_token_ids,
                                        pad_token_id=self._tokenizer.pad_token_id)
                ids = decoder.sample(prompt_ids, self.max_completion_length, self.temperature)
            self.last_decoder = decoder
            return ids, None

    return SlmGRPOTrainer


def build_grpo_trainer(*, model, tokenizer, train_rows: list[dict], cfg: GRPOParams,
                       reward_funcs: list[Callable], reward_weights: list[float],
                       checkpoint_dir: str | Path, seed: int, backend: str = "auto",
                       report_to: list[str] | None = None, callbacks: list | None = None,
                       run_name: str = "grpo", lora_engine: Any = None, pool: Any = None,
                       held_out_guard: Any = None, format_guard: Any = None):
    """A GRPO trainer over ``train_rows`` (prompt rows with the reward columns).

    ``lora_engine`` (a :class:`~slm_math.training.grpo_vllm.LoraEngine` on the start model)
    makes the trainer sample through vLLM with its current adapter (backend ``vllm_lora``).
    ``pool`` (a :class:`~slm_math.training.grpo_pool.ProblemPool` over ``train_rows``) is the
    live curriculum; dynamic sampling (``cfg.dynamic_sampling``) draws its fresh prompts from
    it, or from a pool that never refreshes when none is given. ``held_out_guard`` (a
    :class:`~slm_math.training.grpo_sampling.HeldOutGuard`) is evaluated during training.
    ``format_guard`` (a :class:`~slm_math.training.format_guard.FormatGuard`) restores the
    ``format`` reward's weight once the sampled completions' format drifts.
    """
    from datasets import Dataset

    from slm_math.training.grpo_pool import ProblemPool

    if lora_engine is not None:
        backend = "vllm_lora"
    elif backend == "vllm_lora":
        raise GenerationBackendError("grpo.generation.backend=vllm_lora needs the run's LoRA "
                                     "engine (slm_math.training.grpo_vllm.LoraEngine)")
    else:
        backend = resolve_backend(backend)
    plan = grpo_batch_plan(cfg)
    precision = resolve_precision(cfg.precision)
    if backend == "cuda_graph" and (cfg.top_p < 1.0 or precision == "bf16_mixed"):
        # the static decoder samples at a temperature only; under accelerate's autocast
        # around fp32 weights (bf16_mixed, CPU) its cache saw two dtypes and it failed
        log.warning("grpo: sampling with TRL's generate, not cuda_graph (%s)",
                    "top_p < 1" if cfg.top_p < 1.0 else "precision bf16_mixed")
        backend = "trl"
    if pool is not None and len(pool) != len(train_rows):
        raise ValueError(f"the pool holds {len(pool)} problems, the dataset {len(train_rows)} rows")
    if pool is None and cfg.dynamic_sampling.enabled:
        pool = ProblemPool([str(i) for i in range(len(train_rows))], seed=seed, refresh=False)
    args = grpo_config(cfg, plan, checkpoint_dir=checkpoint_dir, seed=seed, precision=precision,
                       backend=backend, reward_weights=reward_weights, report_to=report_to or [],
                       run_name=run_name, live_pool=pool is not None and pool.refresh)
    if backend != "continuous_batching":  # its engine accepts only sdpa, eager or flash
        use_pad_safe_attention(model)  # left-padded prompts: no fully masked query row
    peft_config = None
    if cfg.mode == "lora":
        peft_config = lora_config(cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout, cfg.lora.target_modules)
    trainer = _trainer_class()(model=model, reward_funcs=reward_funcs, args=args,
                               train_dataset=Dataset.from_list(train_rows),
                               processing_class=tokenizer, peft_config=peft_config,
                               callbacks=[*(callbacks or []), NonFiniteGradGuard()])
    trainer.add_callback(UpdateNormMeter(trainer._metrics["train"]))  # TRL averages it per log
    trainer.static_decoding = backend == "cuda_graph"
    trainer.lora_engine = lora_engine
    trainer.pool = pool
    trainer.dynamic = cfg.dynamic_sampling if cfg.dynamic_sampling.enabled else None
    trainer.held_out_guard = held_out_guard
    if format_guard is not None:
        if "format" not in trainer.reward_func_names:
            raise ValueError(f"a format guard needs the 'format' reward; this run has "
                             f"{trainer.reward_func_names}")
        trainer.format_guard = format_guard
    return trainer, plan, precision, backend


def clipped_warning(clipped_mean: float | None, max_completion_length: int) -> str | None:
    """The warning for a run whose mean share of completions cut at ``max_completion_length``
    is above ``CLIPPED_WARN_SHARE``; None below it or without the curve."""
    if clipped_mean is None or clipped_mean <= CLIPPED_WARN_SHARE:
        return None
    return (f"grpo: {100 * clipped_mean:.0f}% of the sampled completions were cut at "
            f"max_completion_length {max_completion_length} (clipped_ratio_mean in metrics); a cut "
            "completion ends before its answer and earns no correctness reward: raise "
            "grpo.max_completion_length (worked reference solutions, data.solution_style: worked, "
            "run to about 110 tokens)")


def step_curves(log_history: list[dict]) -> dict[str, list]:
    """Per-step curves from TRL's logs: reward mean/std, zero-variance share, KL, length,
    entropy, grad norm, and the step's own size (``update_norm``, ``update_ratio``:
    :mod:`~slm_math.training.update_norm`). A value TRL logs as None or NaN becomes None
    (TRL logged entropy None on steps where every completion hit its length limit)."""
    keys = {"reward": "reward", "reward_std": "reward_std",
            "frac_reward_zero_std": "frac_reward_zero_std", "kl": "kl",
            "completion_length": "completions/mean_length", "loss": "loss",
            "learning_rate": "learning_rate", "entropy": "entropy", "grad_norm": "grad_norm",
            "update_norm": "update_norm", "update_ratio": "update_ratio",
            "clipped_ratio": "completions/clipped_ratio"}
    rows = [e for e in log_history if "reward" in e]
    curves: dict[str, list] = {"step": [int(e["step"]) for e in rows]}
    for name, key in keys.items():
        if any(key in e for e in rows):
            curves[name] = [_rounded(e.get(key)) for e in rows]
    extra = {k for e in rows for k in e
             if (k.startswith("rewards/") and k.endswith("/mean")) or k.startswith(CURVE_PREFIXES)}
    for key in sorted(extra):
        curves[key] = [_rounded(e.get(key)) for e in rows]
    return curves


# the dynamic sampling, live curriculum, held-out guard and task mix logs (grpo_dynamic.py)
CURVE_PREFIXES = ("dynamic/", "curriculum/", "held_out/", "mix/", "format/")


def throughput(trainer, log_history: list[dict], resumed_from: int, wall: float) -> dict:
    """This process's sampling and training speed over the run (since a resume: its segment).

    generation_tokens_per_s: completion tokens sampled per second spent sampling (every
    round, dynamic sampling's refills included). training_tokens_per_s: prompt and completion
    tokens through the policy (TRL's ``num_tokens``) per second of the rest of the wall time
    (scoring, held-out checks and the updates).
    """
    gen_s = getattr(trainer, "generation_seconds", 0.0)
    gen_tokens = getattr(trainer, "generated_tokens", 0)
    seen = [(int(e["step"]), float(e["num_tokens"])) for e in log_history if "num_tokens" in e]
    before = max((n for step, n in seen if step <= resumed_from), default=0.0)
    last = seen[-1][1] if seen else 0.0
    tokens = last - before if last >= before else last  # a counter that restarted on resume
    rest = wall - gen_s
    return {"generation_seconds": round(gen_s, 2), "generated_tokens": int(gen_tokens),
            "generation_tokens_per_s": round(gen_tokens / gen_s, 1) if gen_s > 0 else None,
            "training_tokens": int(tokens),
            "training_tokens_per_s": round(tokens / rest, 1) if rest > 0 and tokens else None}


def _rounded(value) -> float | None:
    if value is None or value != value:  # absent, or NaN (no JSON for it)
        return None
    return round(float(value), 6)


def _step_of(checkpoint: Path | None) -> int:
    return int(checkpoint.name.split("-")[-1]) if checkpoint is not None else 0


def _replace_dir(tmp: Path, final: Path) -> None:
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)


def save_trained(trainer, tokenizer, output_dir: Path, mode: str) -> None:
    """Write plain weights (LoRA merged) + tokenizer to ``output_dir``; LoRA also as ``adapter/``."""
    tmp = output_dir.with_name(output_dir.name + ".tmp")
    if trainer.is_world_process_zero() and tmp.exists():
        shutil.rmtree(tmp)
    if mode == "lora":
        trainer.save_model(str(tmp / "adapter"))  # every rank takes part (FSDP gathers)
        sharded = trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled
        if sharded and trainer.is_world_process_zero():
            # rank 0 alone holds a shard, not the weights: keep the adapter (it names its base)
            log.warning("LoRA under FSDP/DeepSpeed: only the adapter is saved (%s/adapter); merge "
                        "it into the start model with peft's merge_and_unload", output_dir)
        elif trainer.is_world_process_zero():
            model = trainer.accelerator.unwrap_model(trainer.model)
            merged = model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
            merged.save_pretrained(str(tmp))
            trainer.model = merged  # the adapter layers are gone now; evaluate the merged model
    else:
        trainer.save_model(str(tmp))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(tmp))
        _replace_dir(tmp, output_dir)


def train_grpo(*, trainer, tokenizer, cfg: GRPOParams, output_dir: str | Path,
               checkpoint_dir: str | Path, fingerprint: str, plan: BatchPlan, precision: str,
               backend: str, keep_checkpoints: bool = False) -> GRPOResult:
    """Run the trainer (resuming when a checkpoint of this fingerprint exists); save the model."""
    output_dir, checkpoint_dir = Path(output_dir), Path(checkpoint_dir)
    with trainer.args.main_process_first(desc="checkpoint folder"):
        resume_from = prepare_checkpoint_dir(checkpoint_dir, fingerprint)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    wall = time.perf_counter() - start
    state = trainer.state
    steps_run = int(state.global_step) - _step_of(resume_from)
    curves = step_curves(state.log_history)
    metrics: dict[str, Any] = {
        "steps": int(state.global_step),
        "resumed_from_step": _step_of(resume_from),
        "wall_time_s": round(wall, 2),
        "seconds_per_step": round(wall / steps_run, 3) if steps_run > 0 else None,
        "completions_per_step": plan.effective,
        "num_generations": cfg.num_generations,
        "per_device_batch_size": plan.per_device,
        "gradient_accumulation_steps": plan.grad_accum,
        "world_size": plan.world_size,
        "precision": precision,
        "generation_backend": backend,
        "beta": cfg.beta,
        # a LoRA run's reference is its base with the adapter off: no second model either way
        "reference_model": trainer.ref_model is not None,
        "curves": curves,
        "nonfinite_grad_steps": skipped_steps(trainer),  # updates skipped: NaN/inf gradients
    }
    for name in ("reward", "frac_reward_zero_std", "kl", "completion_length", "clipped_ratio"):
        values = [v for v in curves.get(name, []) if v is not None]
        if values:
            metrics[f"{name}_first"] = values[0]
            metrics[f"{name}_last"] = values[-1]
            metrics[f"{name}_mean"] = round(sum(values) / len(values), 6)
    warning = clipped_warning(metrics.get("clipped_ratio_mean"), cfg.max_completion_length)
    if warning and trainer.is_world_process_zero():
        log.warning(warning)
    metrics.update(throughput(trainer, state.log_history, _step_of(resume_from), wall))
    trainer.accelerator.wait_for_everyone()
    engine = getattr(trainer, "lora_engine", None)
    if engine is not None:  # the final adapter, for the held-out check after training
        engine.sync(trainer.accelerator.unwrap_model(trainer.model), int(state.global_step))
        metrics["adapter_syncs"] = engine.syncs
    save_trained(trainer, tokenizer, output_dir, cfg.mode)
    if trainer.is_world_process_zero() and not keep_checkpoints:
        clear_checkpoints(checkpoint_dir)
    trainer.accelerator.wait_for_everyone()
    return GRPOResult(metrics=metrics, output_dir=output_dir, log_history=list(state.log_history))
