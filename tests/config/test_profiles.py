"""Profiles: params.yaml is DVC's Hydra composition of conf/, and `dvc exp run -S profile=P`
switches every stage's params at once, visibly in `dvc exp show`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from slm_math.cli import main
from slm_math.config import load_params
from slm_math.config.profiles import available_profiles, composed_text
from tests.conftest import ROOT


def test_committed_params_are_the_default_composition():
    assert (ROOT / "params.yaml").read_text() == composed_text(ROOT), (
        "params.yaml differs from conf/'s composition: edit conf/, then run `slm-math params`")


def test_hydra_composition_is_enabled_for_dvc():
    config = (ROOT / ".dvc" / "config").read_text()
    assert "[hydra]" in config and "enabled = True" in config


@pytest.mark.parametrize("profile", available_profiles(ROOT))
def test_every_profile_composes_to_valid_params(profile, tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(composed_text(ROOT, profile))
    params = load_params(path)
    assert params.profile_name == profile
    for cell in params.eval.cells.values():
        assert cell.agent in params.agents


def test_gpu_profile_sizes():
    params = yaml.safe_load(composed_text(ROOT, "gpu"))
    default = yaml.safe_load(composed_text(ROOT))
    tasks = [b for b in params["eval"]["benchmarks"] if b != "champ"]
    assert params["eval"]["limit"] * len(tasks) >= 1000   # >= 1,000 paired problems with CHAMP
    assert params["grpo"]["max_steps"] >= 100
    assert params["grpo"]["prompts_per_step"] * params["grpo"]["num_generations"] >= 128
    for stage in ("sft_lora", "sft_full"):
        sft = params[stage]
        shares = sft["formats"]
        standard = sft["max_examples"] * shares["standard"] / sum(shares.values())
        assert round(standard) >= 1024 and sft["epochs"] >= 3   # every standard trace an epoch
    # the GPU profile measures its band (the default's pool is random) and follows the model
    assert params["grpo"]["curriculum"]["mode"] == "pass_rate" and default["grpo"]["curriculum"]["mode"] == "none"
    assert params["grpo"]["curriculum"]["refresh"] and params["grpo"]["dynamic_sampling"]["enabled"]
    assert params["grpo"]["held_out"]["problems"] >= 88
    # the training tasks' held-out curve sees a few points on the GPU; the default keeps 8
    assert params["grpo"]["eval_problems"] >= 400 and default["grpo"]["eval_problems"] == 8
    sampled = params["agents"]["sampled"]
    assert (sampled["n"], sampled["temperature"], sampled["top_p"]) == (8, 0.6, 0.95)
    # a few thousand GRPO-only problems are written, but left out of the pool (the 200-step
    # run that drew them ended below its start); the default has none, and the data SFT and
    # evaluation read is configured as in the default
    assert params["grpo"]["extra_tasks"] == []
    assert sum(t["size"] for t in params["data"]["grpo_tasks"].values()) >= 4000
    assert default["grpo"]["extra_tasks"] == [] and default["data"]["grpo_tasks"] == {}
    assert params["data"]["tasks"] == default["data"]["tasks"]
    # what the profile leaves alone is the default's
    assert params["model"] == default["model"] and params["tracking"] == default["tracking"]


def test_override_on_top_of_profile():
    params = yaml.safe_load(composed_text(ROOT, "gpu", ["grpo.beta=0.04", "profile.k=3"]))
    assert params["grpo"]["beta"] == 0.04 and params["profile"]["k"] == 3
    assert params["profile_name"] == "gpu"


def test_the_gpu_profiles_extra_tasks_can_be_put_back(tmp_path):
    """docs/grpo.md's override that puts the GPU profile's GRPO-only problems in the pool."""
    names = list(yaml.safe_load(composed_text(ROOT, "gpu"))["data"]["grpo_tasks"])
    path = tmp_path / "params.yaml"
    path.write_text(composed_text(ROOT, "gpu", [f"grpo.extra_tasks=[{','.join(names)}]"]))
    assert load_params(path).grpo.extra_tasks == names


def documented_overrides() -> list[str]:
    """Every `-S key=value` the README and docs/ show (a sweep's first value: `a=1,2` -> `a=1`;
    a list `a=[1,2]` whole)."""
    import re

    found = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for match in re.finditer(r"-S '?([A-Za-z_][\w.\[\]]*=[^\s'`]+)", doc.read_text()):
            key, value = match.group(1).split("=", 1)
            # a sweep's commas, not a list's (Hydra: `a=[x,y]` is one list value)
            found.add(f"{key}={value if value.startswith('[') else value.split(',')[0]}")
    return sorted(found)


def test_every_documented_override_composes():
    """DVC hands `-S` to Hydra when composition is on: `teachers[0].x=1` fails there, only
    `teachers.0.x=1` reaches a list item."""
    overrides = documented_overrides()
    assert "profile=gpu" in overrides and "cotgen.teachers.0.concurrency=1" in overrides
    for override in overrides:
        key, value = override.split("=", 1)
        if key == "profile":
            continue
        params = yaml.safe_load(composed_text(ROOT, None, [override]))
        node = params
        for part in key.split("."):
            node = node[int(part) if part.isdigit() else part]
        assert _number_or_text(node) == _number_or_text(value), override


def _number_or_text(value):
    if isinstance(value, list):  # composed: a list of names; documented: `[a,b]`
        return "[" + ",".join(map(str, value)) + "]"
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def test_params_command_writes_and_refuses_unknown(tmp_path, capsys):
    out = tmp_path / "p.yaml"
    assert main(["params", "--profile", "gpu", "--repo", str(ROOT), "--output", str(out)]) == 0
    assert yaml.safe_load(out.read_text())["profile_name"] == "gpu"
    assert main(["params", "--profile", "gpux", "--repo", str(ROOT), "--output", str(out)]) == 2
    assert "no profile 'gpux'" in capsys.readouterr().err
    assert main(["params", "grpo.bta=0", "--repo", str(ROOT), "--output", str(out)]) == 2
    assert "grpo.bta" in capsys.readouterr().err


def run(cmd, cwd, env):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_dvc_exp_run_selects_a_profile(tmp_path):
    """The real conf/ in a temp git + DVC repo: `dvc exp run -S profile=gpu` recomposes
    params.yaml, re-runs the stage that reads a changed param, and `dvc exp show` names the
    profile of each experiment."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "DVC_NO_ANALYTICS": "1"}
    shutil.copytree(ROOT / "conf", repo / "conf")
    shutil.copy(ROOT / "params.yaml", repo / "params.yaml")
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"limit": {
        "cmd": "python -c \"import yaml; print(yaml.safe_load(open('params.yaml'))['eval']['limit'])\" > limit.txt",
        "params": ["eval.limit"], "outs": ["limit.txt"]}}}))
    run(["git", "init", "-q"], repo, env)
    run(["dvc", "init", "-q"], repo, env)
    run(["dvc", "config", "hydra.enabled", "True"], repo, env)
    run(["dvc", "repro", "-q"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "cpu"], repo, env)
    default_limit = yaml.safe_load((repo / "params.yaml").read_text())["eval"]["limit"]
    run(["dvc", "exp", "run", "-n", "on-gpu", "-S", "profile=gpu"], repo, env)
    assert (repo / "limit.txt").read_text().strip() == "250" != str(default_limit)
    shown = json.loads(run(["dvc", "exp", "show", "--json"], repo, env))
    names = {}
    for commit in shown:
        for exp in commit.get("experiments") or []:
            for rev in exp["revs"]:
                names[rev["name"]] = rev["data"]["params"]["params.yaml"]["data"]["profile_name"]
        names["baseline"] = commit["data"]["params"]["params.yaml"]["data"]["profile_name"]
    assert names == {"on-gpu": "gpu", "baseline": "cpu"}


