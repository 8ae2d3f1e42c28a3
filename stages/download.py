"""download: base model → models/base/, benchmarks → data/train/, data/benchmarks/,
GRPO-only problems (data.grpo_tasks) → data/grpo_train/.

Reads params: seed, model.*, data.*. Writes metrics/data.json (per-benchmark counts:
train, test, dropped answers, duplicates, contaminated train problems; the same for each
GRPO-only task under ``grpo_tasks``).
"""

from __future__ import annotations

from pathlib import Path

from slm_math.base_model import materialize_base_model
from slm_math.config import Params
from slm_math.data.prepare import prepare_benchmarks, prepare_grpo_tasks
from slm_math.jsonl import write_json, write_jsonl
from slm_math.stage_runner import run_stage


def main(params: Params) -> None:
    """Write the base model, the train and test sets, the GRPO-only sets, and their counts."""
    train, test, metrics = prepare_benchmarks(params.data, params.seed)
    grpo_train, grpo_metrics = prepare_grpo_tasks(params.data, params.seed, train, test)
    for folder, sets in (("data/train", train), ("data/benchmarks", test),
                         ("data/grpo_train", grpo_train)):
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)  # data/grpo_train stays, empty, without tasks
        for stale in out.glob("*.jsonl"):
            if stale.stem not in sets:
                stale.unlink()
        for name, records in sets.items():
            write_jsonl(out / f"{name}.jsonl", records)
    model = materialize_base_model(params.model.base, "models/base",
                                   revision=params.model.revision, dtype=params.model.dtype)
    write_json("metrics/data.json", {**metrics, "grpo_tasks": grpo_metrics, "model": model})
    for name, counts in metrics["benchmarks"].items():
        print(f"  {name:<24} train {counts['train']:>6}  test {counts['test']:>5}")
    for name, counts in grpo_metrics["tasks"].items():
        print(f"  {name:<24} grpo  {counts['train']:>6}")


if __name__ == "__main__":
    run_stage("download", main)
