"""One MLflow run per stage, on the tracking URI that params (or the environment) name.

The default URI is a sqlite file in the repo (``sqlite:///mlflow.db``), with artifacts in
``mlartifacts/`` beside it, so runs and the Model Registry work offline with no server:
``mlflow ui --backend-store-uri sqlite:///mlflow.db`` browses them. ``MLFLOW_TRACKING_URI``
overrides params (a team server, a test's temp file).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from slm_math.config import flatten
from slm_math.config.params import TrackingParams

SQLITE_PREFIX = "sqlite:///"


def resolve_tracking_uri(configured: str, root: str | Path = ".") -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``configured``; a relative sqlite path made absolute."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or configured
    if uri.startswith(SQLITE_PREFIX) and not uri.startswith(SQLITE_PREFIX + "/"):
        uri = SQLITE_PREFIX + str((Path(root) / uri[len(SQLITE_PREFIX):]).resolve())
    return uri


def sqlite_file(uri: str) -> Path | None:
    """The database file of a sqlite tracking URI; None for any other store."""
    return Path(uri[len(SQLITE_PREFIX):]) if uri.startswith(SQLITE_PREFIX) else None


def artifact_root(uri: str) -> str | None:
    """Where a new experiment keeps artifacts: ``mlartifacts/`` beside a sqlite file."""
    db = sqlite_file(uri)
    return None if db is None else (db.parent / "mlartifacts").as_uri()  # None: the server decides


def is_main_process() -> bool:
    """True on the process that logs (rank 0 under ``accelerate launch``, or alone)."""
    return int(os.environ.get("RANK", "0")) == 0


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold ``<db>.lock`` beside a sqlite store for the block (no lock for a server).

    `slm-math run --jobs N` starts stages at once; two processes that first touch a new
    sqlite store both create its tables and run its migrations, and one failed ("Online
    migration expected to match one row ... 0 found"); two could also create the same
    experiment.
    """
    db = sqlite_file(uri)
    if db is None:
        yield
        return
    from filelock import FileLock  # torch's own dependency: installed wherever torch is

    db.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db) + ".lock"):
        yield


def use_experiment(tracking: TrackingParams, root: str | Path = ".") -> str:
    """Point MLflow at the tracking URI and experiment (created if new); returns the URI."""
    import mlflow

    uri = resolve_tracking_uri(tracking.uri, root)
    mlflow.set_tracking_uri(uri)
    with store_lock(uri):  # the store's tables and the experiment: created once
        if mlflow.get_experiment_by_name(tracking.experiment) is None:
            mlflow.create_experiment(tracking.experiment, artifact_location=artifact_root(uri))
        mlflow.set_experiment(tracking.experiment)
    return uri


@contextmanager
def stage_run(tracking: TrackingParams, stage: str, *, params: dict[str, Any],
              tags: dict[str, str] | None = None, root: str | Path = ".") -> Iterator[Any]:
    """Open the stage's MLflow run (main process only; other ranks get ``None``).

    Every key of ``params`` is logged flattened (``sft_lora.lora.r``); the transformers
    ``MLflowCallback`` finds this active run and logs the per-step metrics into it. A
    failure inside marks the run FAILED.
    """
    if not is_main_process():
        yield None
        return
    import mlflow

    use_experiment(tracking, root)
    run_tags = {"stage": stage, **(tags or {})}
    if os.environ.get("DVC_EXP_NAME"):
        run_tags["dvc_exp"] = os.environ["DVC_EXP_NAME"]
    with mlflow.start_run(run_name=stage, tags=run_tags) as run:
        flat = {k: ("null" if v is None else v) for k, v in flatten(params).items()}
        mlflow.log_params(flat)
        yield run
