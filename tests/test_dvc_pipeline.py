"""Real DVC on the project's own stages: download → agent_eval → report in a temp git repo.

A tiny model (a local directory as `model.base`) and a 3-problem benchmark keep it quick.
Asserted: `dvc repro` runs every stage; a second `dvc repro` runs none; a param read only by
agent_eval re-runs agent_eval and report but not download; `dvc exp run -S` makes an
experiment whose changed metric `dvc metrics diff` shows; a queued two-point sweep runs under
`dvc queue start` and `dvc exp show` lists both points.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

STAGES = ("download", "agent_eval", "report")


def run(cmd: list[str], cwd: Path, env: dict, timeout: int = 900) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def ran(output: str) -> set[str]:
    """Stages DVC says it ran, by name (matrix cells by their prefix)."""
    names = set()
    for line in output.splitlines():
        if line.startswith("Running stage '"):
            names.add(line.split("'")[1].split("@")[0])
    return names


def make_project(tmp_path: Path, stages: tuple[str, ...], edit_params) -> tuple[Path, dict]:
    """A temp git + DVC repo with the project's code, the given dvc.yaml stages and
    params.yaml as ``edit_params(params)`` changes it; returns (repo, env)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "DVC_NO_ANALYTICS": "1"}
    for folder in ("slm_math", "stages"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".dvc" / "plots", repo / ".dvc-plots")
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    pipeline["stages"] = {k: v for k, v in pipeline["stages"].items() if k in stages}
    if "report" in stages and "grpo" not in stages:  # no GRPO model: no GRPO section
        pipeline["stages"]["report"]["deps"].remove("metrics/grpo.json")
    pipeline.pop("artifacts", None)
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    edit_params(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / ".gitignore").write_text("/data/\n/models/\n/mlruns/\n/.cache/\n")
    run(["git", "init", "-q"], repo, env)
    run(["dvc", "init", "-q"], repo, env)
    shutil.move(repo / ".dvc-plots", repo / ".dvc" / "plots")
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "pipeline"], repo, env)
    return repo, env


@pytest.fixture()
def project(tmp_path, tiny_model_dir):
    def edit(params: dict) -> None:
        params["model"]["base"] = str(tiny_model_dir)
        params["data"].update(benchmarks=["chain_sum"], train_size=4, test_size=3)
        params["data"]["tasks"] = {"chain_sum": params["data"]["tasks"]["chain_sum"]}
        params["eval"].update(cells={"base-standard": {"model": "base", "agent": "standard",
                                                      "verifier": "base"}},
                              backend="hf", benchmarks=["chain_sum"], limit=None, batch_size=4)
        params["agents"] = {"standard": {**params["agents"]["standard"], "max_new_tokens": 4}}
        params["report"]["fewshot_baseline"] = None

    return make_project(tmp_path, STAGES, edit)


def cell_metrics(repo: Path) -> dict:
    return json.loads((repo / "metrics/eval/base-standard.json").read_text())


@pytest.mark.slow
def test_repro_noop_exact_invalidation_experiments_and_queue(project):
    repo, env = project
    assert ran(run(["dvc", "repro"], repo, env)) == set(STAGES)
    assert cell_metrics(repo)["n"] == 3
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "first run"], repo, env)

    second = run(["dvc", "repro"], repo, env)
    assert ran(second) == set() and "up to date" in second

    # a param only agent_eval reads: download stays, agent_eval and report re-run
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["agents"]["standard"]["max_new_tokens"] = 6
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert ran(run(["dvc", "repro"], repo, env)) == {"agent_eval", "report"}
    run(["git", "checkout", "params.yaml"], repo, env)
    run(["dvc", "checkout", "-q"], repo, env)

    # an experiment: its changed metric shows in `dvc metrics diff`
    run(["dvc", "exp", "run", "-S", "agents.standard.max_new_tokens=2"], repo, env)
    assert cell_metrics(repo)["tokens_mean"] <= 2
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo, env))
    changed = diff["metrics/eval/base-standard.json"]
    assert changed["tokens_mean"]["old"] > changed["tokens_mean"]["new"]

    # a queued two-point sweep, run by `dvc queue start`, listed by `dvc exp show`
    run(["dvc", "exp", "run", "--queue", "-S", "agents.standard.max_new_tokens=1,3"], repo, env)
    run(["dvc", "queue", "start", "-j", "1"], repo, env)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        status = run(["dvc", "queue", "status"], repo, env)
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(3)
    assert "Failed" not in status, status
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo, env))
    points = set()
    for baseline in shown:
        for exp in (baseline.get("experiments") or []):
            for rev in exp.get("revs", []):
                data = rev.get("data") or {}
                value = (data.get("params", {}).get("params.yaml", {}).get("data", {})
                         .get("agents", {}).get("standard", {}).get("max_new_tokens"))
                if value is not None:
                    points.add(value)
    assert {1, 3} <= points, shown
