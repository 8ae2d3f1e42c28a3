"""The report: metrics/summary.md (the ablation table and how to read it) and the data of
the accuracy-by-stage plot, from the eval rows of every cell of the matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from slm_math.evaluation.metrics import accuracy_block
from slm_math.jsonl import read_jsonl
from slm_math.report.table import Results, ablation_table, steps_table


class MissingCellError(FileNotFoundError):
    """An eval cell the report needs has no rows (a user error: one line, exit 2)."""


def read_results(eval_dir: str | Path, cells: Sequence[str]) -> dict[str, dict[str, list[dict]]]:
    """cell -> benchmark -> eval rows, from `<eval_dir>/<cell>/<benchmark>.jsonl`."""
    out = {}
    for cell in cells:
        folder = Path(eval_dir) / cell
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise MissingCellError(f"{folder}: no eval rows; run `dvc repro agent_eval@{cell}` first")
        out[cell] = {f.stem: read_jsonl(f) for f in files}
    return out


def stage_points(results: Results, cells: Mapping[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Plot data: accuracy (and interval) per cell, benchmark and pooled; `cells` maps a cell
    name to its (model, agent), models in pipeline order of first appearance."""
    stage_index = {m: i for i, m in enumerate(dict.fromkeys(m for m, _ in cells.values()))}
    points = []
    for name, (model, agent) in cells.items():
        index = stage_index[model]
        cell = results.get(name)
        if cell is not None:
            pooled = [r for rows in cell.values() for r in rows]
            for bench, rows in [*cell.items(), ("all", pooled)]:
                block = accuracy_block(rows)
                points.append({"model": model, "stage_index": index, "agent": agent,
                               "benchmark": bench, "accuracy": block["accuracy"],
                               "ci_low": block["ci95"][0], "ci_high": block["ci95"][1],
                               "n": block["n"]})
    return points


def problem_counts(results: Results, order: Sequence[str]) -> str:
    """The problems per benchmark, one clause per group of cells that answered the same
    numbers (the agents may run on fewer problems than the baselines)."""
    groups: dict[tuple, list[str]] = {}
    for cell in order:
        if cell in results:
            counts = tuple((b, len(rows)) for b, rows in sorted(results[cell].items()))
            groups.setdefault(counts, []).append(cell)
    clauses = [", ".join(f"{b} {n}" for b, n in counts) for counts in groups]
    if len(groups) == 1:
        return f"Problems per benchmark: {clauses[0]}."
    return "Problems per benchmark: " + "; ".join(
        f"{', '.join(cells)}: {clause}" for (_, cells), clause in zip(groups.items(), clauses)) + \
        " (a delta is computed on the problems both cells answered)."


def render_summary(results: Results, *, cells: Sequence[str], baseline: str,
                   fewshot_baseline: str | None, steps: Sequence[Sequence[str]] = (),
                   profile: str | None = None) -> str:
    """metrics/summary.md: the ablation table (rows in `cells` order) with its legend, then
    each step of `steps` against the one before."""
    order = list(cells)
    step_rows = steps_table(results, steps)
    lines = [
        "# Evaluation summary",
        "",
        *([f"Profile: `{profile}`.", ""] if profile else []),
        "Accuracy (pass@1 of each agent's final answer) with its 95% Wilson interval, per "
        "benchmark and pooled over all problems (`all`). Under each number: the change against "
        f"the zero-shot baseline `{baseline}`"
        + (f" and the few-shot baseline `{fewshot_baseline}`" if fewshot_baseline else "")
        + ", in percentage points, with McNemar's exact two-sided p-value on the same problems. "
        "The last column: for agents that run code, the share of problems whose code ran in the "
        "sandbox (and exited cleanly); for agents that verify, the share of verifier calls that "
        "gave a verdict (best_of_n: P(CORRECT) + P(INCORRECT) >= 0.5). A model that stops "
        "writing code or verdicts shows there.",
        "",
        ablation_table(results, baseline=baseline, fewshot_baseline=fewshot_baseline, order=order),
        "",
        problem_counts(results, order),
        "",
        *(["## Each step against the one before", "",
           "Pooled over the benchmarks both cells answered, on the same problems; McNemar's "
           "exact two-sided p.", "", step_rows, ""] if step_rows else []),
        "Per-cell details (tokens, latency, extraction failures, pass@k, maj@k, MATH level and "
        "subject): `metrics/eval/<model>-<agent>.json`; every prediction and trace: "
        "`data/eval/<model>-<agent>/<benchmark>.jsonl`. Compare two experiments with "
        "`dvc metrics diff` and `slm-math compare A B` (paired tests).",
        "",
    ]
    return "\n".join(lines)


def plot_accuracy_by_stage(points: Sequence[Mapping[str, Any]], path: str | Path) -> None:
    """A PNG of pooled accuracy by pipeline stage, one line per agent, with interval bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    pooled = [p for p in points if p["benchmark"] == "all"]
    models = sorted({(p["stage_index"], p["model"]) for p in pooled})
    for agent in dict.fromkeys(p["agent"] for p in pooled):
        series = sorted((p for p in pooled if p["agent"] == agent), key=lambda p: p["stage_index"])
        xs = [p["stage_index"] for p in series]
        ys = [p["accuracy"] for p in series]
        errs = [[p["accuracy"] - p["ci_low"] for p in series], [p["ci_high"] - p["accuracy"] for p in series]]
        ax.errorbar(xs, ys, yerr=errs, marker="o", capsize=4, label=agent)
    ax.set_xticks([i for i, _ in models], [m for _, m in models])
    ax.set_ylim(0, 1)
    ax.set_xlabel("pipeline stage (model)")
    ax.set_ylabel("accuracy, all benchmarks (95% CI)")
    ax.legend(title="agent")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
