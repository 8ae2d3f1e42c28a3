"""Verified traces joined with problems into chat examples; held-out split by problem."""

from __future__ import annotations

from collections import Counter

import pytest

from slm_math.jsonl import DataFileError, write_jsonl
from slm_math.training.sft_data import load_problems, load_sft_examples, mix_formats, split_held_out


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


def test_each_format_gets_the_user_turn_its_agents_send(sft_data, tmp_path):
    from slm_math.agents.python_tools import code_prompt
    from slm_math.agents.standard import build_messages
    from slm_math.prompts import verify_messages

    problems_dir, _ = sft_data
    problems = load_problems(problems_dir)
    problem = problems["products/train/0"]
    path = tmp_path / "v.jsonl"
    write_jsonl(path, [
        {"problem_id": problem["id"], "text": "2 * 3 = 6. \\boxed{6}"},
        {"problem_id": problem["id"], "format": "tool", "text": "```python\nprint(2 * 3)\n```"},
        {"problem_id": problem["id"], "format": "verdict", "text": "VERDICT: CORRECT",
         "solution": "2 * 3 = 6. \\boxed{6}", "label": "CORRECT", "correct": True}])
    standard, tool, verdict = load_sft_examples(path, problems)
    assert standard["prompt"] == build_messages(problem) and standard["format"] == "standard"
    assert tool["prompt"] == code_prompt(problem) and tool["format"] == "tool"
    assert verdict["prompt"] == verify_messages(problem["problem"], "2 * 3 = 6. \\boxed{6}")
    assert verdict["completion"] == [{"role": "assistant", "content": "VERDICT: CORRECT"}]
    write_jsonl(path, [{"problem_id": problem["id"], "format": "verdict", "text": "VERDICT: CORRECT"}])
    with pytest.raises(DataFileError, match="record 1: a verdict trace needs the 'solution'"):
        load_sft_examples(path, problems)
    write_jsonl(path, [{"problem_id": problem["id"], "format": "tools", "text": "x"}])
    with pytest.raises(DataFileError, match="record 1: field 'format' is 'tools'"):
        load_sft_examples(path, problems)


def _pool(n_standard, n_tool, n_verdict):
    return ([{"problem_id": f"s{i}", "format": "standard"} for i in range(n_standard)]
            + [{"problem_id": f"t{i}", "format": "tool"} for i in range(n_tool)]
            + [{"problem_id": f"v{i}", "format": "verdict"} for i in range(n_verdict)])


def test_formats_are_mixed_in_their_shares():
    shares = {"standard": 0.6, "tool": 0.25, "verdict": 0.15}
    mixed, counts = mix_formats(_pool(300, 120, 80), shares, total=256, seed=0)
    assert {f: c["examples"] for f, c in counts.items()} == {"standard": 154, "tool": 64, "verdict": 38}
    assert Counter(e["format"] for e in mixed) == {"standard": 154, "tool": 64, "verdict": 38}
    assert len({e["problem_id"] for e in mixed}) == 256          # enough of each: no repeats
    assert mixed != sorted(mixed, key=lambda e: e["format"])     # shuffled together
    again, _ = mix_formats(_pool(300, 120, 80), shares, total=256, seed=0)
    assert again == mixed


def test_a_short_format_is_repeated_and_a_missing_one_is_an_error():
    mixed, counts = mix_formats(_pool(100, 10, 0), {"standard": 0.5, "tool": 0.5}, total=60, seed=1)
    tool = Counter(e["problem_id"] for e in mixed if e["format"] == "tool")
    assert counts["tool"] == {"examples": 30, "available": 10} and set(tool.values()) == {3}
    everything, counts = mix_formats(_pool(100, 10, 5), {"standard": 1.0, "verdict": 0}, total=None, seed=1)
    assert counts == {"standard": {"examples": 100, "available": 100}} and len(everything) == 100
    with pytest.raises(DataFileError, match="formats: verdict asked for a share but the verified "
                                            "traces hold none"):
        mix_formats(_pool(10, 10, 0), {"standard": 0.8, "verdict": 0.2}, total=None, seed=1)
