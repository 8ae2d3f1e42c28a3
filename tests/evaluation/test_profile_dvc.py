"""Real DVC on download → profile in a temp git repo: outputs, no-op repro, exact invalidation."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.test_dvc_pipeline import make_project, ran, run


@pytest.mark.slow
def test_profile_stage_under_dvc(tmp_path, tiny_model_dir):
    def edit(params: dict) -> None:
        params["model"]["base"] = str(tiny_model_dir)
        params["data"].update(benchmarks=["products"], train_size=4, test_size=3)
        params["data"]["tasks"] = {"products": params["data"]["tasks"]["products"]}
        params["profile"].update(problems=2, k=2, max_new_tokens=4, fewshot=1, backend="hf",
                                 tasks={"products": params["profile"]["tasks"]["products"]})

    repo, env = make_project(tmp_path, ("download", "profile"), edit)
    assert ran(run(["dvc", "repro"], repo, env)) == {"download", "profile"}
    metrics = json.loads((repo / "metrics" / "profile.json").read_text())
    assert set(metrics["tasks"]["products"]) == {"d1", "d2", "d3"}
    assert metrics["mix"] == {"products": "d2"}  # data.tasks.products is level d2
    assert (repo / "data" / "profile" / "samples.jsonl").is_file()
    assert ran(run(["dvc", "repro"], repo, env)) == set()

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["profile"]["k"] = 3
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran(run(["dvc", "repro"], repo, env)) == {"profile"}
    assert json.loads((repo / "metrics" / "profile.json").read_text())["settings"]["k"] == 3
    show = subprocess.run(["dvc", "metrics", "show", "--json"], cwd=repo, env=env,
                          capture_output=True, text=True, check=True).stdout
    assert "pass_rate" in show
