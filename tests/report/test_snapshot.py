"""`slm-math snapshot`: a results folder a reader can check without the DVC cache, and
`slm-math compare` between two such folders."""

from __future__ import annotations

import json

import yaml

from slm_math.cli import main
from slm_math.jsonl import read_jsonl, write_jsonl


def make_workspace(root, profile: str, correct: list[bool]):
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump({"profile_name": profile, "seed": 1}))
    (root / "dvc.lock").write_text("schema: '2.0'\n")
    (root / "metrics" / "eval").mkdir(parents=True)
    (root / "metrics" / "eval" / "base-standard.json").write_text(json.dumps({"n": len(correct)}))
    (root / "metrics" / "summary.md").write_text("| table |\n")
    (root / "dvclive" / "grpo" / "plots").mkdir(parents=True)
    (root / "dvclive" / "grpo" / "metrics.json").write_text("{}")
    rows = [{"problem_id": f"p{i}", "correct": ok, "prediction": str(i), "answer": "1",
             "trace": [{"text": "x" * 1000}], "response": "long text",
             "samples": [{"answer": "1", "correct": ok, "text": "y" * 100}]}
            for i, ok in enumerate(correct)]
    write_jsonl(root / "data" / "eval" / "base-standard" / "chain_sum.jsonl", rows)


def test_snapshot_keeps_metrics_curves_rows_without_text_and_the_machine(tmp_path, capsys):
    work = tmp_path / "work"
    make_workspace(work, "gpu", [True, False, True])
    times = tmp_path / "times.json"
    times.write_text(json.dumps({"stages": [{"stage": "download", "seconds": 3.5},
                                            {"stage": "report", "seconds": 1.0}]}))
    dest = work / "results" / "gpu"
    (dest / "stale").mkdir(parents=True)  # a rerun replaces the folder whole
    assert main(["snapshot", str(dest), "--repo", str(work), "--times", str(times),
                 "--commit", "abc123"]) == 0
    run = json.loads((dest / "run.json").read_text())
    assert (run["profile"], run["commit"], run["eval_rows"], run["total_s"]) == ("gpu", "abc123", 3, 4.5)
    times.write_text(json.dumps({"stages": [{"stage": "download", "seconds": 3.5}], "total_s": 9.0,
                                 "load_average_start": [1.0, 2.0, 3.0], "returncode": 0}))
    assert main(["snapshot", str(dest), "--repo", str(work), "--times", str(times)]) == 0
    run = json.loads((dest / "run.json").read_text())
    assert (run["stages_s"], run["total_s"], run["load_average_start"]) == (3.5, 9.0, [1.0, 2.0, 3.0])
    assert main(["snapshot", str(dest), "--repo", str(work), "--times", str(times),
                 "--commit", "abc123"]) == 0
    run = json.loads((dest / "run.json").read_text())
    assert run["machine"]["processor"] and "cpu_flags" in run["machine"]
    # the machine the run recorded (`slm-math run --times`) wins over the snapshotting one
    recorded = {"processor": "Run CPU", "cpu_flags": ["avx2"], "isa_cap": "ONEDNN_MAX_CPU_ISA=AVX2"}
    times.write_text(json.dumps({"stages": [{"stage": "download", "seconds": 3.5}], "machine": recorded}))
    assert main(["snapshot", str(dest), "--repo", str(work), "--times", str(times),
                 "--commit", "abc123"]) == 0
    assert json.loads((dest / "run.json").read_text())["machine"] == recorded
    assert not (dest / "stale").exists()
    assert (dest / "metrics" / "summary.md").read_text() == "| table |\n"
    assert (dest / "dvclive" / "grpo" / "metrics.json").exists() and (dest / "dvc.lock").exists()
    rows = read_jsonl(dest / "eval" / "base-standard" / "chain_sum.jsonl")
    assert [r["correct"] for r in rows] == [True, False, True]
    assert all("trace" not in r and "response" not in r for r in rows)
    assert rows[0]["samples"] == [{"answer": "1", "correct": True}]


def test_compare_two_results_folders(tmp_path, capsys):
    for profile, correct in (("cpu", [False] * 12), ("gpu", [True] * 12)):
        work = tmp_path / profile
        make_workspace(work, profile, correct)
        assert main(["snapshot", str(tmp_path / "results" / profile), "--repo", str(work),
                     "--commit", "c"]) == 0
    capsys.readouterr()
    assert main(["compare", "results/cpu", "results/gpu", "--repo", str(tmp_path), "--json"]) == 0
    cells = json.loads(capsys.readouterr().out)["cells"]
    pooled = next(c for c in cells if c["benchmark"] == "all")
    assert (pooled["n"], pooled["accuracy_a"], pooled["accuracy_b"]) == (12, 0.0, 1.0)
    assert pooled["p_value"] < 0.001


def test_snapshot_leaves_out_what_another_run_made(tmp_path):
    """A stage `dvc status` reports changed (its params are not the current ones) made its
    files in another run: they stay out of the results folder and run.json names the stage."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    work = tmp_path / "work"
    make_workspace(work, "gpu", [True])
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    (work / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        "fresh": {"cmd": "echo 1 > metrics/fresh.json", "params": ["seed"],
                  "metrics": [{"metrics/fresh.json": {"cache": False}}]},
        "old": {"cmd": "mkdir -p dvclive/old/plots && echo 2 > dvclive/old/plots/m.tsv && echo 3 > metrics/old.json",
                "params": ["profile_name"],
                "outs": [{"dvclive/old/plots": {"cache": False}}],
                "metrics": [{"metrics/old.json": {"cache": False}}]}}}))
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "repro", "-q"]):
        subprocess.run(command, cwd=work, env=env, check=True, capture_output=True)
    (work / "dvclive" / "old" / "metrics.json").write_text("{}")
    params = yaml.safe_load((work / "params.yaml").read_text())
    (work / "params.yaml").write_text(yaml.safe_dump({**params, "profile_name": "cpu"}))
    run = main(["snapshot", str(work / "results" / "cpu"), "--repo", str(work), "--commit", "c"])
    assert run == 0
    dest = work / "results" / "cpu"
    assert json.loads((dest / "run.json").read_text())["stale_stages"] == ["old"]
    assert (dest / "metrics" / "fresh.json").exists()
    assert not (dest / "metrics" / "old.json").exists() and not (dest / "dvclive" / "old").exists()
