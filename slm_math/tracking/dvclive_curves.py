"""Read the per-step curves DVCLive writes (``<folder>/plots/metrics/**/<name>.tsv``).

A run cut short leaves no metrics file, but DVCLive has written every logged step so far; these
curves are what a partial summary of the run reads. Names are the TSV paths below
``plots/metrics`` without the suffix (``dynamic/zero_std_trained``), as DVCLive logged them.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path


def read_curves(folder: str | Path) -> dict[str, dict[str, list[float]]]:
    """name -> {"step": [...], "value": [...]} for each TSV under ``folder/plots/metrics``.

    ``folder`` is one DVCLive directory (``dvclive/grpo``). Rows whose value does not parse
    as a number are skipped; a missing folder gives an empty dict.
    """
    root = Path(folder) / "plots" / "metrics"
    curves: dict[str, dict[str, list[float]]] = {}
    if not root.is_dir():
        return curves
    for path in sorted(root.rglob("*.tsv")):
        steps, values = [], []
        with path.open(newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                try:
                    step, value = int(row["step"]), float(row[list(row)[-1]])
                except (KeyError, TypeError, ValueError):
                    continue
                if math.isfinite(value):
                    steps.append(step)
                    values.append(value)
        curves[path.relative_to(root).with_suffix("").as_posix()] = {"step": steps, "value": values}
    return curves


def window_means(curve: dict[str, list[float]], width: int) -> list[dict[str, float]]:
    """Means of a curve over consecutive windows of ``width`` logged steps:
    ``[{"from": first step, "to": last step, "mean": ...}, ...]``."""
    if width < 1:
        raise ValueError(f"window width must be >= 1, got {width}")
    out = []
    steps, values = curve["step"], curve["value"]
    for i in range(0, len(values), width):
        chunk = values[i:i + width]
        out.append({"from": steps[i], "to": steps[i + len(chunk) - 1],
                    "mean": round(sum(chunk) / len(chunk), 4)})
    return out
