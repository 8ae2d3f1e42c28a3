"""sft_full under ``accelerate launch`` on several GPUs: the stage, unchanged, with FSDP.

Builds a throwaway workspace (this repo's code, a small random Llama with SmolLM2's
tokenizer as models/base, the train problems and verified traces), runs
``accelerate launch --config_file configs/accelerate/<config>.yaml --num_processes N
-m stages.sft_full`` in it with a temp sqlite MLflow store, then checks what a user
would: the loss fell, the metrics say N processes, one registered version carries the
alias and tags. Writes benchmarks/results/sft_multi_gpu.json.

    python benchmarks/sft_multi_gpu.py --processes 2 --config fsdp
    python benchmarks/sft_multi_gpu.py --processes 2 --cpu   # torchrun, DDP over gloo
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_workspace(root: Path, tokenizer_dir: Path, data_dir: Path,
                    overrides: dict[str, dict]) -> None:
    """Code, params (``overrides``: section -> keys to set), a small random model and the
    data, laid out as the pipeline expects."""
    import torch
    import yaml
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for name in ("slm_math", "stages", "configs", "params.yaml"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    for sub in ("train", "benchmarks"):
        if (data_dir / sub).is_dir():
            shutil.copytree(data_dir / sub, root / "data" / sub)
    if (data_dir / "cot" / "verified.jsonl").is_file():
        (root / "data" / "cot").mkdir(parents=True)
        shutil.copy(data_dir / "cot" / "verified.jsonl", root / "data" / "cot" / "verified.jsonl")
    base = root / "models" / "base"
    base.mkdir(parents=True)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenizer.save_pretrained(base)
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=256, intermediate_size=688, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )).save_pretrained(base)
    params = yaml.safe_load((root / "params.yaml").read_text())
    for section, values in overrides.items():
        params[section].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / ".gitignore").write_text("/data/\n/models/\n/mlflow.db\n/mlartifacts/\n")
    git = ["git", "-c", "user.email=bench@slm-math", "-c", "user.name=bench"]
    if shutil.which("git"):  # the version tag names a commit where git exists
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
        subprocess.run([*git, "commit", "-qm", "workspace"], cwd=root, check=True)


def launch_stage(root: Path, stage: str, *, cpu: bool, processes: int,
                 config: str) -> tuple[dict, float]:
    """Run `python -m stages.<stage>` in `root` under `accelerate launch` (or torch.distributed
    on CPU); return its environment and wall seconds. A failed launch stops the benchmark."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
           "TOKENIZERS_PARALLELISM": "false"}
    if cpu:  # DDP over gloo: what accelerate does on GPUs, minus the GPUs
        launch = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes)]
    else:
        launch = [sys.executable, "-m", "accelerate.commands.launch",
                  "--config_file", str(root / "configs" / "accelerate" / f"{config}.yaml"),
                  "--num_processes", str(processes)]
    start = time.perf_counter()
    proc = subprocess.run([*launch, "-m", f"stages.{stage}"], cwd=root, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"accelerate launch failed with status {proc.returncode}")
    return env, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--config", default="fsdp", help="configs/accelerate/<name>.yaml")
    parser.add_argument("--cpu", action="store_true", help="run on CPU (DDP over gloo)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workspace", default="/tmp/slm_math_multi_gpu")
    parser.add_argument("--tokenizer", default=str(REPO / "models" / "base"))
    parser.add_argument("--data", default=str(REPO / "data"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "sft_multi_gpu.json"))
    args = parser.parse_args()

    root = Path(args.workspace)
    build_workspace(root, Path(args.tokenizer), Path(args.data), {"sft_full": {
        "learning_rate": 1e-3, "max_steps": args.steps, "save_steps": args.steps,
        "max_examples": 1024, "effective_batch_size": 32, "per_device_batch_size": 16,
        "warmup_ratio": 0.0}})
    env, wall = launch_stage(root, "sft_full", cpu=args.cpu, processes=args.processes,
                             config=args.config)

    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    metrics = json.loads((root / "metrics" / "sft_full.json").read_text())
    curve = root / "dvclive" / "sft_full" / "plots" / "metrics" / "loss.tsv"
    if curve.is_file():
        with open(curve) as fh:
            losses = [float(r["loss"]) for r in csv.DictReader(fh, delimiter="\t")]
    else:  # no dvclive on this machine: the same per-step losses from the MLflow run
        losses = None
    client = MlflowClient()
    versions = client.search_model_versions("name='slm-math-sft-full'")
    current = client.get_model_version_by_alias("slm-math-sft-full", "current")
    if losses is None:
        history = client.get_metric_history(current.run_id, "loss")
        losses = [m.value for m in sorted(history, key=lambda m: m.step)]
    result = {
        "benchmark": "sft_multi_gpu", "config": "cpu-ddp" if args.cpu else args.config,
        "processes": args.processes, "world_size": metrics["world_size"],
        "steps": metrics["steps"], "effective_batch_size": metrics["effective_batch_size"],
        "per_device_batch_size": metrics["per_device_batch_size"],
        "gradient_accumulation_steps": metrics["gradient_accumulation_steps"],
        "first_loss": losses[0], "final_loss": metrics["final_loss"],
        "eval_loss_before": metrics.get("eval_loss_before"), "eval_loss": metrics.get("eval_loss"),
        "tokens_per_s": metrics["tokens_per_s"], "wall_s": round(wall, 1),
        "registered_versions": len(versions), "current_version": str(current.version),
        "version_tags": dict(current.tags),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
    }
    import torch
    if torch.cuda.is_available() and not args.cpu:
        result["machine"]["gpus"] = [torch.cuda.get_device_name(i)
                                     for i in range(torch.cuda.device_count())]
    print(json.dumps(result, indent=2))
    assert result["world_size"] == args.processes, "the stage did not see every process"
    assert result["final_loss"] < result["first_loss"], "the loss did not fall"
    assert len(versions) == 1, "expected exactly one registered checkpoint"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
