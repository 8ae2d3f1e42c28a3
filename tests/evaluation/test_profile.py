"""The profile: aggregation of graded samples, the band, the mix level, the seed block, the stage."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from slm_math.config import load_params
from slm_math.config.params import Params, ProfileParams, ProfileTaskParams, TaskParams
from slm_math.data.reasoning_gym_source import SPLIT_OFFSETS, generate_task, split_indices
from slm_math.evaluation.profile import (MIX_LEVEL, cell_problems, measure_cell, profile_cells,
                                         profile_metrics, profile_table, run_profile, summarize)
from slm_math.generation import SamplingParams
from slm_math.jsonl import read_jsonl
from tests.agents.scripted import ScriptedGenerator, last_user
from tests.conftest import ROOT

PRODUCTS = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 1}


def small_profile(**overrides) -> ProfileParams:
    tasks = {"products": ProfileTaskParams("products", "numeric", {
        "d1": PRODUCTS, "d2": {**PRODUCTS, "min_digits": 2, "max_digits": 2}})}
    return ProfileParams(**{"tasks": tasks, "problems": 3, "k": 2, "max_new_tokens": 8,
                            "fewshot": 1, "backend": "hf", **overrides})


def test_summarize_counts_samples_problems_and_mixed_groups():
    s = summarize([0, 4, 2, 1], 4, min_pass_rate=0.05, max_pass_rate=0.95)
    assert s == {"n": 4, "k": 4, "pass_rate": 0.4375, "pass_at_k": 0.75, "mixed": 0.5,
                 "in_band": True}
    # the band is strict: never and always solved are out, so is a rate outside it
    assert not summarize([0, 0], 4, min_pass_rate=0.0, max_pass_rate=1.0)["in_band"]
    assert not summarize([4, 4], 4, min_pass_rate=0.0, max_pass_rate=1.0)["in_band"]
    assert not summarize([4, 4, 3], 4, min_pass_rate=0.05, max_pass_rate=0.9)["in_band"]
    with pytest.raises(ValueError, match="outside"):
        summarize([5], 4, min_pass_rate=0.0, max_pass_rate=1.0)


def test_metrics_shape_selection_and_table():
    params = small_profile(min_pass_rate=0.1, max_pass_rate=0.9)
    samples = ([{"task": "products", "level": "d1", "k": 2, "correct": c} for c in (2, 2, 1)]
               + [{"task": "products", "level": "d2", "k": 2, "correct": c} for c in (0, 1, 0)]
               + [{"task": "lcm", "level": "mix", "k": 2, "correct": c} for c in (0, 0, 0)])
    metrics = profile_metrics(samples, params, {"products": "d2", "lcm": "mix"}, wall_s=1.0)
    assert metrics["tasks"]["products"]["d1"]["pass_rate"] == round(5 / 6, 4)
    assert metrics["tasks"]["products"]["d2"] == {"n": 3, "k": 2, "pass_rate": round(1 / 6, 4),
                                                 "pass_at_k": round(1 / 3, 4),
                                                 "mixed": round(1 / 3, 4), "in_band": True}
    assert metrics["selected"] == [["products", "d1"], ["products", "d2"]]
    assert metrics["mix"] == {"products": "d2", "lcm": "mix"} and metrics["wall_s"] == 1.0
    assert metrics["settings"]["band"] == [0.1, 0.9] and metrics["settings"]["k"] == 2
    table = profile_table(metrics)
    assert "| products | d2 * | 0.167 | 0.333 | 0.333 | yes |" in table
    assert "| lcm | mix * | 0.000 | 0.000 | 0.000 | no |" in table


def test_mix_task_is_measured_at_its_own_config():
    params = small_profile()
    same = {"products": TaskParams("products", "numeric", dict(PRODUCTS))}
    cells, mix = profile_cells(params, same)
    assert mix == {"products": "d1"} and len(cells) == 2
    other = {"products": TaskParams("products", "numeric", {**PRODUCTS, "max_digits": 3}),
             "lcm": TaskParams("lcm", "numeric", {"min_value": 2, "max_value": 20})}
    cells, mix = profile_cells(params, other)
    assert mix == {"products": MIX_LEVEL, "lcm": MIX_LEVEL}
    assert [(c.task, c.level) for c in cells] == [("products", "d1"), ("products", "d2"),
                                                  ("products", MIX_LEVEL), ("lcm", MIX_LEVEL)]
    assert cells[2].config["max_digits"] == 3


def test_profile_items_come_from_their_own_seed_block():
    params = load_params(ROOT / "params.yaml")
    blocks = {split: split_indices(split, size) for split, size in
              (("train", max(params.data.train_size, *(t.train_size or 0 for t in params.data.tasks.values()))),
               ("test", max(params.data.test_size, *(t.test_size or 0 for t in params.data.tasks.values()))),
               ("profile", params.profile.problems + params.profile.fewshot))}
    names = list(blocks)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not set(blocks[a]) & set(blocks[b]), (a, b)
    with pytest.raises(ValueError, match="more than the 900,000"):
        split_indices("train", 60_000)
    # the same generator and config: no profile item is a train or test item
    cells, _ = profile_cells(params.profile, params.data.tasks)
    cell = next(c for c in cells if c.task == "products" and c.level == "d2")
    problems, examples = cell_problems(cell, seed=params.seed, problems=16, fewshot=4)
    indices = [int(p["id"].rsplit("/", 1)[1]) for p in problems + examples]
    assert all(i >= SPLIT_OFFSETS["profile"] for i in indices) and len(set(indices)) == 20
    train, test, _ = generate_task("products", "products", "numeric", dict(cell.config),
                                   seed=params.seed, train_size=50, test_size=20)
    used = {int(p["id"].rsplit("/", 1)[1]) for p in train + test}
    assert used and not used & set(indices)
    assert {p["id"] for p in problems}.isdisjoint(p["id"] for p in examples)


def test_measure_cell_grades_each_sample_under_the_rule(smol_tokenizer_dir):
    from transformers import AutoTokenizer

    cell = profile_cells(small_profile(), {})[0][0]
    problems, examples = cell_problems(cell, seed=0, problems=3, fewshot=1)

    def reply(prompt: str, params: SamplingParams, j: int) -> str:
        a, b = map(int, re.findall(r"(\d+) \* (\d+)", last_user(prompt))[0])
        # sample 0: right; sample 1: the unevaluated product (wrong under `numeric`);
        # sample 2: a wrong number
        return [f"{a} * {b} = {a * b}. \\boxed{{{a * b}}}", f"\\boxed{{{a} * {b}}}",
                f"\\boxed{{{a * b + 1}}}"][j]

    gen = ScriptedGenerator(reply, AutoTokenizer.from_pretrained(smol_tokenizer_dir))
    records = measure_cell(gen, problems, examples, SamplingParams(temperature=0.7, n=3, seed=1))
    assert len(gen.calls) == 1 and len(gen.calls[0][0]) == 3  # one batched call, n = k
    prompt = gen.calls[0][0][0]
    assert prompt[0]["content"].startswith(examples[0]["problem"])  # the few-shot turn
    assert "\\boxed" in prompt[1]["content"] and prompt[-1]["role"] == "user"
    for record, problem in zip(records, problems):
        assert record["correct"] == 1 and record["k"] == 3
        assert record["answers"][0] == problem["answer"]
        assert (record["task"], record["level"]) == ("products", "d1")


def test_stage_writes_metrics_samples_and_resumes(tiny_model_dir, tmp_path, monkeypatch):
    from stages import profile as stage

    shutil.copytree(tiny_model_dir, tmp_path / "models" / "base")
    monkeypatch.chdir(tmp_path)
    params = Params(seed=3, profile=small_profile(), data=load_params(ROOT / "params.yaml").data)
    params.data.tasks = {"products": TaskParams("products", "numeric", dict(PRODUCTS))}
    stage.main(params)

    metrics = json.loads((tmp_path / "metrics" / "profile.json").read_text())
    assert set(metrics["tasks"]) == {"products"} and set(metrics["tasks"]["products"]) == {"d1", "d2"}
    assert metrics["mix"] == {"products": "d1"} and metrics["backend"] == "hf"
    for summary in metrics["tasks"]["products"].values():
        assert set(summary) == {"n", "k", "pass_rate", "pass_at_k", "mixed", "in_band"}
        assert summary["n"] == 3 and summary["k"] == 2 and 0 <= summary["pass_rate"] <= 1
    samples = read_jsonl(tmp_path / "data" / "profile" / "samples.jsonl")
    assert len(samples) == 6 and all(s["k"] == 2 and len(s["answers"]) == 2 for s in samples)
    assert not list((tmp_path / "data" / "profile_journal").glob("*.jsonl"))

    # a journal with every cell done: nothing is generated, the same records come back
    journal = tmp_path / "journal.jsonl"
    journal.write_text("".join(json.dumps(s) + "\n" for s in samples))

    def no_model():
        raise AssertionError("a fully journaled profile must not load the model")

    again, _ = run_profile(params.profile, seed=3, mix=params.data.tasks, generator=no_model,
                           journal=journal, progress=False)
    assert again == samples


def test_stage_with_nothing_to_measure_is_a_params_error(tmp_path, monkeypatch):
    from slm_math.config import ParamsError
    from stages import profile as stage

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParamsError, match="profile.tasks and data.tasks are both empty"):
        stage.main(Params(profile=ProfileParams()))
