"""report: the ablation table (metrics/summary.md) and the accuracy-by-stage plot.

Reads params `eval.cells` and `report`; reads data/eval/<model>-<agent>/*.jsonl of every
cell and metrics/<model>.json of each GRPO model among them (the GRPO section: reward,
zero-variance groups, held-out guard start and end); writes metrics/summary.md (ending with
the commit it came from, `-dirty` when the code or params had uncommitted changes),
metrics/report/accuracy_by_stage.json
(plotted by `dvc plots show`) and metrics/report/accuracy_by_stage.png.
"""

from __future__ import annotations

from slm_math.config import Params
from slm_math.jsonl import write_atomic, write_json
from slm_math.report.grpo import read_grpo_metrics
from slm_math.report.summary import (MissingCellError, plot_accuracy_by_stage, read_results,
                                     render_summary, stage_points)
from slm_math.stage_runner import register_user_error, run_stage
from slm_math.tracking.fingerprint import git_commit

register_user_error(MissingCellError)


def main(params: Params) -> None:
    """Write the summary and the plot data of the whole matrix."""
    cells = {name: (cell.model, cell.agent) for name, cell in params.eval.cells.items()}
    results = read_results("data/eval", list(cells))
    grpo = read_grpo_metrics("metrics", [model for model, _ in cells.values()])
    summary = render_summary(results, cells=list(cells), baseline=params.report.baseline,
                             fewshot_baseline=params.report.fewshot_baseline,
                             steps=params.report.steps, profile=params.profile_name,
                             commit=git_commit(), grpo=grpo)
    write_atomic("metrics/summary.md", summary)
    points = stage_points(results, cells)
    write_json("metrics/report/accuracy_by_stage.json", points)
    plot_accuracy_by_stage(points, "metrics/report/accuracy_by_stage.png")
    print(summary)


if __name__ == "__main__":
    run_stage("report", main)
