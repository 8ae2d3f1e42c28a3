"""Tracking: MLflow runs and Model Registry versions; content hashes that tag them.

- :mod:`slm_math.tracking.fingerprint`: git commit, params hash, data hash.
- :mod:`slm_math.tracking.mlflow_runs`: the tracking URI (params, env override), one run per stage.
- :mod:`slm_math.tracking.registry`: register a checkpoint, tag the version, set an alias.

Per-step training curves go through DVCLive (see ``slm_math.training.callbacks``).
"""

from slm_math.tracking.fingerprint import data_hash, git_commit, params_hash
from slm_math.tracking.mlflow_runs import resolve_tracking_uri, stage_run
from slm_math.tracking.registry import RegisteredCheckpoint, register_checkpoint

__all__ = ["RegisteredCheckpoint", "data_hash", "git_commit", "params_hash",
           "register_checkpoint", "resolve_tracking_uri", "stage_run"]
