"""Supervised fine-tuning on chat examples with TRL's SFTTrainer, LoRA or full.

``train_sft`` turns an :class:`~slm_math.config.params.SFTParams` section into an
``SFTConfig``, trains with the loss on the assistant turn only (TRL's prompt-completion
format: the completion mask covers exactly the tokens the chat template renders for the
assistant message), resumes from the last checkpoint of an interrupted run with the same
fingerprint, and writes the final model (adapter, plus a merged copy when asked) atomically.
It runs unchanged as one process or under ``accelerate launch`` (DDP, FSDP, DeepSpeed).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from slm_math.config.params import SFTLoraParams, SFTParams
from slm_math.training.batching import BatchPlan, plan_batch
from slm_math.training.checkpoints import clear_checkpoints, prepare_checkpoint_dir
from slm_math.training.grad_guard import NonFiniteGradGuard, skipped_steps
from slm_math.training.model_loading import (load_causal_lm, load_tokenizer, lora_config,
                                             resolve_precision, uses_bf16_autocast)

Mode = Literal["lora", "full"]


@dataclass
class SFTResult:
    """What a training run produced: its metrics and where the model went."""

    metrics: dict[str, Any]
    output_dir: Path
    merged_dir: Path | None = None
    log_history: list[dict] = field(default_factory=list)


def sft_config(cfg: SFTParams, plan: BatchPlan, *, checkpoint_dir: str | Path, seed: int,
               precision: str, report_to: list[str], run_name: str):
    """TRL's ``SFTConfig`` for one params section and batch plan."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(checkpoint_dir), run_name=run_name, seed=seed, data_seed=seed,
        num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        per_device_train_batch_size=plan.per_device, per_device_eval_batch_size=plan.per_device,
        gradient_accumulation_steps=plan.grad_accum,
        learning_rate=cfg.learning_rate, lr_scheduler_type=cfg.scheduler,
        warmup_steps=cfg.warmup_ratio, weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        max_length=cfg.max_length, packing=cfg.packing, completion_only_loss=True,
        bf16=uses_bf16_autocast(precision), fp16=False, use_cpu=precision == "bf16_mixed",
        gradient_checkpointing=cfg.gradient_checkpointing,
        logging_steps=cfg.logging_steps, logging_first_step=True,
        save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=2,
        eval_strategy="no", report_to=report_to,
        # each optimizer step's examples drawn at random, as without it, then split into
        # micro-batches of similar length (less padding; no longest-first order, which
        # transformers' group_by_length imposes); packed blocks have no padding to save
        train_sampling_strategy="batch_rebalance" if cfg.group_by_length and not cfg.packing else "random",
        # packed batches are padding-free (no attention mask), so every token counts; in
        # unpacked ones the mask says which are padding (counting != pad would also drop
        # the real end-of-turn tokens of models whose pad is their eos)
        include_num_input_tokens_seen="all" if cfg.packing else "non_padding",
    )


def _dataset(examples: list[dict]):
    from datasets import Dataset

    return Dataset.from_list([{"prompt": e["prompt"], "completion": e["completion"]}
                              for e in examples])