def leaves(tree, prefix=""):
    """{dotted key: value} of every leaf of a params tree (list items by index)."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else None
    if items is None:
        return {prefix: tree}
    out = {}
    for key, value in items:
        out.update(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def test_cpu_ablation_restores_every_size_the_default_shrinks():
    """cpu_ablation differs from the default only in sizes, each larger (488 paired eval
    problems, the agents on 50, SFT on 256 traces, GRPO 4 steps), and GRPO's curriculum."""
    default = leaves(yaml.safe_load(composed_text(ROOT)))
    ablation = leaves(yaml.safe_load(composed_text(ROOT, "cpu_ablation")))
    assert default.keys() == ablation.keys()
    changed = {k for k in default if default[k] != ablation[k]} - {"profile_name"}
    agents = ("majority_vote", "solver_verifier", "code_feedback", "python_tools", "best_of_n")
    sizes = {"profile.problems", "cotgen.teachers.0.max_problems", "eval.limit",
             *(f"agents.{a}.limit" for a in agents),
             "sft_lora.max_examples", "sft_lora.eval_problems", "sft_full.max_examples",
             "sft_full.eval_problems", "grpo.max_steps", "grpo.curriculum.candidates",
             "grpo_verifier.max_steps", "grpo_verifier.problems", "grpo_verifier.eval_problems"}
    assert changed == sizes | {"grpo.curriculum.mode"}
    assert all(ablation[k] > default[k] for k in sizes)
    # the default trains GRPO on a random pool; the ablation measures a pass-rate band
    assert (default["grpo.curriculum.mode"], ablation["grpo.curriculum.mode"]) == ("none", "pass_rate")
    assert ablation["eval.limit"] == 100 and ablation["sft_full.max_examples"] == 256
    assert {ablation[f"agents.{a}.limit"] for a in agents} == {10}
    assert ablation["grpo.max_steps"] == 4
