"""cotgen throughput against the local teacher server, next to the server measured directly.

    python benchmarks/cotgen.py [--model models/base] [--max-tokens 24] [--levels 1 4 16]

One `transformers serve` of the model (the offline default command). At each concurrency,
the same N chat requests (greedy, so both sides generate the same tokens) go:
  direct: raw aiohttp requests, a semaphore, nothing else: the server's own throughput;
  cotgen: the full cascade (prompt template, cache, retries wrapper, grading, fsync'd trace
          log) with one `local` teacher.
Client overhead = 1 - cotgen tokens/s / direct tokens/s. Prints a table and writes
benchmarks/results/cotgen.json with the machine and versions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, write_results  # noqa: E402
from slm_math.config.loader import build  # noqa: E402
from slm_math.config.params import CotgenParams, LocalServerParams  # noqa: E402
from slm_math.data.schema import read_problems  # noqa: E402
from slm_math.teacher import interleave, local_teacher_server, run_cotgen  # noqa: E402
from slm_math.teacher.server import server_command  # noqa: E402
from slm_math.teacher.prompts import chat_messages  # noqa: E402


async def direct(base_url: str, model: str, prompts: list[list[dict]], concurrency: int,
                 max_tokens: int) -> dict:
    """The server's throughput for `prompts` at `concurrency`, with a bare HTTP client."""
    slots = asyncio.Semaphore(concurrency)
    tokens = 0

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as session:
        async def one(messages):
            nonlocal tokens
            async with slots:
                body = {"model": model, "messages": messages, "max_tokens": max_tokens,
                        "temperature": 0.0, "seed": 0}
                async with session.post(f"{base_url}/chat/completions", json=body) as r:
                    tokens += (await r.json())["usage"]["completion_tokens"]
        start = time.perf_counter()
        await asyncio.gather(*(one(m) for m in prompts))
        wall = time.perf_counter() - start
    return {"requests": len(prompts), "tokens_out": tokens, "wall_s": round(wall, 3),
            "requests_per_s": round(len(prompts) / wall, 4), "tokens_per_s": round(tokens / wall, 3)}


def through_cotgen(base_url: str, model: str, problems: list[dict], concurrency: int,
                   max_tokens: int) -> dict:
    """The same requests through `run_cotgen` (fresh cache and trace log)."""
    with tempfile.TemporaryDirectory() as tmp:
        params = build(CotgenParams, {"cache_dir": f"{tmp}/cache", "progress": False, "teachers": [
            {"name": "local", "base_url": base_url, "model": model, "attempts": 1,
             "max_tokens": max_tokens, "temperature": 0.0, "concurrency": concurrency,
             "timeout_s": 3600}]})
        report = run_cotgen(problems, params, seed=0, trace_path=f"{tmp}/traces.jsonl")
    assert report.requests == len(problems), report.to_dict()
    wall = report.wall_s
    return {"requests": report.requests, "tokens_out": report.tokens_out, "wall_s": round(wall, 3),
            "requests_per_s": round(report.requests / wall, 4),
            "tokens_per_s": round(report.tokens_out / wall, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/base")
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--requests", type=int, default=None,
                    help="requests per concurrency level (default: max(24, 4 x level))")
    ap.add_argument("--out", default="benchmarks/results/cotgen.json")
    args = ap.parse_args()
    load_at_start = os.getloadavg()
    problems = interleave([read_problems(f) for f in sorted(Path("data/train").glob("*.jsonl"))])
    rows = []
    server_params = LocalServerParams()  # the stage's default: engine auto
    with local_teacher_server(args.model, server_params) as server:
        url, model = server.base_url, args.model
        warm = [chat_messages("cot", p, thinking_budget=None) for p in problems[:2]]
        asyncio.run(direct(url, model, warm, 2, 4))
        offset = 2
        for i, level in enumerate(args.levels):
            n = args.requests or max(24, 4 * level)
            batch = problems[offset: offset + n]
            offset += n
            prompts = [chat_messages("cot", p, thinking_budget=None) for p in batch]
            # alternate which side goes first, in case the server keeps anything warm
            order = ["direct", "cotgen"] if i % 2 == 0 else ["cotgen", "direct"]
            result = {}
            for side in order:
                result[side] = (asyncio.run(direct(url, model, prompts, level, args.max_tokens))
                                if side == "direct" else
                                through_cotgen(url, model, batch, level, args.max_tokens))
            overhead = 100.0 * (1 - result["cotgen"]["tokens_per_s"] / result["direct"]["tokens_per_s"])
            rows.append({"concurrency": level, "direct": result["direct"],
                         "cotgen": result["cotgen"], "overhead_pct": round(overhead, 2)})
            print(f"c={level}: direct {result['direct']['tokens_per_s']:.1f} tok/s, cotgen "
                  f"{result['cotgen']['tokens_per_s']:.1f} tok/s", file=sys.stderr)
    print(f"\n{'conc':>4} | {'direct req/s':>12} {'tok/s':>8} | {'cotgen req/s':>12} {'tok/s':>8} | overhead")
    for r in rows:
        d, c = r["direct"], r["cotgen"]
        print(f"{r['concurrency']:>4} | {d['requests_per_s']:>12.3f} {d['tokens_per_s']:>8.1f} | "
              f"{c['requests_per_s']:>12.3f} {c['tokens_per_s']:>8.1f} | {r['overhead_pct']:>6.1f}%")
    out = {"benchmark": "cotgen", "model": args.model, "max_tokens": args.max_tokens,
           "server": server_command(args.model, server_params)[0], "rows": rows,
           "machine": {**machine(("torch", "transformers", "openai", "aiohttp", "vllm")),
                       "load_avg_at_start": list(load_at_start),
                       "load_avg_at_end": list(os.getloadavg())},
           "command": " ".join(sys.argv)}
    out_path = Path(args.out)
    write_results(out_path.stem, out, out_path.parent)


if __name__ == "__main__":
    main()
