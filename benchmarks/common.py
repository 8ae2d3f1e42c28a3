"""Shared by the benchmark and experiment scripts: machine facts, a results writer, a table
printer, a percentage-point formatter."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # scripts that put only benchmarks/ on the path
from slm_math.tracking.machine import cpu_model_and_flags  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
EXPERIMENT_RESULTS = ROOT / "experiments" / "results"


def machine(packages: tuple[str, ...] = ("torch", "transformers")) -> dict:
    """The facts a reader needs to compare numbers: CPU, GPU, Python, package versions."""
    processor, flags = cpu_model_and_flags()
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "processor": processor, "cpu_flags": flags,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    for name in packages:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = None
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    from slm_math.tracking.fingerprint import git_commit

    info["git_commit"] = git_commit(ROOT)  # '-dirty' when the code or params had changes
    return info


def sync(device: str) -> None:
    """Wait for ``device``'s queued work (a CUDA device), so a timer reads its real end."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def pp(delta: float) -> str:
    """A paired difference of two accuracies (fractions) in signed percentage points."""
    return f"{100 * delta:+.1f} pp"


def print_table(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned table on stdout."""
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c)
              for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return "" if value is None else str(value)


def local_prefixes() -> list[tuple[str, str]]:
    """(absolute path of this machine, what a results file says instead), longest first: the
    checkout, the environment, the home and temp folders."""
    pairs = {str(ROOT): ".", sys.prefix: "<venv>", sys.base_prefix: "<python>",
             str(Path.home()): "~", tempfile.gettempdir(): "<tmp>"}
    return sorted(((k, v) for k, v in pairs.items() if len(k) > 1), key=lambda kv: -len(kv[0]))


def without_local_paths(value, prefixes: list[tuple[str, str]] | None = None):
    """`value` (JSON data) with this machine's absolute paths replaced (`local_prefixes`)."""
    prefixes = local_prefixes() if prefixes is None else prefixes
    if isinstance(value, str):
        for prefix, name in prefixes:
            value = value.replace(prefix, name)
        return value
    if isinstance(value, dict):
        return {k: without_local_paths(v, prefixes) for k, v in value.items()}
    if isinstance(value, list):
        return [without_local_paths(v, prefixes) for v in value]
    return value


def write_results(name: str, payload: dict, folder: Path = RESULTS) -> Path:
    """Write <folder>/<name>.json (benchmarks/results by default) atomically, without local
    paths, and say where."""
    from slm_math.jsonl import write_atomic

    path = folder / f"{name}.json"
    write_atomic(path, json.dumps(without_local_paths(payload), indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}",
          file=sys.stderr)
    return path
