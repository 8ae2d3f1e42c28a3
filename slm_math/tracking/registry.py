"""Register a checkpoint in the MLflow Model Registry: a version, its tags, an alias.

Each training stage registers what it wrote (``models/sft_lora/`` ...) as a new version of
its registered model, tagged with the git commit, the params hash and the data hash, and
moves the alias ``current`` to it (MLflow 3 reserves
``latest``: ``models:/<name>/latest`` already means the newest version). Load one back with
``mlflow.artifacts.download_artifacts("models:/slm-math-sft-lora@current")`` and
``from_pretrained`` on the folder it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RegisteredCheckpoint:
    """A model version as the registry holds it."""

    name: str
    version: str
    alias: str
    source: str
    run_id: str
    tags: dict[str, str]


def register_checkpoint(model_dir: str | Path, name: str, *, tags: dict[str, str],
                        alias: str = "current", log_files: bool = True,
                        description: str | None = None) -> RegisteredCheckpoint:
    """Register ``model_dir`` as a new version of ``name`` under the active MLflow run.

    ``log_files`` copies the folder into the run's artifacts (``model/``) and points the
    version there, so it survives the next run overwriting ``model_dir``; without it the
    version points at ``model_dir`` itself (DVC keeps its history).
    """
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("register_checkpoint needs an active MLflow run (see stage_run)")
    model_dir = Path(model_dir)
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        raise FileNotFoundError(f"{model_dir}: no checkpoint to register")
    if log_files:
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
        source = f"{run.info.artifact_uri}/model"
    else:
        source = model_dir.resolve().as_uri()
    client = MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException as err:
        if "RESOURCE_ALREADY_EXISTS" not in str(err.error_code):
            raise
    tags = {k: str(v) for k, v in tags.items()}
    version = client.create_model_version(name, source, run_id=run.info.run_id, tags=tags,
                                          description=description)
    client.set_registered_model_alias(name, alias, version.version)
    return RegisteredCheckpoint(name=name, version=str(version.version), alias=alias,
                                source=source, run_id=run.info.run_id, tags=tags)
