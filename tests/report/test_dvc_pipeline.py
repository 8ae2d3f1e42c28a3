"""The real thing: the project's agent_eval matrix and report stages under `dvc repro` and
`dvc exp run` in a temporary git repo, with a tiny model, then `dvc metrics diff`,
`dvc plots show` and `slm-math compare` between the two experiments."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOY = [
    {"id": f"toy/test/{i}", "source": "toy", "split": "test", "problem": f"What is {i} + {i}?",
     "answer": str(2 * i), "rule": "numeric"} for i in range(1, 4)
]
TRAIN = [
    {"id": f"toy/train/{i}", "source": "toy", "split": "train", "problem": f"What is {i} + 1?",
     "answer": str(i + 1), "rule": "numeric", "solution": f"{i} + 1 = {i + 1}"} for i in range(5, 9)
]


def run(cmd: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.slow
def test_matrix_repro_exp_run_metrics_diff_and_compare(tmp_path, tiny_model_dir):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for folder in ("slm_math", "stages"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    # the project's stages, minus download (the data is made here)
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    stages = {name: pipeline["stages"][name] for name in ("agent_eval", "report")}
    stages["report"]["deps"].remove("metrics/grpo.json")  # no GRPO model in these cells
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["eval"].update(benchmarks=["toy"], limit=None, batch_size=4, chunk_size=2, backend="hf",
                          cells={f"base-{a}": {"model": "base", "agent": a, "verifier": "base"}
                                 for a in ("standard", "fewshot")})  # two cells are enough here
    params["agents"]["standard"]["max_new_tokens"] = 8
    params["agents"]["fewshot"].update(fewshot=2, max_new_tokens=8)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    write_jsonl(repo / "data/benchmarks/toy.jsonl", TOY)
    write_jsonl(repo / "data/train/toy.jsonl", TRAIN)
    shutil.copytree(tiny_model_dir, repo / "models/base")
    run(["git", "init", "-q"], repo, env)
    run(["dvc", "init", "-q"], repo, env)
    shutil.copytree(ROOT / ".dvc/plots", repo / ".dvc/plots")
    run(["dvc", "add", "-q", "data/benchmarks", "data/train", "models/base"], repo, env)

    out = run([sys.executable, "-m", "slm_math.cli", "run"], repo, env)
    assert "agent_eval@base-standard" in out and "agent_eval@base-fewshot" in out
    assert "stage wall times" in out and "total" in out
    metrics = json.loads((repo / "metrics/eval/base-standard.json").read_text())
    assert metrics["n"] == 3 and len(metrics["ci95"]) == 2
    assert metrics["benchmarks"]["toy"]["tokens_mean"] > 3
    assert (repo / "data/eval/base-fewshot/toy.jsonl").exists()
    assert "| base-fewshot |" in (repo / "metrics/summary.md").read_text()
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "baseline"], repo, env)
    assert "Data and pipelines are up to date" in run(["dvc", "repro"], repo, env)

    # a param of one agent re-runs that agent's cell and the report, nothing else
    out = run(["dvc", "exp", "run", "-n", "short", "-S", "agents.standard.max_new_tokens=3"], repo, env)
    assert "Running stage 'agent_eval@base-standard'" in out
    assert "Running stage 'agent_eval@base-fewshot'" not in out
    diff = json.loads(run(["dvc", "metrics", "diff", "HEAD", "short", "--json"], repo, env))
    changed = diff["metrics/eval/base-standard.json"]
    assert changed["benchmarks.toy.tokens_mean"]["new"] <= 3 < changed["benchmarks.toy.tokens_mean"]["old"]
    assert "metrics/eval/base-fewshot.json" not in diff or not diff["metrics/eval/base-fewshot.json"]

    compare = json.loads(run([sys.executable, "-m", "slm_math.cli", "compare", "HEAD", "short",
                              "--json"], repo, env))
    cells = {(c["cell"], c["benchmark"]): c for c in compare["cells"]}
    assert cells[("base-standard", "toy")]["n"] == 3
    assert cells[("base-fewshot", "toy")]["delta"] == 0.0  # unchanged cell: identical rows
    assert 0 <= cells[("base-standard", "all")]["p_value"] <= 1

    html = run(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], repo, env)
    assert (tmp_path / "plots" / "index.html").exists(), html