def _logged_losses(log_history: list[dict]) -> list[float]:
    return [float(entry["loss"]) for entry in log_history if "loss" in entry]


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move a fully written ``tmp`` folder to ``final`` (a crash leaves the old one whole)."""
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)


def _sft_trainer_class():
    """TRL's SFTTrainer whose length-balanced sampler shuffles with the run's data seed
    (transformers builds BatchRebalanceSampler with its default seed, 42, whatever the run's)."""
    from transformers.trainer_pt_utils import BatchRebalanceSampler
    from trl import SFTTrainer

    class SeededSFTTrainer(SFTTrainer):
        def _get_train_sampler(self, train_dataset=None):
            sampler = super()._get_train_sampler(train_dataset)
            if isinstance(sampler, BatchRebalanceSampler):
                sampler.seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return sampler

    return SeededSFTTrainer


def build_sft_trainer(*, base_model: str | Path, train_examples: list[dict],
                      eval_examples: list[dict], cfg: SFTParams, mode: Mode,
                      checkpoint_dir: str | Path, seed: int, report_to: list[str] | None = None,
                      callbacks: list | None = None, run_name: str = "sft"):
    """An ``SFTTrainer`` for one params section (datasets tokenized, labels masked)."""
    SFTTrainer = _sft_trainer_class()
    plan = plan_batch(cfg.effective_batch_size, cfg.per_device_batch_size)
    precision = resolve_precision(cfg.precision)
    args = sft_config(cfg, plan, checkpoint_dir=checkpoint_dir, seed=seed, precision=precision,
                      report_to=report_to or [], run_name=run_name)
    tokenizer = load_tokenizer(base_model)
    model = load_causal_lm(base_model, precision)
    peft_config = None
    if mode == "lora":
        assert isinstance(cfg, SFTLoraParams)
        peft_config = lora_config(cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout,
                                  cfg.lora.target_modules)
    trainer = SFTTrainer(model=model, args=args, train_dataset=_dataset(train_examples),
                         eval_dataset=_dataset(eval_examples) if eval_examples else None,
                         processing_class=tokenizer, peft_config=peft_config,
                         callbacks=[*(callbacks or []), NonFiniteGradGuard()])
    return trainer, plan, precision


def train_sft(*, base_model: str | Path, train_examples: list[dict],
              eval_examples: list[dict], cfg: SFTParams, mode: Mode, output_dir: str | Path,
              checkpoint_dir: str | Path, seed: int, fingerprint: str,
              report_to: list[str] | None = None, callbacks: list | None = None,
              run_name: str = "sft", keep_checkpoints: bool = False) -> SFTResult:
    """Train on ``train_examples``; the held-out loss is measured before and after.

    ``fingerprint`` (params hash + data hash) decides whether checkpoints left in
    ``checkpoint_dir`` by an interrupted run are resumed. Only the main process writes
    ``output_dir``; metrics are the same on every process.
    """
    output_dir, checkpoint_dir = Path(output_dir), Path(checkpoint_dir)
    trainer, plan, precision = build_sft_trainer(
        base_model=base_model, train_examples=train_examples, eval_examples=eval_examples,
        cfg=cfg, mode=mode, checkpoint_dir=checkpoint_dir, seed=seed, report_to=report_to,
        callbacks=callbacks, run_name=run_name)
    tokenizer = trainer.processing_class
    with trainer.args.main_process_first(desc="checkpoint folder"):
        resume_from = prepare_checkpoint_dir(checkpoint_dir, fingerprint)

    metrics: dict[str, Any] = {}
    # Under FSDP/DeepSpeed an evaluate() before train() would wrap the model for inference
    # first; the held-out loss before training is measured only where that is harmless.
    sharded = trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled
    if eval_examples and resume_from is None and not sharded:
        metrics["eval_loss_before"] = trainer.evaluate(metric_key_prefix="eval")["eval_loss"]
    start = time.perf_counter()
    start_tokens = 0
    if resume_from is not None:
        start_tokens = _tokens_in_checkpoint(resume_from)
    train_output = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    wall = time.perf_counter() - start
    if eval_examples:
        metrics["eval_loss"] = trainer.evaluate(metric_key_prefix="eval")["eval_loss"]

    state = trainer.state
    losses = _logged_losses(state.log_history)
    tokens_seen = int(state.num_input_tokens_seen)
    metrics.update({
        "final_loss": losses[-1] if losses else None,
        "best_loss": min(losses) if losses else None,
        "train_loss": float(train_output.training_loss),
        "steps": int(state.global_step),
        "epochs": float(state.epoch or 0.0),
        "train_examples": len(train_examples),
        "eval_examples": len(eval_examples),
        "tokens_seen": tokens_seen,
        "wall_time_s": round(wall, 2),
        # this process's run only: a resumed run counts the tokens it trained itself
        "tokens_per_s": round((tokens_seen - start_tokens) / wall, 1) if wall > 0 else None,
        "effective_batch_size": plan.effective,
        "per_device_batch_size": plan.per_device,
        "gradient_accumulation_steps": plan.grad_accum,
        "world_size": plan.world_size,
        "precision": precision,
        "resumed_from_step": _step_of(resume_from),
        "nonfinite_grad_steps": skipped_steps(trainer),  # updates skipped: NaN/inf gradients
    })

    merged_dir = None
    trainer.accelerator.wait_for_everyone()
    tmp = output_dir.with_name(output_dir.name + ".tmp")
    if trainer.is_world_process_zero() and tmp.exists():
        shutil.rmtree(tmp)
    trainer.save_model(str(tmp))  # every rank takes part (FSDP gathers the weights)
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(tmp))
        _replace_dir(tmp, output_dir)
        if mode == "lora" and getattr(cfg, "merge", False):
            merged_dir = merge_adapter(output_dir, output_dir / "merged", precision)
        if not keep_checkpoints:
            clear_checkpoints(checkpoint_dir)
    trainer.accelerator.wait_for_everyone()
    return SFTResult(metrics=metrics, output_dir=output_dir, merged_dir=merged_dir,
                     log_history=list(state.log_history))


def merge_adapter(adapter_dir: Path, merged_dir: Path, precision: str) -> Path:
    """Base model + adapter merged into plain weights (loadable without PEFT)."""
    import torch
    from peft import AutoPeftModelForCausalLM

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model = AutoPeftModelForCausalLM.from_pretrained(str(adapter_dir), dtype=dtype)
    merged = model.merge_and_unload()
    tmp = merged_dir.with_name(merged_dir.name + ".tmp")
    merged.save_pretrained(str(tmp))
    load_tokenizer(adapter_dir).save_pretrained(str(tmp))
    _replace_dir(tmp, merged_dir)
    return merged_dir


def _step_of(checkpoint: Path | None) -> int:
    return int(checkpoint.name.split("-")[-1]) if checkpoint is not None else 0


def _tokens_in_checkpoint(checkpoint: Path) -> int:
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    return int(state.get("num_input_tokens_seen", 0))
