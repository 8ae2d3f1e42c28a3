"""UpdateNormMeter: the size of each optimizer step, which under Adam the grad norm does not give."""

from __future__ import annotations

import math

import pytest
import torch

from slm_math.training.update_norm import UpdateNormMeter


def step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, meter: UpdateNormMeter, scale: float) -> None:
    """One optimizer step on a fixed loss whose gradient is multiplied by ``scale``."""
    optimizer.zero_grad()
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 10
    (scale * model(x).pow(2).sum()).backward()
    meter.on_pre_optimizer_step(None, None, None, model=model)
    optimizer.step()
    meter.on_optimizer_step(None, None, None)


def model_and_weights() -> tuple[torch.nn.Module, float]:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    model.bias.requires_grad_(False)  # a frozen weight is not part of the step
    return model, float(model.weight.detach().norm())


def test_sgd_steps_are_the_learning_rate_times_the_gradient():
    model, weight_norm = model_and_weights()
    metrics: dict[str, list] = {}
    meter = UpdateNormMeter(metrics)
    optimizer = torch.optim.SGD([model.weight], lr=0.1)
    optimizer.zero_grad()
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 10
    model(x).pow(2).sum().backward()
    grad_norm = float(model.weight.grad.norm())
    meter.on_pre_optimizer_step(None, None, None, model=model)
    optimizer.step()
    meter.on_optimizer_step(None, None, None)
    assert metrics["update_norm"] == [pytest.approx(0.1 * grad_norm, rel=1e-5)]
    assert metrics["update_ratio"] == [pytest.approx(0.1 * grad_norm / weight_norm, rel=1e-5)]


def test_under_adam_a_larger_gradient_is_not_a_larger_step():
    sizes = {}
    for scale in (1.0, 10.0):
        model, _ = model_and_weights()
        metrics: dict[str, list] = {}
        meter = UpdateNormMeter(metrics)
        optimizer = torch.optim.Adam([model.weight], lr=0.01)
        for _ in range(3):
            step(model, optimizer, meter, scale)
        sizes[scale] = metrics["update_norm"]
    # Adam's first step moves each of the 8 trainable weights by lr: the norm is lr x sqrt(8)
    assert sizes[1.0][0] == pytest.approx(0.01 * math.sqrt(8), rel=1e-4)
    assert sizes[10.0] == pytest.approx(sizes[1.0], rel=1e-4)


def test_no_snapshot_no_value():
    metrics: dict[str, list] = {}
    UpdateNormMeter(metrics).on_optimizer_step(None, None, None)  # no pre-step call: nothing to compare
    assert metrics == {}
