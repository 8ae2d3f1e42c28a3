"""Effective batch size: per-device batch × gradient accumulation × processes.

Params name the effective batch (sequences per optimizer step, e.g. 128) and the largest
per-device batch that fits in memory; the gradient accumulation follows from the number of
processes present, so the same params give the same optimization on 1 GPU or 8.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class BatchPlan:
    """How an effective batch is split over devices and accumulation steps."""

    per_device: int
    grad_accum: int
    world_size: int

    @property
    def effective(self) -> int:
        """Sequences per optimizer step over all processes."""
        return self.per_device * self.grad_accum * self.world_size


def world_size() -> int:
    """Processes in this run (``WORLD_SIZE`` under ``accelerate launch``/torchrun, else 1)."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


def local_device() -> str:
    """This process's training device: its GPU (``LOCAL_RANK`` under accelerate launch) where
    CUDA is available, else the CPU. Work done with the model before a trainer takes it (the
    GRPO curriculum's sampling, held-out checks) must run there, not where it was loaded."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return "cpu"


def plan_batch(target: int, per_device: int, processes: int | None = None) -> BatchPlan:
    """The split closest to ``target`` sequences per step.

    The per-device batch shrinks when the processes alone would exceed the target; the
    accumulation is rounded to the nearest integer, so the effective batch equals the
    target whenever it divides evenly and is the nearest reachable size otherwise.
    """
    processes = processes or world_size()
    per_device = max(1, min(per_device, target // processes))
    grad_accum = max(1, round(target / (per_device * processes)))
    return BatchPlan(per_device=per_device, grad_accum=grad_accum, world_size=processes)
