"""The real dvc.yaml runs sft_lora under `dvc repro` in a temp git repo; DVC reads the curves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.training.conftest import REPO, write_sft_data

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_dvc_repro_runs_the_stage_and_reads_its_plots(tiny_model_dir, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("slm_math", "stages", "dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, repo / name)
    write_sft_data(repo)
    shutil.copytree(tiny_model_dir, repo / "models" / "base")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["sft_lora"].update({"max_steps": 3, "effective_batch_size": 4,
                               "per_device_batch_size": 4, "max_length": 64, "save_steps": 2,
                               "eval_problems": 4, "max_examples": 16, "learning_rate": 0.02,
                               "formats": {"standard": 1.0}})  # the fixture's traces are standard
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(repo))
    git = ["git", "-c", "user.email=t@slm-math", "-c", "user.name=t"]
    _run(["git", "init", "-q"], repo, env)
    _run([bin_dir + "/dvc", "init", "-q"], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run([*git, "commit", "-qm", "pipeline"], repo, env)

    dvc = bin_dir + "/dvc"
    _run([dvc, "repro", "--single-item", "sft_lora"], repo, env)
    metrics = json.loads((repo / "metrics" / "sft_lora.json").read_text())
    assert metrics["steps"] == 3 and metrics["registered_version"] == "1"
    assert (repo / "mlflow.db").is_file()  # the default store: a sqlite file in the repo
    assert (repo / "models" / "sft_lora" / "adapter_model.safetensors").is_file()

    # DVC reads the DVCLive curves declared under plots: with no code of ours
    shown = json.loads(_run([dvc, "plots", "show", "--json"], repo, env))
    assert not [e for e in shown["errors"] if "sft_lora" in e["name"]], shown["errors"]
    curve = shown["data"]["dvclive/sft_lora/plots/metrics/loss.tsv"][0]["content"]["data"]
    assert [int(row["step"]) for row in curve["values"]] == [1, 2, 3]
    assert "dvclive/sft_lora/plots/metrics/learning_rate.tsv" in shown["data"]
    shown_metrics = json.loads(_run([dvc, "metrics", "show", "--json"], repo, env))
    assert "metrics/sft_lora.json" in json.dumps(shown_metrics)

    # the stage's declared deps and outs are complete: nothing left to do on a rerun
    status = _run([dvc, "status", "sft_lora"], repo, env)
    assert "changed" not in status, status
