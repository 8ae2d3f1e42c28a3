"""The ablation table and the summary from synthetic eval rows with known paired outcomes."""

from __future__ import annotations

import json

import pytest

from slm_math.evaluation.stats import mcnemar_exact
from slm_math.report.summary import (MissingCellError, plot_accuracy_by_stage, problem_counts,
                                     read_results, render_summary, stage_points)
from slm_math.report.table import ablation_table, format_p, paired


def rows(outcomes, prefix="p"):
    return [{"problem_id": f"{prefix}{i}", "correct": bool(c)} for i, c in enumerate(outcomes)]


# base right on 10 of 40; the few-shot base on 14; sft on 24: 14 problems only sft gets right
BASE = [1] * 10 + [0] * 30
FEWSHOT = [1] * 10 + [1] * 4 + [0] * 26
SFT = [1] * 10 + [1] * 14 + [0] * 16
RESULTS = {
    "base-standard": {"gsm": rows(BASE), "champ": rows([1, 0, 0, 0], "c")},
    "base-fewshot": {"gsm": rows(FEWSHOT), "champ": rows([1, 1, 0, 0], "c")},
    "sft_lora-standard": {"gsm": rows(SFT), "champ": rows([0, 0, 0, 0], "c")},
}


def test_paired_matches_problems_by_id_not_position():
    a = rows([1, 0, 0])
    b = list(reversed(rows([1, 1, 0])))  # same problems, other order
    test = paired(a, b)
    assert (test.n, test.a_only, test.b_only) == (3, 0, 1)


def test_table_has_intervals_deltas_and_mcnemar_p():
    table = ablation_table(RESULTS, baseline="base-standard", fewshot_baseline="base-fewshot",
                           order=["base-standard", "base-fewshot", "sft_lora-standard"])
    lines = table.splitlines()
    assert lines[0] == "| model × agent | gsm | champ | all | code ran · verdicts given |"
    base_line, fewshot_line, sft_line = lines[2:5]
    assert base_line.startswith("| base-standard | 25.0% [") and "Δ" not in base_line
    p_sft = mcnemar_exact(BASE, SFT).p_value  # 14 discordant, all for sft: 2 / 2^14
    assert p_sft == pytest.approx(2 / 2**14)
    assert f"Δzero-shot +35.0 pp (p={format_p(p_sft)})" in sft_line
    p_vs_fewshot = mcnemar_exact(FEWSHOT, SFT).p_value
    assert f"Δfew-shot +25.0 pp (p={format_p(p_vs_fewshot)})" in sft_line
    assert "Δzero-shot +10.0 pp (p=0.125)" in fewshot_line and "Δfew-shot" not in fewshot_line
    # the pooled column pairs all 44 problems: sft 24/44
    assert "| 54.5% [" in sft_line


def test_format_p():
    assert format_p(0.0004) == "<0.001" and format_p(0.04567) == "0.046" and format_p(1.0) == "1.000"


def test_summary_files_and_plot_points(tmp_path):
    for cell, benches in RESULTS.items():
        for bench, rs in benches.items():
            path = tmp_path / "eval" / cell / f"{bench}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in rs))
    cells = ["base-standard", "base-fewshot", "sft_lora-standard"]
    results = read_results(tmp_path / "eval", cells)
    summary = render_summary(results, cells=cells, baseline="base-standard",
                             fewshot_baseline="base-fewshot", commit="abc123")
    assert "McNemar" in summary and "| sft_lora-standard |" in summary
    assert summary.rstrip().endswith("from commit abc123._")
    dirty = render_summary(results, cells=cells, baseline="base-standard",
                           fewshot_baseline="base-fewshot", commit="abc123-dirty")
    assert "abc123-dirty: the code or params had uncommitted changes" in dirty
    points = stage_points(results, {c: tuple(c.split("-")) for c in cells})
    sft_all = next(p for p in points if p["model"] == "sft_lora" and p["benchmark"] == "all")
    assert sft_all["stage_index"] == 1 and sft_all["n"] == 44
    assert sft_all["ci_low"] < sft_all["accuracy"] < sft_all["ci_high"]
    plot_accuracy_by_stage(points, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(MissingCellError, match="dvc repro agent_eval@grpo-standard"):
        read_results(tmp_path / "eval", ["grpo-standard"])


def test_problem_counts_name_the_cells_that_ran_on_fewer_problems():
    assert problem_counts(RESULTS, list(RESULTS)) == "Problems per benchmark: champ 4, gsm 40."
    fewer = {**RESULTS, "sft_lora-vote": {"gsm": rows(SFT[:10]), "champ": rows([0, 0], "c")}}
    line = problem_counts(fewer, list(fewer))
    assert line.startswith("Problems per benchmark: base-standard, base-fewshot, "
                           "sft_lora-standard: champ 4, gsm 40; sft_lora-vote: champ 2, gsm 10")


def test_steps_table_pairs_each_step_on_shared_problems():
    from slm_math.report.table import steps_table

    results = {**RESULTS, "grpo-standard": {"gsm": rows(SFT)[:20]}}  # fewer problems, one benchmark
    table = steps_table(results, [["base-fewshot", "sft_lora-standard"],
                                  ["sft_lora-standard", "grpo-standard"],
                                  ["sft_lora-standard", "not-run"]])
    lines = table.splitlines()
    assert len(lines) == 4  # header, rule, two steps: the pair with a missing cell is skipped
    fewshot_all = FEWSHOT + [1, 1, 0, 0]
    sft_all = SFT + [0, 0, 0, 0]
    expected = mcnemar_exact([bool(x) for x in fewshot_all], [bool(x) for x in sft_all])
    assert lines[2].startswith("| base-fewshot | sft_lora-standard | 44 |")
    assert f"{100 * expected.delta:+.1f} pp | {format_p(expected.p_value)} |" in lines[2]
    assert lines[3].startswith("| sft_lora-standard | grpo-standard | 20 |")
    assert "+0.0 pp | 1.000 |" in lines[3]
    summary = render_summary(results, cells=list(results), baseline="base-standard",
                             fewshot_baseline="base-fewshot",
                             steps=[["base-fewshot", "sft_lora-standard"]], profile="gpu")
    assert "Profile: `gpu`." in summary and "## Each step against the one before" in summary
