"""Effective batch = per-device batch × accumulation × processes."""

from slm_math.training.batching import plan_batch


def test_accumulation_follows_devices():
    assert (plan_batch(128, 8, 1).grad_accum, plan_batch(128, 8, 2).grad_accum) == (16, 8)
    assert plan_batch(128, 8, 8).effective == 128


def test_per_device_shrinks_and_nearest_size_when_not_divisible():
    plan = plan_batch(16, 32, 2)
    assert (plan.per_device, plan.grad_accum, plan.effective) == (8, 1, 16)
    assert plan_batch(128, 8, 3).effective == 120  # 8 × 5 × 3, nearest to 128


def test_world_size_from_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert plan_batch(128, 8).grad_accum == 4


def test_local_device_is_this_process_gpu_when_cuda_is_there(monkeypatch):
    import torch

    from slm_math.training.batching import local_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert local_device() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert local_device() == "cuda:0"
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert local_device() == "cuda:3"
