"""Real DVC on the whole pipeline with a tiny model: a GRPO sweep re-runs exactly what reads GRPO.

download → cotgen (the reference teacher) → verify → sft_lora, sft_full → grpo → agent_eval
cells (base, sft_lora, grpo) → report, in a temp git repo. Asserted: `dvc repro` runs every
stage; `dvc exp run -S grpo.beta=0` (the README's sweep) re-runs grpo, the eval cell that
reads models/grpo and report, and nothing upstream or beside it; `dvc metrics diff` shows
GRPO's changed metrics; the experiment's summary still has every row.
"""

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

STAGES = ("download", "cotgen", "verify", "sft_lora", "sft_full", "profile", "grpo",
          "agent_eval", "report")


def run(cmd: list[str], cwd: Path, env: dict, timeout: int = 1200) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def ran(output: str) -> set[str]:
    """Stage names (matrix/foreach cells in full) that DVC says it ran."""
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}


def tiny_params(tiny_model_dir: str) -> dict:
    """The committed params.yaml cut to seconds: one task, a few problems, a few steps."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"]["base"] = str(tiny_model_dir)
    params["data"].update(benchmarks=["chain_sum"], train_size=8, test_size=3)
    params["data"]["tasks"] = {"chain_sum": params["data"]["tasks"]["chain_sum"]}
    # the offline default's teachers without the served model: standard and tool traces
    params["cotgen"]["teachers"] = [{"name": "reference", "kind": "reference"},
                                    {"name": "reference_tool", "kind": "reference", "format": "tool"}]
    params["cotgen"]["progress"] = False
    for stage in ("sft_lora", "sft_full"):
        params[stage].update(max_examples=8, effective_batch_size=4, per_device_batch_size=4,
                             max_length=96, eval_problems=2, save_steps=100)
    params["grpo"].update(benchmarks=["chain_sum"], num_generations=2, prompts_per_step=2,
                          per_device_batch_size=4, max_steps=2, max_completion_length=8,
                          eval_problems=2, save_steps=100, beta=0.04)
    params["grpo"]["curriculum"].update(mode="none")
    params["grpo"]["held_out"].update(benchmark="chain_sum", problems=2)  # no CHAMP here
    if "profile" in params:  # the tiny model is never right: the profile would drop every task
        params["grpo"]["curriculum"]["profile"] = None
        params["profile"].update(problems=2, k=2, max_new_tokens=4, backend="hf")
    params["eval"].update(benchmarks=["chain_sum"], limit=None, batch_size=4, backend="hf",
                          cells={f"{m}-standard": {"model": m, "agent": "standard", "verifier": m}
                                 for m in ("base", "sft_lora", "grpo")})
    params["agents"] = {"standard": {**params["agents"]["standard"], "max_new_tokens": 6}}
    params["report"]["fewshot_baseline"] = None
    return params


@pytest.fixture()
def project(tmp_path, tiny_model_dir):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "DVC_NO_ANALYTICS": "1",
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    env.pop("SLM_MATH_LOCAL_TEACHER", None)
    for folder in ("slm_math", "stages"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    pipeline["stages"] = {k: v for k, v in pipeline["stages"].items() if k in STAGES}
    pipeline.pop("artifacts", None)
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    (repo / "params.yaml").write_text(yaml.safe_dump(tiny_params(tiny_model_dir), sort_keys=False))
    (repo / ".gitignore").write_text("/data/\n/models/\n/mlruns/\n/mlflow.db\n/mlartifacts/\n/.cache/\n")
    run(["git", "init", "-q"], repo, env)
    run(["dvc", "init", "-q"], repo, env)
    shutil.copytree(ROOT / ".dvc" / "plots", repo / ".dvc" / "plots")
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "pipeline"], repo, env)
    return repo, env


@pytest.mark.slow
def test_grpo_sweep_reruns_only_grpo_its_evals_and_report(project):
    repo, env = project
    first = ran(run(["dvc", "repro"], repo, env))
    # one sft stage taught all three formats, from the traces cotgen and verify made
    drawn = json.loads((repo / "metrics/sft_lora.json").read_text())["formats"]
    assert {f: c["examples"] for f, c in drawn.items()} == {"standard": 5, "tool": 2, "verdict": 1}
    cot = json.loads((repo / "metrics/cot.json").read_text())
    labels = cot["verdict_traces"]["labels"]
    assert cot["formats"]["tool"]["yield_pct"] == 100.0 and labels["CORRECT"] == labels["INCORRECT"] > 0
    assert {"download", "cotgen", "verify", "sft_lora", "sft_full", "grpo", "report",
            "agent_eval@base-standard", "agent_eval@sft_lora-standard",
            "agent_eval@grpo-standard"} <= first
    before = json.loads((repo / "metrics/grpo.json").read_text())
    assert before["beta"] == 0.04 and "kl_mean" in before  # the KL term is computed
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "first run"], repo, env)

    swept = ran(run(["dvc", "exp", "run", "-S", "grpo.beta=0"], repo, env))
    assert swept == {"grpo", "agent_eval@grpo-standard", "report"}
    after = json.loads((repo / "metrics/grpo.json").read_text())
    assert after["beta"] == 0 and after["params_hash"] != before["params_hash"]
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo, env))
    assert "metrics/grpo.json" in diff
    summary = (repo / "metrics/summary.md").read_text()
    assert all(f"| {m}-standard |" in summary for m in ("base", "sft_lora", "grpo"))
