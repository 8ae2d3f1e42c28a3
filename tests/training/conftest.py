"""Fixtures for the training tests: small data files (the tiny model is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_math.jsonl import write_jsonl

from tests.conftest import ROOT as REPO


def write_sft_data(root: Path, n: int = 48) -> tuple[Path, Path]:
    """(problems folder, verified.jsonl): products problems and reference-teacher traces."""
    problems, traces = [], []
    for i in range(n):
        a, b = 2 + i % 8, 3 + (i * 7) % 9
        pid = f"products/train/{i}"
        problems.append({"id": pid, "source": "products", "split": "train",
                         "problem": f"Solve the following multiplication: {a} * {b}.",
                         "answer": str(a * b), "rule": "numeric"})
        traces.append({"problem_id": pid, "teacher": "reference", "attempt": 0,
                       "prompt_hash": "h", "answer": str(a * b), "correct": True,
                       "text": f"<think>{a} * {b} = {a * b}</think>\n{a} * {b} = {a * b}. "
                               f"The answer is \\boxed{{{a * b}}}.",
                       "tokens_in": 20, "tokens_out": 20, "cost_usd": 0.0, "latency_s": 0.1})
    (root / "data" / "train").mkdir(parents=True, exist_ok=True)
    (root / "data" / "cot").mkdir(parents=True, exist_ok=True)
    write_jsonl(root / "data" / "train" / "products.jsonl", problems)
    write_jsonl(root / "data" / "cot" / "verified.jsonl", traces)
    return root / "data" / "train", root / "data" / "cot" / "verified.jsonl"


@pytest.fixture
def sft_data(tmp_path) -> tuple[Path, Path]:
    """(problems folder, verified traces file) in a temp dir."""
    return write_sft_data(tmp_path)
