"""Few-shot example selection: seeded per benchmark, with a fallback for test-only benchmarks."""

from __future__ import annotations

import pytest

from slm_math.evaluation.run import select_fewshot
from slm_math.jsonl import write_jsonl


def _train(tmp_path, name: str, n: int) -> None:
    write_jsonl(tmp_path / f"{name}.jsonl", [
        {"id": f"{name}/train/{i}", "source": name, "split": "train", "problem": f"{name} {i}?",
         "answer": str(i), "rule": "numeric", "solution": f"{i}"} for i in range(n)])


def test_own_examples_seeded_and_mixed_fallback_for_a_benchmark_without_train(tmp_path):
    _train(tmp_path, "a", 5)
    _train(tmp_path, "b", 5)
    shots = select_fewshot(["a", "b", "champ"], tmp_path, 4, seed=1, fallback="mixed")
    assert {p["source"] for p in shots["a"]} == {"a"} and len(shots["a"]) == 4
    assert shots == select_fewshot(["a", "b", "champ"], tmp_path, 4, seed=1, fallback="mixed")
    # champ has no train split: it borrows in turn from a and b
    assert [p["source"] for p in shots["champ"]] == ["a", "b", "a", "b"]
    named = select_fewshot(["champ"], tmp_path, 2, seed=1, fallback="b")
    assert {p["source"] for p in named["champ"]} == {"b"}


def test_no_examples_anywhere_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no train problems with a solution for 'champ'"):
        select_fewshot(["champ"], tmp_path, 2, seed=1, fallback="mixed")
    assert select_fewshot(["champ"], tmp_path, 0, seed=1) == {}
