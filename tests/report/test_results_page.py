"""`slm-math results`: docs/results.md and the README's results table come from the result
files, and the committed ones match what the command generates from them."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from slm_math.cli import main
from slm_math.evaluation.metrics import accuracy_block
from slm_math.jsonl import write_jsonl
from slm_math.report.results_page import (README_BEGIN, README_END, render_page, render_readme,
                                          write_results_docs)
from slm_math.report.snapshot import snapshot
from tests.conftest import ROOT


def test_committed_pages_match_the_committed_result_files():
    stale = write_results_docs(ROOT, check=True)
    assert stale == [], f"{[str(p) for p in stale]} differ: run `slm-math results` and commit"


def test_readme_is_short_and_speaks_of_the_project():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    for word in ("session", "helper", "the issue", "/tmp/", "/root/", "target"):
        assert word not in text.lower(), word
    assert "docs/grading.md" in text and "docs/profiles.md" in text and "docs/gpu.md" in text


CELLS = {"base-standard": {"model": "base", "agent": "standard"},
         "base-fewshot": {"model": "base", "agent": "fewshot"},
         "sft_full-standard": {"model": "sft_full", "agent": "standard"}}
OUTCOMES = {"base-standard": [0, 0, 1, 0, 0, 1], "base-fewshot": [1, 0, 1, 0, 0, 1],
            "sft_full-standard": [1, 1, 1, 0, 1, 1]}


def make_project(root, with_run: bool = True):
    """conf/ with two profiles, a README with the markers, one benchmark and one experiment
    result, and (with_run) a results folder for `cpu` written by the real snapshot."""
    for name in ("cpu", "gpu"):
        (root / "conf" / "profile").mkdir(parents=True, exist_ok=True)
        (root / "conf" / "profile" / f"{name}.yaml").write_text(f"profile_name: {name}\n")
    (root / "README.md").write_text(f"# x\n\n{README_BEGIN}\nold text\n{README_END}\n\nafter\n")
    (root / "benchmarks" / "results").mkdir(parents=True)
    (root / "benchmarks" / "results" / "speed.json").write_text(json.dumps({
        "machine": {"processor": "Test CPU", "cpu_flags": ["avx2"], "cpu_count": 2,
                    "date": "2026-01-02T03:04:05+00:00", "git_commit": "abc1234"},
        "rows": [{"engine": "vllm", "tokens_per_s": 1234.5}, {"engine": "hf", "tokens_per_s": 56.7}]}))
    (root / "experiments" / "results").mkdir(parents=True)
    (root / "experiments" / "results" / "search.json").write_text(json.dumps({
        "machine": {"gpu": "Test GPU"}, "notes": ["Question: does it help?", "run-a: 48.00%"]}))
    if not with_run:
        return
    work = root / "work"
    work.mkdir()
    (work / "params.yaml").write_text(yaml.safe_dump({
        "profile_name": "cpu", "eval": {"cells": CELLS},
        "report": {"baseline": "base-standard", "fewshot_baseline": "base-fewshot",
                   "steps": [["base-fewshot", "sft_full-standard"], ["sft_full-standard", "grpo-standard"]]}}))
    for cell, outcomes in OUTCOMES.items():
        rows = [{"problem_id": f"p{i}", "correct": bool(c), "trace": "t"} for i, c in enumerate(outcomes)]
        write_jsonl(work / "data" / "eval" / cell / "chain_sum.jsonl", rows)
        (work / "metrics" / "eval").mkdir(parents=True, exist_ok=True)
        (work / "metrics" / "eval" / f"{cell}.json").write_text(json.dumps(accuracy_block(rows)))
    (work / "metrics" / "profile.json").write_text(json.dumps({
        "mix": {"lcm": "d2"}, "settings": {"fewshot": 4, "temperature": 0.7, "max_new_tokens": 96,
                                           "band": [0.05, 0.95]},
        "tasks": {"lcm": {"d2": {"n": 4, "k": 4, "pass_rate": 0.25, "pass_at_k": 0.5,
                                 "mixed": 0.5, "in_band": True}}}}))
    times = {"stages": [{"stage": "download", "seconds": 10.0}, {"stage": "report", "seconds": 2.0}],
             "total_s": 75.0, "load_average_start": [0.5, 0.4, 0.3], "returncode": 0}
    snapshot(work, root / "results" / "cpu", times=times, commit="0123456789abcdef")


def test_page_and_readme_from_the_result_files(tmp_path):
    make_project(tmp_path)
    page = render_page(tmp_path)
    cpu = page.split("## Profile `cpu`", 1)[1].split("## Profile `gpu`", 1)[0]
    assert "commit 0123456789ab" in cpu and "`dvc repro` 75.00 s (1.2 min) wall, 2 stages" in cpu
    assert "load average at start 0.5 / 0.4 / 0.3" in cpu
    assert "| lcm | d2 (trained) | 4 | 4 | 0.25 | 0.5 | 0.5 | yes |" in cpu
    assert "| download | 10.00 |" in cpu and "| **stages together** | 12.00 |" in cpu
    # the ablation table from the eval rows: sft_full 5/6 against 4-shot 3/6, paired
    assert "| sft_full-standard | 83.3% [43.6, 97.0]" in cpu and "Δfew-shot +33.3 pp" in cpu
    # each step of report.steps whose cells ran: 4-shot 3/6 -> sft_full 5/6 (2 won, 0 lost)
    assert ("| base-fewshot | sft_full-standard | 6 | 50.0% [18.8, 81.2] | 83.3% [43.6, 97.0] | "
            "+33.3 pp | 0.500 |") in cpu
    assert "| sft_full-standard | grpo-standard |" not in cpu  # grpo did not run: no row
    assert "No results folder yet. `slm-math params --profile gpu" in page
    assert "flags avx2" in page and "| vllm | 1,234 |" in page and "- run-a: 48.00%" in page
    readme = render_readme(tmp_path)
    assert "old text" not in readme and readme.endswith(f"{README_END}\n\nafter\n")
    assert "| `sft_full-standard` | 83.3% [43.6, 97.0] (6) |" in readme
    assert "- `gpu`: no results folder yet" in readme


def test_results_command_writes_then_checks(tmp_path, capsys):
    make_project(tmp_path)
    assert main(["results", "--repo", str(tmp_path), "--check"]) == 1
    assert "differs from `slm-math results`" in capsys.readouterr().err
    assert main(["results", "--repo", str(tmp_path)]) == 0
    assert main(["results", "--repo", str(tmp_path), "--check"]) == 0
    assert (tmp_path / "docs" / "results.md").read_text() == render_page(tmp_path)
    # a rerun changes a result file: the pages are stale until regenerated
    run = json.loads((tmp_path / "results" / "cpu" / "run.json").read_text())
    run["total_s"] = 80.0
    (tmp_path / "results" / "cpu" / "run.json").write_text(json.dumps(run))
    assert main(["results", "--repo", str(tmp_path), "--check"]) == 1


def test_readme_without_markers_is_a_clear_error(tmp_path, capsys):
    make_project(tmp_path, with_run=False)
    (tmp_path / "README.md").write_text("# x\n")
    with pytest.raises(ValueError, match="no results markers"):
        render_readme(tmp_path)
    assert main(["results", "--repo", str(tmp_path)]) == 2
    assert "README.md: no results markers" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "conf")


def test_machine_line_says_when_a_run_was_capped_to_avx2():
    from slm_math.report.results_page import machine_line

    facts = {"processor": "AMD EPYC", "cpu_count": 2, "cpu_flags": ["avx2", "avx512f", "avx512_bf16"],
             "date": "2026-12-05T00:00:00+00:00"}
    assert "capped" not in machine_line(facts)
    line = machine_line({**facts, "isa_cap": "ATEN_CPU_CAPABILITY=avx2"})
    assert "capped to AVX2 (ATEN_CPU_CAPABILITY=avx2)" in line and "fp32" in line


def test_a_run_of_a_profile_on_another_machine_class_gets_its_own_section(tmp_path):
    make_project(tmp_path)
    variant = tmp_path / "results" / "cpu.avx2cap"
    shutil.copytree(tmp_path / "results" / "cpu", variant)
    run = json.loads((variant / "run.json").read_text())
    run["total_s"] = 99.0
    run.setdefault("machine", {})["isa_cap"] = "ATEN_CPU_CAPABILITY=avx2"
    (variant / "run.json").write_text(json.dumps(run))
    (tmp_path / "results" / "cpu.empty").mkdir()  # no run.json: not a run, not listed
    page = render_page(tmp_path)
    assert page.index("## Profile `cpu`") < page.index("## Profile `cpu.avx2cap`") < page.index("## Profile `gpu`")
    section = page.split("## Profile `cpu.avx2cap`", 1)[1].split("## Profile `gpu`", 1)[0]
    assert "`dvc repro` 99.00 s" in section and "capped to AVX2 (ATEN_CPU_CAPABILITY=avx2)" in section
    assert "cpu.empty" not in page
    readme = render_readme(tmp_path)
    assert "| model-agent | `cpu` | `cpu.avx2cap` |" in readme and "- `cpu.avx2cap`: commit" in readme


def test_a_run_with_stages_side_by_side_says_so_and_when_each_ran(tmp_path):
    make_project(tmp_path)
    folder = tmp_path / "results" / "cpu"
    run = json.loads((folder / "run.json").read_text())
    run["jobs"] = 4
    run["complete"] = False
    run["stages"] = [{**s, "start_s": 1.0 + i, "end_s": 11.5 + i} for i, s in enumerate(run["stages"])]
    run["stages"].append({"stage": "grpo", "seconds": 0.0, "start_s": 3.0, "end_s": 9.0, "returncode": 1})
    (folder / "run.json").write_text(json.dumps(run))
    cpu = render_page(tmp_path).split("## Profile `cpu`", 1)[1].split("## Profile `gpu`", 1)[0]
    assert "up to 4 stages at once (`slm-math run --jobs 4`)" in cpu
    assert "interrupted: only the stages listed below finished" in cpu
    assert "| stage | wall s | started at s | ended at s |" in cpu
    assert "| grpo (failed, exit 1) | 0 | 3.00 | 9.00 |" in cpu
    assert "| download | 10.00 | 1.00 | 11.50 |" in cpu and "| **stages together** | 12.00 | — | — |" in cpu
