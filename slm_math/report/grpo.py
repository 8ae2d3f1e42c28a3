"""The report's GRPO section: what each GRPO model learned, and what it may have forgotten.

One row per GRPO model of the eval matrix, from its stage's metrics file
(``metrics/<model>.json``): the training reward at the first and last step, the share of
zero-variance groups (before dynamic sampling's filter, and in what the loss saw), the extra
generation dynamic sampling cost, held-out accuracy on the training benchmarks' test
problems, and the held-out guard (a benchmark outside the training tasks, CHAMP by default)
at the start and the end, with the problems the start solved and the end lost. A gain on
the training tasks bought with forgetting shows as a falling guard.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def read_grpo_metrics(folder: str | Path, models: Sequence[str]) -> dict[str, dict]:
    """model -> its GRPO stage metrics, for the models whose ``<folder>/<model>.json`` is one
    (GRPO metrics hold ``reward_first``); other models are skipped."""
    out = {}
    for model in dict.fromkeys(models):
        path = Path(folder) / f"{model}.json"
        if path.is_file():
            metrics = json.loads(path.read_text())
            if isinstance(metrics, dict) and "reward_first" in metrics:
                out[model] = metrics
    return out


def _num(value: Any, percent: bool = False) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}%" if percent else f"{value:.3f}"


def _arrow(start: Any, end: Any, percent: bool = False) -> str:
    return f"{_num(start, percent)} → {_num(end, percent)}"


def grpo_table(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """The markdown table of the GRPO section (see the module docstring)."""
    lines = ["| model | steps | reward first → last | zero-variance groups: drawn / trained "
             "| extra generation | held-out (training tasks) | held-out guard |",
             "|---|---|---|---|---|---|---|"]
    for model, m in metrics.items():
        dynamic = m.get("dynamic_sampling") or {}
        if dynamic.get("enabled"):
            # both shares on dynamic sampling's own metric (TRL's frac_reward_zero_std is on
            # the weighted total, where a group can vary on the format reward alone)
            drawn, trained = dynamic.get("zero_std_before_mean"), dynamic.get("zero_std_trained_mean")
            shares = f"{_num(drawn, True)} / {_num(trained, True)} ({dynamic.get('metric', '–')})"
            extra = _num(dynamic.get("extra_generation_share"), percent=True)
        else:
            drawn = m.get("frac_reward_zero_std_mean", dynamic.get("frac_reward_zero_std_mean"))
            shares = f"{_num(drawn, True)} / {_num(drawn, True)} (reward)"
            extra = "off"
        held = m.get("held_out_before") or {}
        held_cell = f"{_arrow(m.get('held_out_accuracy_before'), m.get('held_out_accuracy_after'), True)}" \
            f" (n={held.get('n', '–')})"
        guard = m.get("held_out_guard")
        if guard:
            guard_cell = (f"{guard['benchmark']} {_arrow(guard['start']['accuracy'], guard['end']['accuracy'], True)}"
                          f" (n={guard['n']}; lost {len(guard['lost'])}, gained {len(guard['gained'])})")
        else:
            guard_cell = "not measured"
        lines.append(f"| {model} | {m.get('steps', '–')} | {_arrow(m.get('reward_first'), m.get('reward_last'))} "
                     f"| {shares} | {extra} | {held_cell} | {guard_cell} |")
    return "\n".join(lines)


def grpo_section(metrics: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The section's lines (none when the matrix has no GRPO model with metrics)."""
    if not metrics:
        return []
    return [
        "## GRPO: learned and forgotten",
        "",
        "Per GRPO model (its stage's `metrics/<model>.json`): the mean training reward at the "
        "first and last step; the share of groups whose K rewards were all equal (no "
        "gradient) among those the sampler drew, and among those the loss trained on after "
        "dynamic sampling, on the metric named (dynamic sampling's; `reward`, the weighted "
        "total, without it); the completions dynamic sampling generated on top, as a share of "
        "the run's; greedy held-out accuracy at the start and the end on the training "
        "benchmarks' test problems and on the held-out guard, a benchmark outside the "
        "training tasks (a gain bought with forgetting shows as a falling guard; lost: "
        "problems the start solved and the end did not).",
        "",
        grpo_table(metrics),
        "",
    ]
