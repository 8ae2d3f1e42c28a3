"""Benchmark: the standard agent with the real 135M base model on 100 offline problems, on CPU.

The problems are the first ones of each offline test set (data/benchmarks/*.jsonl, as the
download stage writes them), taken round-robin across benchmarks until there are --problems;
the agent is `agents.standard` of params.yaml (zero-shot, greedy, the chat template, the
boxed-answer instruction). Prints accuracy with its 95% Wilson interval, per benchmark and
overall, the wall time (model load, generation + grading) and tokens/s; writes
benchmarks/results/standard_agent_cpu.json.

    python benchmarks/standard_agent_cpu.py [--problems 100] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
import transformers  # noqa: E402

from slm_math.agents import build_agent  # noqa: E402
from slm_math.config import load_params  # noqa: E402
from slm_math.evaluation.metrics import cell_metrics  # noqa: E402
from slm_math.evaluation.run import evaluate_cell, load_benchmarks, round_robin  # noqa: E402
from slm_math.generation import SamplingParams, load_generator  # noqa: E402
from slm_math.jsonl import write_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--agent", default="standard", help="agent configuration in params.yaml")
    parser.add_argument("--out", default="benchmarks/results/standard_agent_cpu.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    params = load_params()
    config = params.agents[args.agent]
    problems = round_robin(load_benchmarks(params.eval.benchmarks, "data/benchmarks"), args.problems)
    agent = build_agent(config.type, sampling=SamplingParams(
        temperature=config.temperature, max_new_tokens=config.max_new_tokens, n=config.n,
        seed=params.seed), **config.options)
    load_avg_before = os.getloadavg()
    start = time.perf_counter()
    generator = load_generator("hf", "models/base", device="cpu", dtype="float32",
                               batch_size=params.eval.batch_size)
    load_s = time.perf_counter() - start
    rows = evaluate_cell(agent, generator, problems, model="base", agent_name=args.agent,
                         chunk_size=params.eval.chunk_size)
    wall_s = time.perf_counter() - start
    metrics = cell_metrics(rows, wall_s=wall_s)
    tokens = sum(r["tokens"] for rs in rows.values() for r in rs)
    result = {
        "what": f"{args.agent} agent, SmolLM2-135M-Instruct (models/base, fp32), "
                f"{metrics['n']} offline problems, greedy, max_new_tokens={config.max_new_tokens}",
        "n": metrics["n"], "accuracy": metrics["accuracy"], "ci95": metrics["ci95"],
        "extraction_failure_rate": metrics["extraction_failure_rate"],
        "tokens_mean": metrics["tokens_mean"],
        "per_benchmark": {name: {k: m[k] for k in ("n", "accuracy", "ci95", "extraction_failure_rate")}
                          for name, m in metrics["benchmarks"].items()},
        "wall_s": round(wall_s, 1), "model_load_s": round(load_s, 1),
        "generated_tokens": tokens, "tokens_per_s": round(tokens / (wall_s - load_s), 1),
        "batch_size": params.eval.batch_size,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(),
                    "load_avg_before": [round(x, 2) for x in load_avg_before],
                    "load_avg_after": [round(x, 2) for x in os.getloadavg()],
                    "note": "the machine is shared with other jobs; see load averages"},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
    }
    print(f"{'benchmark':<18}{'n':>5}{'accuracy':>10}   95% CI")
    for name, m in result["per_benchmark"].items():
        print(f"{name:<18}{m['n']:>5}{m['accuracy']:>10.3f}   [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]")
    print(f"{'all':<18}{result['n']:>5}{result['accuracy']:>10.3f}   "
          f"[{result['ci95'][0]:.3f}, {result['ci95'][1]:.3f}]")
    print(f"wall {result['wall_s']} s (model load {result['model_load_s']} s), "
          f"{tokens} tokens, {result['tokens_per_s']} tokens/s, {result['machine']['torch_threads']} threads")
    write_json(args.out, result)
    Path(args.out.replace(".json", ".rows.jsonl")).write_text(
        "".join(json.dumps({k: v for k, v in r.items() if k != "trace"}) + "\n"
                for rs in rows.values() for r in rs))


if __name__ == "__main__":
    main()
