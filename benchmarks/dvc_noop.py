"""How long a no-op `dvc repro` takes in this repo (target: under 3 s).

Run after a full `dvc repro`: every stage is up to date, so the time is DVC's own start-up,
the params/deps/outs hash checks (cached by DVC's state database) and nothing else.

    python benchmarks/dvc_noop.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, print_table, write_results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    dvc = str(Path(sys.executable).parent / "dvc")
    status = subprocess.run([dvc, "status", "-q"], capture_output=True, text=True)
    if status.returncode != 0:
        sys.exit("the pipeline is not up to date: run `dvc repro` first")
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = subprocess.run([dvc, "repro"], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if "didn't change" not in result.stdout and "up to date" not in result.stdout:
            sys.exit(f"dvc repro did work, so it is no no-op:\n{result.stdout}")
    start = time.perf_counter()
    subprocess.run([dvc, "version"], capture_output=True)
    startup = time.perf_counter() - start
    rows = [{"measure": "dvc repro (no-op), median s", "value": statistics.median(times)},
            {"measure": "dvc repro (no-op), min s", "value": min(times)},
            {"measure": "dvc repro (no-op), max s", "value": max(times)},
            {"measure": "dvc version (start-up only) s", "value": startup}]
    print_table(rows, ["measure", "value"])
    write_results("dvc_noop", {"runs": times, "median_s": statistics.median(times),
                               "min_s": min(times), "startup_s": startup, "target_s": 3.0,
                               "machine": machine(("dvc",))})


if __name__ == "__main__":
    main()
