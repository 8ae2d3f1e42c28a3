"""The download stage as a user runs it: outputs, metrics, and one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from slm_math.data.schema import read_problems
from slm_math.jsonl import DataFileError
from tests.conftest import ROOT, venv_env

SMALL = """\
seed: 7
model:
  base: {model}
data:
  benchmarks: [chain_sum, champ]
  train_size: 30
  test_size: 10
  tasks:
    chain_sum:
      generator: chain_sum
      config: {{min_terms: 2, max_terms: 2, max_digits: 2}}
"""


def run_download(workdir):
    return subprocess.run([sys.executable, "-m", "stages.download"], cwd=workdir,
                          env={**venv_env(), "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture()
def workdir(tmp_path):
    return tmp_path


def test_download_writes_sets_model_and_metrics(workdir, tiny_model_dir):
    (workdir / "params.yaml").write_text(SMALL.format(model=tiny_model_dir))
    result = run_download(workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    train = read_problems(workdir / "data/train/chain_sum.jsonl")
    test = read_problems(workdir / "data/benchmarks/chain_sum.jsonl")
    champ = read_problems(workdir / "data/benchmarks/champ.jsonl")
    assert (len(train), len(test), len(champ)) == (30, 10, 10)
    assert not (workdir / "data/train/champ.jsonl").exists()
    metrics = json.loads((workdir / "metrics/data.json").read_text())
    assert metrics["benchmarks"]["chain_sum"]["train"] == 30
    assert metrics["total"]["test"] == 20
    assert (workdir / "models/base/model.safetensors").exists()


GRPO_TASKS = """\
  grpo_tasks:
    chain_sum_3terms:
      generator: chain_sum
      size: 25
      config: {min_terms: 3, max_terms: 3, max_digits: 2}
"""


def test_grpo_tasks_go_to_their_own_folder_and_leave_train_and_test_byte_identical(
        workdir, tiny_model_dir, tmp_path):
    """What SFT (cotgen, verify, sft_* read data/train) and evaluation (data/benchmarks)
    read is the same byte for byte with the GRPO-only pool on."""
    runs = {}
    for name, extra in (("plain", ""), ("pool", GRPO_TASKS)):
        run_dir = tmp_path / name
        run_dir.mkdir()
        (run_dir / "params.yaml").write_text(SMALL.format(model=tiny_model_dir) + extra)
        result = run_download(run_dir)
        assert result.returncode == 0, result.stderr[-2000:]
        runs[name] = run_dir
    for folder in ("data/train", "data/benchmarks"):
        files = sorted(p.name for p in (runs["plain"] / folder).glob("*.jsonl"))
        assert files == sorted(p.name for p in (runs["pool"] / folder).glob("*.jsonl")) != []
        for file in files:
            assert (runs["plain"] / folder / file).read_bytes() == \
                (runs["pool"] / folder / file).read_bytes(), f"{folder}/{file} changed"
    assert list((runs["plain"] / "data/grpo_train").iterdir()) == []   # a DVC out, empty
    extra = read_problems(runs["pool"] / "data/grpo_train/chain_sum_3terms.jsonl")
    test = {r["problem"] for r in read_problems(runs["pool"] / "data/benchmarks/chain_sum.jsonl")}
    assert len(extra) == 25 and not {r["problem"] for r in extra} & test
    metrics = json.loads((runs["pool"] / "metrics/data.json").read_text())
    plain = json.loads((runs["plain"] / "metrics/data.json").read_text())
    assert metrics["grpo_tasks"]["tasks"]["chain_sum_3terms"]["train"] == 25
    assert metrics["grpo_tasks"]["total"]["train"] == 25 and plain["grpo_tasks"]["total"]["train"] == 0
    assert metrics["benchmarks"] == plain["benchmarks"] and metrics["total"] == plain["total"]


def test_worked_solutions_change_only_the_solutions(workdir, tiny_model_dir, tmp_path):
    """data.solution_style: worked reaches every generated set (train, test, GRPO-only): the
    same problems, answers and ids, solutions in steps ending on the one-line solution."""
    runs = {}
    for style in ("expression", "worked"):
        run_dir = tmp_path / style
        run_dir.mkdir()
        (run_dir / "params.yaml").write_text(SMALL.format(model=tiny_model_dir)
                                             + f"  solution_style: {style}\n" + GRPO_TASKS)
        result = run_download(run_dir)
        assert result.returncode == 0, result.stderr[-2000:]
        runs[style] = run_dir
    stepped = 0
    for path in ("data/train/chain_sum.jsonl", "data/benchmarks/chain_sum.jsonl",
                 "data/grpo_train/chain_sum_3terms.jsonl"):
        plain, worked = (read_problems(runs[style] / path) for style in ("expression", "worked"))
        assert [{**r, "solution": None} for r in plain] == [{**r, "solution": None} for r in worked]
        for one, steps in zip(plain, worked):
            assert "\n" not in one["solution"] and steps["solution"].splitlines()[-1] == one["solution"]
            stepped += steps["solution"].count("\n") > 0
    assert stepped > 10  # two-digit sums and the three-term pool work in steps
    champ = [(runs[style] / "data/benchmarks/champ.jsonl").read_bytes() for style in runs]
    assert champ[0] == champ[1]  # a fixed benchmark keeps its own solutions


@pytest.mark.parametrize("text, expected", [
    ("data:\n  trian_size: 3\n", "unknown key data.trian_size (did you mean data.train_size?)"),
    ("data:\n  train_size: -1\n", "data.train_size: -1 is below the minimum 0"),
    ("data:\n  benchmarks: [gsm8K]\n", "unknown benchmark 'gsm8K' (did you mean 'gsm8k'?)"),
    ("data:\n  grpo_tasks:\n    x: {generator: lcm, size: -3}\n",
     "data.grpo_tasks.x.size: -3 is below the minimum 1"),
    ("data:\n  grpo_tasks:\n    x: {generator: lcm, config: {max_value: 1}}\n",
     "data.grpo_tasks.x: reasoning-gym generator 'lcm' with config {'max_value': 1}: "
     "AssertionError: max_value must be > min_value"),
])
def test_bad_params_exit_2_with_one_line(workdir, text, expected):
    (workdir / "params.yaml").write_text(text)
    result = run_download(workdir)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_hub_benchmark_offline_is_one_line(workdir, tiny_model_dir, tmp_path):
    (workdir / "params.yaml").write_text(
        f"model:\n  base: {tiny_model_dir}\ndata:\n  benchmarks: [gsm8k]\n")
    env = {**venv_env(), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run([sys.executable, "-m", "stages.download"], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "openai/gsm8k" in result.stderr and "hub is unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_problem_file_names_path_line_and_field(tmp_path):
    path = tmp_path / "p.jsonl"
    good = {"id": "a", "source": "s", "split": "test", "problem": "1+1?", "answer": "2",
            "rule": "numeric"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "b", "answer": 2}) + "\n")
    with pytest.raises(DataFileError, match=r"p\.jsonl: record 2: field 'answer'"):
        read_problems(path)
    path.write_text(json.dumps(good) + "\n" + '{"id": "b", "sour')
    with pytest.raises(DataFileError, match=r"p\.jsonl: line 2"):
        read_problems(path)
    shutil.rmtree(tmp_path)
