"""Trainer callbacks the training stages add beyond ``report_to``.

DVCLive writes the per-step curves (``dvclive/<stage>/plots/metrics/train/loss.tsv``,
``train/learning_rate.tsv``, ``eval/loss.tsv`` ...) that dvc.yaml declares as plots, so
``dvc plots show/diff`` and ``dvc exp show`` read them with no code of ours. It is
transformers' own ``DVCLiveCallback`` with two changes: its ``Live`` writes into the
stage's folder, never edits dvc.yaml (the pipeline declares the plots) and never makes
its own DVC experiment (``dvc exp run`` does); and each row is logged at the trainer's
global step, so a resumed run's curve continues where the checkpoint left off.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from transformers.integrations import DVCLiveCallback

logger = logging.getLogger(__name__)


class GlobalStepDVCLiveCallback(DVCLiveCallback):
    """``DVCLiveCallback`` whose step axis is the optimizer step, not the log-call count."""

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if self.live is not None and state.is_world_process_zero:
            self.live.step = state.global_step
        super().on_log(args, state, control, model=model, logs=logs, **kwargs)


def dvclive_callback(folder: str | Path, *, resume: bool) -> GlobalStepDVCLiveCallback | None:
    """The DVCLive callback writing to ``folder``; ``resume`` keeps the earlier rows.

    ``None``, with a warning, where dvclive is not installed (a bare GPU node): training
    and MLflow logging go on, only the DVC plot files are missing.
    """
    if importlib.util.find_spec("dvclive") is None:
        logger.warning("dvclive is not installed: no per-step curves in %s", folder)
        return None
    from dvclive import Live

    live = Live(dir=str(folder), resume=resume, save_dvc_exp=False, dvcyaml=None)
    return GlobalStepDVCLiveCallback(live=live)
