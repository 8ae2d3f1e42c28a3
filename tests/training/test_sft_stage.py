"""The sft_lora stage end to end: model, metrics, DVCLive curves, MLflow run and registry."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from slm_math.config.params import Params, TrackingParams
from slm_math.tracking import data_hash, params_hash
from slm_math.training.sft_stage import StagePaths, run_sft_stage
from tests.training.helpers import quick_params


def test_sft_lora_stage_registers_a_tagged_version(tiny_model_dir, sft_data, tmp_path,
                                                   monkeypatch):
    from mlflow import MlflowClient

    problems_dir, traces = sft_data
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = Params(seed=3, sft_lora=quick_params("lora", merge=True),
                    tracking=TrackingParams(experiment="stage-test"))
    paths = StagePaths(traces=traces, problems=problems_dir, base_model=tiny_model_dir,
                       models=tmp_path / "models", metrics=tmp_path / "metrics",
                       dvclive=tmp_path / "dvclive")
    run_sft_stage("sft_lora", params, paths)

    metrics = json.loads((tmp_path / "metrics" / "sft_lora.json").read_text())
    for key in ("final_loss", "best_loss", "tokens_seen", "wall_time_s", "tokens_per_s",
                "eval_loss_before", "eval_loss"):
        assert isinstance(metrics[key], (int, float)), key
    assert metrics["eval_loss"] < metrics["eval_loss_before"]
    assert metrics["params_hash"] == params_hash(params.sft_lora, {"seed": 3})
    assert metrics["data_hash"] == data_hash(traces, problems_dir)
    assert (tmp_path / "models" / "sft_lora" / "adapter_config.json").is_file()
    assert (tmp_path / "models" / "sft_lora" / "merged" / "model.safetensors").is_file()

    # per-step curves as DVC plots read them: one row per optimizer step
    curves = tmp_path / "dvclive" / "sft_lora" / "plots" / "metrics"
    with open(curves / "loss.tsv") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    with open(curves / "learning_rate.tsv") as fh:
        rates = [float(r["learning_rate"]) for r in csv.DictReader(fh, delimiter="\t")]
    assert rates[0] == 0.02 and rates == sorted(rates, reverse=True)  # cosine, no warmup
    with open(curves / "eval" / "loss.tsv") as fh:  # held-out loss before (step 0) and after
        evals = [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(fh, delimiter="\t")]
    assert [s for s, _ in evals] == [0, 4] and evals[1][1] < evals[0][1]

    client = MlflowClient()
    version = client.get_model_version_by_alias("slm-math-sft-lora", "current")
    assert str(version.version) == metrics["registered_version"]
    assert version.tags["params_hash"] == metrics["params_hash"]
    assert version.tags["data_hash"] == metrics["data_hash"]
    assert version.tags["git_commit"] == metrics["git_commit"] != "unknown"
    run = client.get_run(version.run_id)
    assert run.data.params["sft_lora.lora.r"] == "8"
    assert run.data.params["learning_rate"] == "0.02"  # TrainingArguments via report_to
    assert run.data.metrics["tokens_seen"] == metrics["tokens_seen"]
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [1, 2, 3, 4]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert "model/adapter_model.safetensors" in artifacts
    assert not Path(paths.checkpoints("sft_lora")).exists()
