"""A training step whose gradients are not finite is skipped, not applied.

A NaN or inf in one gradient, once clipped and applied, turns every weight it reaches into
NaN, and every later step trains a broken model: on the H200, grpo_verifier's first step
logged a NaN grad norm and from then on each completion ran to its length limit with zero
reward. `NonFiniteGradGuard` (a transformers `TrainerCallback`) looks at the gradients just
before the optimizer step and, when any holds a NaN or inf, drops them all (`grad = None`:
the optimizer leaves those weights and their state as they are), logs a warning and keeps
the step number, which the stages report (`nonfinite_grad_steps`). AMP's loss scaler does
the same for fp16; bf16 and fp32 training have nothing like it. SFT and GRPO train with it.

With several processes (DDP, FSDP) the verdict is agreed across them first: under FSDP each
holds a shard of the gradients, and one process skipping a step the others take would
leave the shards' optimizer states out of step.
"""

from __future__ import annotations

import logging

import torch
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class NonFiniteGradGuard(TrainerCallback):
    """Skips each optimizer step whose gradients hold a NaN or inf; `skipped_steps` lists them."""

    def __init__(self) -> None:
        self.skipped_steps: list[int] = []

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        if model is None:
            return
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if all_finite(grads):
            return
        for p in model.parameters():
            p.grad = None
        step = int(state.global_step) + 1
        self.skipped_steps.append(step)
        logger.warning("step %d: a gradient holds NaN or inf; the update is skipped "
                       "(%d step(s) skipped so far)", step, len(self.skipped_steps))


def all_finite(grads: list[torch.Tensor]) -> bool:
    """Whether every gradient of every process is finite (this process's alone outside a
    process group)."""
    finite = torch.stack([g.isfinite().all() for g in grads]).all() if grads else torch.tensor(True)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        flag = finite.to(torch.int32)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MIN)
        finite = flag.bool()
    return bool(finite)


def skipped_steps(trainer) -> list[int]:
    """The steps the trainer's `NonFiniteGradGuard` skipped (none without a guard)."""
    return [s for cb in trainer.callback_handler.callbacks if isinstance(cb, NonFiniteGradGuard)
            for s in cb.skipped_steps]
