"""The size of each optimizer step, logged beside the gradient's norm.

Under Adam a larger gradient is not a larger step: each weight moves by its first moment
over the root of its second, so a gradient scaled by any constant moves the weights the
same. The grad norm alone cannot say whether one run takes bigger steps than another (a
dynamic-sampling run's batches hold no zero-advantage groups to shrink its token-mean
gradient, and its grad norm is larger for that reason alone). `UpdateNormMeter` measures
the step itself: it keeps a copy of the trainable weights just before the optimizer step
and, just after, subtracts the new weights from it in place (no second copy) and adds to
the trainer's per-step metrics

- ``update_norm``: the L2 norm of the change over all trainable weights (the step, weight
  decay included);
- ``update_ratio``: that norm over the trainable weights' own norm before the step.

TRL's GRPOTrainer averages them per logging step like its own metrics, so they reach
``log_history``, DVCLive and MLflow. A step the `NonFiniteGradGuard` skipped shows only
weight decay. Under FSDP each process measures its own shard.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import torch
from transformers import TrainerCallback


class UpdateNormMeter(TrainerCallback):
    """Appends ``update_norm`` and ``update_ratio`` of each optimizer step to ``metrics``
    (a mapping of metric name -> list of values, as TRL's ``_metrics["train"]``)."""

    def __init__(self, metrics: MutableMapping[str, list]):
        self.metrics = metrics
        self._params: list[torch.Tensor] = []
        self._before: list[torch.Tensor] | None = None
        self._size = 0.0

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        if model is None:
            return
        self._params = [p for p in model.parameters() if p.requires_grad]
        with torch.no_grad():
            self._size = _norm(self._params)
            self._before = [p.detach().clone() for p in self._params]

    def on_optimizer_step(self, args, state, control, **kwargs):
        if self._before is None:
            return
        with torch.no_grad():
            for before, p in zip(self._before, self._params):
                before.sub_(p.detach())  # in place: the copy becomes minus the change
            change = _norm(self._before)
        size = self._size
        self.metrics.setdefault("update_norm", []).append(change)
        self.metrics.setdefault("update_ratio", []).append(change / size if size > 0 else float("nan"))
        self._params, self._before = [], None


def _norm(tensors: list[torch.Tensor]) -> float:
    """The L2 norm of all ``tensors`` together, in fp32 (torch's fused per-tensor norms)."""
    if not tensors:
        return 0.0
    norms = torch._foreach_norm(tensors, 2, dtype=torch.float32)
    return float(torch.linalg.vector_norm(torch.stack(norms)))
