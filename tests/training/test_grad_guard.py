"""The non-finite gradient guard's verdict is one verdict across processes: a NaN on one
rank skips the step on every rank (two gloo processes on CPU)."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from slm_math.training.grad_guard import all_finite


def _rank(rank: int, init_file: str, results) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        grads = [torch.ones(3), torch.ones(2)]
        results[f"clean{rank}"] = all_finite(grads)
        if rank == 1:
            grads[1][0] = float("inf")
        results[f"poisoned{rank}"] = all_finite(grads)
    finally:
        dist.destroy_process_group()


def test_one_ranks_nan_skips_the_step_on_every_rank(tmp_path):
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_rank, args=(str(tmp_path / "init"), results), nprocs=2, join=True)
        got = dict(results)
    assert got == {"clean0": True, "clean1": True, "poisoned0": False, "poisoned1": False}


def test_without_a_process_group_the_verdict_is_local():
    assert all_finite([torch.ones(2)]) and all_finite([])
    assert not all_finite([torch.tensor([1.0, float("nan")])])
