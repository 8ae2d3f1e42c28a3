"""The report's GRPO section: what each GRPO model learned, and what it may have forgotten.

One row per GRPO model of the eval matrix, from its stage's metrics file
(``metrics/<model>.json``): the training reward at the first and last step, the share of
zero-variance groups (before dynamic sampling's filter, and in what the loss saw), the extra
generation dynamic sampling cost, and two held-out curves, each from the start through every
check to the end: greedy accuracy on the training benchmarks' test problems, and on the
held-out guard (a benchmark outside the training tasks, CHAMP by default), with the problems
the start solved and the end lost. The first shows GRPO learning where the training reward
cannot (the live curriculum retires solved problems, so the reward falls as the model
improves); a gain on the training tasks bought with forgetting shows as a falling guard.
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


#: a curve cell shows at most this many points: the start, the end, evenly spaced between
CURVE_POINTS = 8


def _curve(curve: Mapping[str, Sequence] | None, start: Any, end: Any) -> str:
    """A held-out curve as ``start → ... → end`` in percent (``start → end`` without one)."""
    values = list((curve or {}).get("accuracy") or [start, end])
    if len(values) > CURVE_POINTS:
        last = len(values) - 1
        values = [values[round(i * last / (CURVE_POINTS - 1))] for i in range(CURVE_POINTS)]
    return " → ".join(_num(v, percent=True) for v in values)


def _every(report: Mapping[str, Any] | None) -> str:
    """``, every N steps`` where a curve has checks between its start and its end."""
    if not report or len(report.get("curve", {}).get("step", [])) <= 2:
        return ""
    return f", every {report['every']} steps"


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
        held, tasks = m.get("held_out_before") or {}, m.get("held_out_tasks")
        curve = (tasks or {}).get("curve")
        held_cell = (f"{_curve(curve, m.get('held_out_accuracy_before'), m.get('held_out_accuracy_after'))}"
                     f" (n={held.get('n', '–')}{_every(tasks)})")
        guard = m.get("held_out_guard")
        if guard:
            points = _curve(guard.get("curve"), guard["start"]["accuracy"], guard["end"]["accuracy"])
            guard_cell = (f"{guard['benchmark']} {points} (n={guard['n']}{_every(guard)}; "
                          f"lost {len(guard['lost'])}, gained {len(guard['gained'])})")
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
        "the run's; greedy held-out accuracy from the start through each check (every "
        "`held_out.every` steps) to the end, on the same test problems of the training "
        "benchmarks (the training reward cannot show learning: the live curriculum retires "
        "solved problems and draws harder ones, so it falls as the model improves) and on the "
        "held-out guard, a benchmark outside the training tasks (a gain bought with forgetting "
        "shows as a falling guard; lost: problems the start solved and the end did not).",
        "",
        grpo_table(metrics),
        "",
    ]
