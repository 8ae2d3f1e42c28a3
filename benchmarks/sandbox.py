"""Sandbox throughput and latency per isolation mode: trivial runs/s with 2 workers, p50/p99.

    python benchmarks/sandbox.py [--runs N] [--workers W]

Prints a table and writes benchmarks/results/sandbox.json (numbers, machine, versions).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slm_math.sandbox import available_isolations, run_python  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox.json"
TRIVIAL = "print(1 + 1)"
SYMPY = "import sympy\nprint(sympy.factorint(2**32 + 1))"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(mode: str, code: str, runs: int, workers: int) -> dict:
    """Run code `runs` times on `workers` threads; throughput and per-run latency."""
    run_python(code, isolation=mode)  # warm the page cache and the probes

    child_cpu = []

    def one(_):
        start = time.perf_counter()
        result = run_python(code, isolation=mode)
        assert result.ok, result.stderr
        child_cpu.append(result.cpu_s)
        return time.perf_counter() - start

    cpu_start = os.times()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        latencies = list(pool.map(one, range(runs)))
    elapsed = time.perf_counter() - start
    cpu_end = os.times()
    # CPU of this process and all it waited for: what a run costs, whatever else the machine is
    # doing; cores / cost is the rate an idle machine would reach. Under bwrap the sandboxed
    # interpreter is reaped inside the namespace, so its own report (cpu_s) is added.
    cpu_per_run = sum(cpu_end[:4]) - sum(cpu_start[:4])
    if mode == "bwrap":
        cpu_per_run += sum(child_cpu)
    cpu_per_run /= runs
    return {
        "cpu_ms_per_run": round(1000 * cpu_per_run, 1),
        "idle_ceiling_runs_per_s": round(os.cpu_count() / cpu_per_run, 1),
        "runs": runs,
        "workers": workers,
        "runs_per_s": round(runs / elapsed, 1),
        "latency_p50_ms": round(1000 * _percentile(latencies, 0.5), 1),
        "latency_p99_ms": round(1000 * _percentile(latencies, 0.99), 1),
    }


def bare_python_startup(runs: int = 20) -> float:
    """Median ms of `python -I -c pass`: the floor any process-per-run sandbox sits on."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return round(1000 * _percentile(times, 0.5), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    modes = available_isolations()
    rows = {}
    for mode in modes:
        rows[mode] = {
            "trivial": measure(mode, TRIVIAL, args.runs, args.workers),
            "sympy": measure(mode, SYMPY, max(10, args.runs // 10), args.workers),
        }
    bwrap_version = None
    if shutil.which("bwrap"):
        bwrap_version = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
    report = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "bwrap": bwrap_version,
            "euid": os.geteuid(),
            # Other work shares this machine; the load says how much of 2 cores we really had.
            "loadavg_1m_before": load_before,
            "loadavg_1m_after": os.getloadavg()[0],
        },
        "default_isolation": modes[0],
        "available_isolations": list(modes),
        "bare_python_startup_ms": bare_python_startup(),
        "results": rows,
    }

    print(f"{'isolation':<10} {'code':<8} {'runs':>5} {'runs/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'cpu ms/run':>10} {'idle ceiling/s':>14}")
    for mode, by_code in rows.items():
        for name, row in by_code.items():
            print(f"{mode:<10} {name:<8} {row['runs']:>5} {row['runs_per_s']:>8} "
                  f"{row['latency_p50_ms']:>8} {row['latency_p99_ms']:>8} "
                  f"{row['cpu_ms_per_run']:>10} {row['idle_ceiling_runs_per_s']:>14}")
    print(f"load average (1 min) before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"bare `python -I -c pass`: {report['bare_python_startup_ms']} ms; "
          f"{os.cpu_count()} CPUs; Python {platform.python_version()}; default isolation {modes[0]}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
