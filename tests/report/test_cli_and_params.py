"""`slm-math` parsing and the eval params' one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slm_math.cli import build_parser, stage_times
from slm_math.config import ParamsError, load_params


def test_stage_times_reads_the_done_lines_of_run_stage():
    lines = ["Running stage 'agent_eval@base-standard':\n",
             "[agent_eval@base-standard] done in 81.5 s\n", "noise [x] done\n",
             "[report] done in 2.0 s\n"]
    assert stage_times(lines) == [("agent_eval@base-standard", 81.5), ("report", 2.0)]


def test_cli_parses_compare_and_passes_run_args_to_dvc():
    parser = build_parser()
    args = parser.parse_args(["compare", "HEAD~1", "my-exp", "--json"])
    assert (args.a, args.b, args.json) == ("HEAD~1", "my-exp", True)
    args = parser.parse_args(["run", "agent_eval@base-standard", "--force"])
    assert args.dvc_args == ["agent_eval@base-standard", "--force"]


def test_cli_run_passes_leading_options_to_dvc(monkeypatch):
    from slm_math import cli
    seen = []
    monkeypatch.setattr(cli, "cmd_run", lambda args: seen.append(args.dvc_args) or 0)
    assert cli.main(["run", "--keep-going", "report"]) == 0
    assert seen == [["--keep-going", "report"]]
    with pytest.raises(SystemExit):
        cli.main(["compare", "a", "b", "--bogus"])


@pytest.mark.parametrize("override, message", [
    ({"eval": {"cells": {"base-fewshots": {"model": "base", "agent": "fewshots"}}}},
     "eval.cells.base-fewshots.agent: 'fewshots' is not a key of agents (did you mean 'fewshot'?)"),
    ({"eval": {"cells": {"sft-lora-standard": {"model": "sft-lora", "agent": "standard"}}}},
     "'sft-lora' must be letters, digits and underscores"),
    ({"eval": {"cells": {"base-std": {"model": "base", "agent": "standard"}}}},
     "'base-std' must be named base-standard"),
    ({"eval": {"cells": {"base-x": {"model": "base"}}}}, "eval.cells.base-x.agent"),
    # a cell's verifier is its dvc.yaml dependency: it must be the model its agent reads
    ({"eval": {"cells": {"grpo-best_of_n": {"model": "grpo", "agent": "best_of_n", "verifier": "grpo"}}}},
     "eval.cells.grpo-best_of_n.verifier: 'grpo' (models/grpo), but "
     "agents.best_of_n.options.reward_model is 'models/grpo_verifier'"),
    ({"eval": {"cells": {"base-solver_verifier": {"model": "base", "agent": "solver_verifier"}}}},
     "eval.cells.base-solver_verifier.verifier: 'base' (models/base), but "
     "agents.solver_verifier.options.verifier_model is 'models/grpo_verifier'"),
    ({"eval": {"cells": {"grpo-standard": {"model": "grpo", "agent": "standard", "verifier": "grpo_verifier"}}}},
     "eval.cells.grpo-standard.verifier: 'grpo_verifier', but agent 'standard' names no "
     "verifier_model/reward_model"),
    ({"agents": {"standard": {"temperature": -1}}}, "agents.standard.temperature: -1.0 is below the minimum"),
    ({"agents": {"standard": {"fewshots": 2}}}, "unknown key agents.standard.fewshots (did you mean"),
])
def test_bad_eval_params_fail_with_one_line(override, message):
    with pytest.raises(ParamsError) as err:
        load_params("params.yaml", overrides=override)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_run_times_come_from_a_real_dvc_repro_with_the_machine_it_ran_on(tmp_path, monkeypatch):
    from slm_math import cli

    # `slm-math run` calls `dvc` from PATH: the one installed beside this interpreter
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  hello:\n    cmd: echo '[hello] done in 0.25 s' > out.txt && cat out.txt\n"
        "    outs: [out.txt]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert cli.main(["run", "--times", "times.json"]) == 0
    times = json.loads((tmp_path / "times.json").read_text())
    assert times["returncode"] == 0 and times["stages"] == [{"stage": "hello", "seconds": 0.25}]
    assert times["complete"] is True and times["jobs"] == 1
    assert times["machine"]["isa_cap"] == "ONEDNN_MAX_CPU_ISA=AVX2" and times["machine"]["cpu_count"] >= 1
