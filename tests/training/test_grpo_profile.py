"""grpo.curriculum.profile: GRPO trains only on benchmarks the profile puts in band."""

from __future__ import annotations

import json
import logging

import pytest

from slm_math.config.params import CurriculumParams, Params, ProfileParams
from slm_math.evaluation.profile import profile_metrics
from slm_math.jsonl import DataFileError, write_jsonl
from slm_math.training.grpo_data import CurriculumError, apply_profile, profile_filter
from slm_math.training.grpo_stage import GRPOPaths, run_grpo_stage
from tests.training.helpers import quick_grpo


def write_profile(path, correct: dict[tuple[str, str], list[int]], mix: dict[str, str]):
    """A metrics/profile.json made by the profile stage's own code from correct counts (k=4)."""
    samples = [{"task": t, "level": lv, "k": 4, "correct": c}
               for (t, lv), counts in correct.items() for c in counts]
    path.write_text(json.dumps(profile_metrics(samples, ProfileParams(), mix)))
    return path


def test_filter_judges_each_benchmark_at_its_training_level(tmp_path, caplog):
    # products trains on d2 (in band), lcm on d2 (never solved), though lcm d1 is in band
    path = write_profile(tmp_path / "profile.json", {
        ("products", "d1"): [4, 4], ("products", "d2"): [1, 2],
        ("lcm", "d1"): [2, 1], ("lcm", "d2"): [0, 0]}, {"products": "d2", "lcm": "d2"})
    with caplog.at_level(logging.WARNING):
        kept, counts = apply_profile(["products", "lcm", "gsm_symbolic"], path)
    assert kept == ["products", "gsm_symbolic"]
    assert counts["dropped"] == {"lcm": {"level": "d2", "pass_rate": 0.0}}
    assert counts["unmeasured"] == ["gsm_symbolic"]
    assert "dropping lcm: base pass rate 0.000 at level d2" in caplog.text
    assert "gsm_symbolic is not measured" in caplog.text


def test_always_solved_is_dropped_too():
    profile = profile_metrics([{"task": "products", "level": "d1", "k": 4, "correct": 4}],
                              ProfileParams(), {"products": "d1"})
    assert profile_filter(["products"], profile) == ([], {"products": {"level": "d1",
                                                                       "pass_rate": 1.0}})


def test_none_left_is_a_clear_error(tmp_path):
    path = write_profile(tmp_path / "profile.json", {("products", "d1"): [0, 0],
                                                     ("lcm", "d2"): [4, 4]},
                         {"products": "d1", "lcm": "d2"})
    with pytest.raises(CurriculumError, match=r"every GRPO benchmark is outside the band "
                       r"\(0.05, 0.95\): products 0.000, lcm 1.000"):
        apply_profile(["products", "lcm"], path)


def test_missing_or_malformed_profile_names_file_and_field(tmp_path):
    with pytest.raises(DataFileError, match="no profile.*run the profile stage"):
        apply_profile(["products"], tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tasks": {}, "settings": {}}))
    with pytest.raises(DataFileError, match=r"bad.json: field 'mix'"):
        apply_profile(["products"], bad)


def test_grpo_stage_stops_before_loading_a_model_when_nothing_is_in_band(tmp_path):
    rows = [{"id": f"products/train/{i}", "source": "products", "split": "train",
             "problem": f"{i} * 3?", "answer": str(3 * i), "rule": "numeric"} for i in range(4)]
    write_jsonl(tmp_path / "data" / "train" / "products.jsonl", rows)
    path = write_profile(tmp_path / "profile.json", {("products", "d2"): [0, 0]},
                         {"products": "d2"})
    cfg = quick_grpo(curriculum=CurriculumParams(mode="none", profile=str(path)))
    paths = GRPOPaths(problems=tmp_path / "data" / "train", models=tmp_path / "no_models")
    with pytest.raises(CurriculumError, match="products 0.000"):
        run_grpo_stage(Params(grpo=cfg), paths)
