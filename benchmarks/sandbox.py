"""Sandbox throughput and latency per isolation mode: runs per wall-second and per CPU-second.

    python benchmarks/sandbox.py [--runs N] [--workers W] [--modes zygote,bwrap]

Runs a trivial snippet (`print(1 + 1)`) and a sympy one through `run_many` with W workers
(default 2: both cores), in every isolation mode that works here. Prints a table and writes
benchmarks/results/sandbox.json (numbers, load average, machine, versions). The machine may be
shared: runs/s depends on what else runs, CPU-ms per run much less (see measure()).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slm_math.sandbox import available_isolations, pool, run_many, run_python  # noqa: E402
from slm_math.sandbox.isolation import bwrap_prefix  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "sandbox.json"
TRIVIAL = "print(1 + 1)"
SYMPY = "import sympy\nprint(sympy.factorint(2**32 + 1))"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _proc_cpu_s(pid: int) -> float:
    """CPU seconds of pid and of its children it already reaped (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return found


def _zygote_cpu_s() -> float:
    """CPU of the zygote's sandbox: bwrap, its pid 1, the zygote and the runs it reaped."""
    if pool._pool is None:
        return 0.0
    return sum(_proc_cpu_s(pid) for pid in _descendants(pool._pool._proc.pid))


def measure(mode: str, code: str, runs: int, workers: int) -> dict:
    """Run code `runs` times through run_many on `workers` threads; throughput and per-run latency."""
    run_python(code, isolation=mode)  # warm the page cache, the probes and the zygote

    cpu_start, zygote_start = os.times(), _zygote_cpu_s()
    start = time.perf_counter()
    results = run_many([code] * runs, workers=workers, isolation=mode)
    elapsed = time.perf_counter() - start
    cpu_end, zygote_end = os.times(), _zygote_cpu_s()
    bad = [r for r in results if not r.ok]
    assert not bad, bad[0]
    # CPU of this process and all it waited for: what a run costs, whatever else the machine is
    # doing. Under bwrap the sandboxed interpreter is reaped inside the namespace, so its own
    # report (cpu_s) is added; the zygote's runs are reaped by the zygote, whose CPU (and its
    # reaped children's) /proc tells. Kernel work done in worker threads (a network namespace's
    # teardown) is not charged to any of them.
    cpu = sum(cpu_end[:4]) - sum(cpu_start[:4])
    if mode == "bwrap":
        cpu += sum(r.cpu_s for r in results)
    if mode == "zygote":
        cpu += zygote_end - zygote_start
    cpu_per_run = cpu / runs
    latencies = [r.wall_s for r in results]
    return {
        "runs": runs,
        "workers": workers,
        "runs_per_s": round(runs / elapsed, 1),
        "runs_per_cpu_s": round(1 / cpu_per_run, 1),
        "cpu_ms_per_run": round(1000 * cpu_per_run, 2),
        "idle_ceiling_runs_per_s": round(os.cpu_count() / cpu_per_run, 1),
        "latency_p50_ms": round(1000 * _percentile(latencies, 0.5), 1),
        "latency_p99_ms": round(1000 * _percentile(latencies, 0.99), 1),
    }


def startup_costs(runs: int = 20) -> dict[str, dict[str, float]]:
    """Where a process-per-run sandbox spends its start: median wall ms and mean CPU ms of each step.

    CPU is this process's waited-for children's; under bwrap the command inside is reaped in
    its pid namespace, so only bwrap's own share shows.
    """
    with tempfile.TemporaryDirectory(prefix="slm-sandbox-bench-") as workdir:
        bwrap = list(bwrap_prefix(workdir)) if shutil.which("bwrap") else None
        steps = {
            "/bin/true": ["/bin/true"],
            "python -I -S -c pass": [sys.executable, "-I", "-S", "-c", "pass"],
            "python -I -c pass (site)": [sys.executable, "-I", "-c", "pass"],
        }
        if bwrap:
            steps["bwrap /bin/true"] = [*bwrap, "/bin/true"]
            steps["bwrap python -I -S -c pass"] = [*bwrap, sys.executable, "-I", "-S", "-c", "pass"]
        costs = {}
        for name, argv in steps.items():
            walls = []
            cpu_start = os.times()
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
                walls.append(time.perf_counter() - start)
            cpu_end = os.times()
            costs[name] = {"wall_ms_p50": round(1000 * _percentile(walls, 0.5), 1),
                           "cpu_ms": round(1000 * (sum(cpu_end[2:4]) - sum(cpu_start[2:4])) / runs, 1)}
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default=None, help="comma-separated isolation modes (default: all that work)")
    args = parser.parse_args()

    load_before = os.getloadavg()
    modes = available_isolations()
    if args.modes:
        modes = tuple(m for m in args.modes.split(",") if m in modes)
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
            "loadavg_before": list(load_before),
            "loadavg_after": list(os.getloadavg()),
        },
        "default_isolation": available_isolations()[0],
        "available_isolations": list(available_isolations()),
        "startup_costs": startup_costs(),
        "results": rows,
    }

    print(f"{'isolation':<10} {'code':<8} {'runs':>5} {'runs/s':>8} {'runs/cpu-s':>10} {'cpu ms/run':>10} "
          f"{'idle ceiling/s':>14} {'p50 ms':>8} {'p99 ms':>8}")
    for mode, by_code in rows.items():
        for name, row in by_code.items():
            print(f"{mode:<10} {name:<8} {row['runs']:>5} {row['runs_per_s']:>8} {row['runs_per_cpu_s']:>10} "
                  f"{row['cpu_ms_per_run']:>10} {row['idle_ceiling_runs_per_s']:>14} "
                  f"{row['latency_p50_ms']:>8} {row['latency_p99_ms']:>8}")
    after = os.getloadavg()
    print(f"load average (1/5/15 min) at start: {load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}; "
          f"at end: {after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f}")
    print(f"\n{'start-up step':<28} {'wall ms p50':>11} {'cpu ms':>7}")
    for name, cost in report["startup_costs"].items():
        print(f"{name:<28} {cost['wall_ms_p50']:>11} {cost['cpu_ms']:>7}")
    print(f"{os.cpu_count()} CPUs; Python {platform.python_version()}; default isolation {report['default_isolation']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
