"""grpo under ``accelerate launch`` on several GPUs: the stage, unchanged, with FSDP.

The GRPO counterpart of ``sft_multi_gpu.py`` (same throwaway workspace: this repo's code, a
small random Llama with SmolLM2's tokenizer as models/base, the train and benchmark
problems): runs ``accelerate launch --config_file configs/accelerate/<config>.yaml
--num_processes N -m stages.grpo`` from base (full fine-tuning, no curriculum: a random
model solves nothing, so a pass-rate filter would keep no problem) with a temp sqlite
MLflow store, then checks what a user would: every process took part, the reward was
logged each step, one registered version carries the alias and tags. Writes
benchmarks/results/grpo_multi_gpu.json.

    python benchmarks/grpo_multi_gpu.py --processes 2 --config fsdp
    python benchmarks/grpo_multi_gpu.py --processes 2 --cpu   # torchrun, DDP over gloo
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sft_multi_gpu import REPO, build_workspace, launch_stage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--config", default="fsdp", help="configs/accelerate/<name>.yaml")
    parser.add_argument("--cpu", action="store_true", help="run on CPU (DDP over gloo)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--workspace", default="/tmp/slm_math_grpo_multi_gpu")
    parser.add_argument("--tokenizer", default=str(REPO / "models" / "base"))
    parser.add_argument("--data", default=str(REPO / "data"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "grpo_multi_gpu.json"))
    args = parser.parse_args()

    root = Path(args.workspace)
    build_workspace(root, Path(args.tokenizer), Path(args.data), {
        "grpo": {"init": "base", "mode": "full", "beta": 0.0, "max_steps": args.steps,
                 "save_steps": args.steps, "num_generations": 4, "prompts_per_step": 4,
                 "per_device_batch_size": 8, "max_completion_length": 32,
                 "learning_rate": 1e-5, "eval_problems": 8,
                 "curriculum": {"mode": "none", "levels": [4, 5], "k": 4, "min_pass_rate": 0.0,
                                "max_pass_rate": 1.0, "candidates": 48, "order": "random",
                                "max_problems": 64}}})
    env, wall = launch_stage(root, "grpo", cpu=args.cpu, processes=args.processes,
                             config=args.config)

    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    metrics = json.loads((root / "metrics" / "grpo.json").read_text())
    client = MlflowClient()
    versions = client.search_model_versions("name='slm-math-grpo'")
    current = client.get_model_version_by_alias("slm-math-grpo", "current")
    curves = metrics.get("curves", {})
    result = {
        "benchmark": "grpo_multi_gpu", "config": "cpu-ddp" if args.cpu else args.config,
        "processes": args.processes, "world_size": metrics.get("world_size"),
        "steps": metrics.get("steps"), "backend": metrics.get("backend"),
        "reward_per_step": curves.get("reward"), "reward_std_per_step": curves.get("reward_std"),
        "held_out_accuracy_before": metrics.get("held_out_accuracy_before"),
        "held_out_accuracy_after": metrics.get("held_out_accuracy_after"),
        "wall_s": round(wall, 1), "registered_versions": len(versions),
        "current_version": str(current.version), "version_tags": dict(current.tags),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
    }
    import torch
    if torch.cuda.is_available() and not args.cpu:
        result["machine"]["gpus"] = [torch.cuda.get_device_name(i)
                                     for i in range(torch.cuda.device_count())]
    print(json.dumps(result, indent=2))
    assert result["world_size"] in (None, args.processes), "the stage did not see every process"
    assert result["reward_per_step"] and len(result["reward_per_step"]) >= args.steps, \
        "the reward was not logged every step"
    assert len(versions) == 1, "expected exactly one registered checkpoint"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
