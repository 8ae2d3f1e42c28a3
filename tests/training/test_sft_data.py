"""Verified traces joined with problems into chat examples; held-out split by problem."""

from __future__ import annotations

import pytest

from slm_math.jsonl import DataFileError, write_jsonl
from slm_math.training.sft_data import load_problems, load_sft_examples, split_held_out


def test_examples_join_trace_text_with_rendered_problem(sft_data):
    problems_dir, traces = sft_data
    examples = load_sft_examples(traces, load_problems(problems_dir))
    assert len(examples) == 48
    first = examples[0]
    assert first["problem_id"] == "products/train/0"
    (user,) = first["prompt"]
    (assistant,) = first["completion"]
    assert user["role"] == "user" and assistant["role"] == "assistant"
    assert user["content"].startswith("Solve the following multiplication: 2 * 3.")
    assert "\\boxed{}" in user["content"]  # the boxed-answer instruction from solve.jinja
    assert assistant["content"].endswith("The answer is \\boxed{6}.")


def test_unknown_problem_id_names_file_and_record(sft_data, tmp_path):
    problems_dir, _ = sft_data
    bad = tmp_path / "verified.jsonl"
    write_jsonl(bad, [{"problem_id": "products/train/0", "text": "ok"},
                      {"problem_id": "nope/7", "text": "x"}])
    with pytest.raises(DataFileError, match=r"verified\.jsonl: record 2: problem_id 'nope/7'"):
        load_sft_examples(bad, load_problems(problems_dir))


def test_empty_text_and_incorrect_traces(sft_data, tmp_path):
    problems_dir, _ = sft_data
    problems = load_problems(problems_dir)
    bad = tmp_path / "v.jsonl"
    write_jsonl(bad, [{"problem_id": "products/train/0", "text": ""}])
    with pytest.raises(DataFileError, match="record 1: field 'text'"):
        load_sft_examples(bad, problems)
    mixed = tmp_path / "m.jsonl"
    write_jsonl(mixed, [{"problem_id": "products/train/0", "text": "a", "correct": False},
                        {"problem_id": "products/train/1", "text": "b", "correct": True}])
    assert [e["problem_id"] for e in load_sft_examples(mixed, problems)] == ["products/train/1"]


def test_held_out_split_is_by_problem_and_seeded(sft_data):
    problems_dir, traces = sft_data
    examples = load_sft_examples(traces, load_problems(problems_dir))
    examples = examples + [dict(e) for e in examples[:10]]  # second trace for 10 problems
    train, held = split_held_out(examples, 6, seed=1)
    held_ids = {e["problem_id"] for e in held}
    assert len(held_ids) == 6
    assert not held_ids & {e["problem_id"] for e in train}
    assert len(train) + len(held) == len(examples)
    again, _ = split_held_out(examples, 6, seed=1, max_examples=5)
    assert [e["problem_id"] for e in again] == [e["problem_id"] for e in train[:5]]
    _, other = split_held_out(examples, 6, seed=2)
    assert {e["problem_id"] for e in other} != held_ids
