"""Trainer callbacks the training stages add beyond ``report_to``.

DVCLive writes the per-step curves (``dvclive/<stage>/plots/metrics/train/loss.tsv`` and
friends) that dvc.yaml declares as plots, through transformers' own ``DVCLiveCallback``
given a ``Live`` that writes into the stage's folder, never edits dvc.yaml (the pipeline
declares the plots) and never makes its own DVC experiment (``dvc exp run`` does).
"""

from __future__ import annotations

from pathlib import Path


def dvclive_callback(folder: str | Path, *, resume: bool):
    """transformers' ``DVCLiveCallback`` writing to ``folder``; ``resume`` keeps earlier steps."""
    from dvclive import Live
    from transformers.integrations import DVCLiveCallback

    live = Live(dir=str(folder), resume=resume, save_dvc_exp=False, dvcyaml=None)
    return DVCLiveCallback(live=live)
