"""Real DVC on download → profile in a temp git repo: outputs, no-op repro, exact invalidation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_dvc_pipeline import ran, run


@pytest.mark.slow
def test_profile_stage_under_dvc(tmp_path, tiny_model_dir):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "DVC_NO_ANALYTICS": "1"}
    for folder in ("slm_math", "stages"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    pipeline["stages"] = {k: v for k, v in pipeline["stages"].items() if k in ("download", "profile")}
    pipeline.pop("artifacts", None)
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"]["base"] = str(tiny_model_dir)
    params["data"].update(benchmarks=["products"], train_size=4, test_size=3)
    params["data"]["tasks"] = {"products": params["data"]["tasks"]["products"]}
    params["profile"].update(problems=2, k=2, max_new_tokens=4, fewshot=1, backend="hf",
                             tasks={"products": params["profile"]["tasks"]["products"]})
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / ".gitignore").write_text("/data/\n/models/\n/.cache/\n")
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["git", "add", "-A"],
                ["git", "commit", "-qm", "pipeline"]):
        run(cmd, repo, env)

    assert ran(run(["dvc", "repro"], repo, env)) == {"download", "profile"}
    metrics = json.loads((repo / "metrics" / "profile.json").read_text())
    assert set(metrics["tasks"]["products"]) == {"d1", "d2", "d3"}
    assert metrics["mix"] == {"products": "d2"}  # data.tasks.products is level d2
    assert (repo / "data" / "profile" / "samples.jsonl").is_file()
    assert ran(run(["dvc", "repro"], repo, env)) == set()

    params["profile"]["k"] = 3
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran(run(["dvc", "repro"], repo, env)) == {"profile"}
    assert json.loads((repo / "metrics" / "profile.json").read_text())["settings"]["k"] == 3
    show = subprocess.run(["dvc", "metrics", "show", "--json"], cwd=repo, env=env,
                          capture_output=True, text=True, check=True).stdout
    assert "pass_rate" in show
