"""Params and data hashes: equal inputs, equal hash; any change, another."""

from __future__ import annotations

import shutil
import subprocess

from slm_math.config.params import SFTFullParams
from slm_math.tracking import data_hash, git_commit, params_hash


def test_params_hash_tracks_values_not_key_order():
    assert params_hash({"a": 1, "b": 2}) == params_hash({"b": 2, "a": 1})
    assert params_hash(SFTFullParams()) != params_hash(SFTFullParams(learning_rate=1e-5))
    assert len(params_hash(SFTFullParams())) == 16


def test_data_hash_tracks_bytes_and_names(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.jsonl").write_text("1\n")
    before = data_hash(tmp_path / "d")
    (tmp_path / "d" / "a.jsonl").write_text("2\n")
    assert data_hash(tmp_path / "d") != before
    (tmp_path / "d" / "a.jsonl").write_text("1\n")
    assert data_hash(tmp_path / "d") == before
    (tmp_path / "d" / "a.jsonl").rename(tmp_path / "d" / "b.jsonl")
    assert data_hash(tmp_path / "d") != before


def test_git_commit_marks_a_dirty_tree(tmp_path):
    assert git_commit(tmp_path) == "unknown"
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)
    run("init", "-q")
    (tmp_path / "f").write_text("x")
    run("add", "f")
    run("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "c")
    clean = git_commit(tmp_path)
    assert len(clean) == 40
    (tmp_path / "f").write_text("y")
    assert git_commit(tmp_path) == clean + "-dirty"


def test_git_commit_ignores_what_a_run_rewrites(tmp_path):
    """metrics/, dvclive/, dvc.lock and results/ change during a run, benchmarks/results/ and
    experiments/results/ during a series of benchmarks: still clean; a change to code
    (a benchmark script too) or params.yaml is not."""
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)
    run("init", "-q")
    for name in ("dvc.lock", "metrics/a.json", "dvclive/m.tsv", "results/cpu/run.json",
                 "benchmarks/results/b.json", "experiments/results/e.json",
                 "params.yaml", "stages/s.py", "benchmarks/b.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1")
    run("add", "-A")
    run("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "c")
    clean = git_commit(tmp_path)
    for name in ("dvc.lock", "metrics/a.json", "dvclive/m.tsv", "results/cpu/run.json",
                 "benchmarks/results/b.json", "experiments/results/e.json"):
        (tmp_path / name).write_text("2")
    assert git_commit(tmp_path) == clean
    assert git_commit(tmp_path / "metrics") == clean
    (tmp_path / "params.yaml").write_text("2")
    assert git_commit(tmp_path) == clean + "-dirty"
    (tmp_path / "params.yaml").write_text("1")
    (tmp_path / "stages/s.py").write_text("2")
    assert git_commit(tmp_path / "metrics") == clean + "-dirty"
    (tmp_path / "stages/s.py").write_text("1")
    (tmp_path / "benchmarks/b.py").write_text("2")
    assert git_commit(tmp_path) == clean + "-dirty"


def test_git_commit_accepts_a_named_profiles_params(tmp_path):
    """`slm-math params --profile gpu` rewrites params.yaml from the committed conf/: the
    commit and the profile name reproduce it, so it is clean; any edit on top is not."""
    from slm_math.config.profiles import compose_params
    from tests.conftest import ROOT

    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)
    run("init", "-q")
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    compose_params(tmp_path)
    run("add", "-A")
    run("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "c")
    clean = git_commit(tmp_path)
    compose_params(tmp_path, "gpu")
    assert git_commit(tmp_path) == clean
    assert git_commit(tmp_path / "conf") == clean
    params = tmp_path / "params.yaml"
    params.write_text(params.read_text().replace("seed: 42", "seed: 7", 1))
    assert git_commit(tmp_path) == clean + "-dirty"
    compose_params(tmp_path, "gpu", overrides=["grpo.beta=0"])  # an override is a change
    assert git_commit(tmp_path) == clean + "-dirty"
    compose_params(tmp_path, "cpu_ablation")
    (tmp_path / "conf" / "profile" / "cpu_ablation.yaml").write_text("# @package _global_\n")
    assert git_commit(tmp_path) == clean + "-dirty"  # conf/ itself changed
