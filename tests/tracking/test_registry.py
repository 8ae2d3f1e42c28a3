"""Registered checkpoints: a version per call, tags, the alias on the newest, the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_math.tracking import register_checkpoint, resolve_tracking_uri, stage_run


def _checkpoint(folder: Path, content: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(content)
    return folder


def test_versions_tags_alias_and_files(tracking, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    tags = {"git_commit": "abc123", "params_hash": "p1", "data_hash": "d1"}
    with stage_run(tracking, "sft_lora", params={"sft_lora": {"lora": {"r": 16}}},
                   tags=tags) as run:
        first = register_checkpoint(_checkpoint(tmp_path / "m1", '{"v": 1}'), "test-sft",
                                    tags=tags)
    with stage_run(tracking, "sft_lora", params={"sft_lora": {"lora": {"r": 8}}},
                   tags={**tags, "params_hash": "p2"}):
        second = register_checkpoint(_checkpoint(tmp_path / "m2", '{"v": 2}'), "test-sft",
                                     tags={**tags, "params_hash": "p2"})
    client = MlflowClient()
    assert int(second.version) == int(first.version) + 1
    current = client.get_model_version_by_alias("test-sft", "current")
    assert str(current.version) == second.version and current.run_id == second.run_id
    assert current.tags == {**tags, "params_hash": "p2"}
    older = client.get_model_version("test-sft", first.version)
    assert older.tags["params_hash"] == "p1" and "current" not in older.aliases
    # the run holds every param (flattened) and the stage tag
    logged = client.get_run(run.info.run_id)
    assert logged.data.params["sft_lora.lora.r"] == "16"
    assert logged.data.tags["stage"] == "sft_lora" and logged.data.tags["git_commit"] == "abc123"
    # the version's files are a copy: overwriting the folder leaves the registered one intact
    (tmp_path / "m1" / "config.json").write_text("overwritten")
    local = Path(mlflow.artifacts.download_artifacts(f"models:/test-sft/{first.version}"))
    assert (local / "config.json").read_text() == '{"v": 1}'
    assert mlflow.get_tracking_uri().endswith("mlflow.db")
    assert "must-not-be-used" not in mlflow.get_tracking_uri()


def test_version_can_point_at_the_output_folder(tracking, tmp_path):
    with stage_run(tracking, "sft_full", params={}):
        version = register_checkpoint(_checkpoint(tmp_path / "m", "{}"), "test-ref", tags={},
                                      log_files=False)
    assert version.source == (tmp_path / "m").resolve().as_uri()


def test_register_needs_a_run_and_a_checkpoint(tracking, tmp_path):
    with pytest.raises(RuntimeError, match="active MLflow run"):
        register_checkpoint(tmp_path, "x", tags={})
    with stage_run(tracking, "sft_full", params={}):
        with pytest.raises(FileNotFoundError, match="no checkpoint"):
            register_checkpoint(tmp_path / "missing", "x", tags={})


def test_failed_stage_marks_the_run_failed(tracking):
    from mlflow import MlflowClient

    with pytest.raises(ValueError):
        with stage_run(tracking, "sft_full", params={}) as run:
            raise ValueError("boom")
    assert MlflowClient().get_run(run.info.run_id).info.status == "FAILED"


def test_tracking_uri_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri("sqlite:///mlflow.db", tmp_path) == \
        f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert resolve_tracking_uri("sqlite:////abs/m.db", tmp_path) == "sqlite:////abs/m.db"
    assert resolve_tracking_uri("http://mlflow:5000", tmp_path) == "http://mlflow:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://team-server:5000")
    assert resolve_tracking_uri("sqlite:///mlflow.db", tmp_path) == "http://team-server:5000"
