"""Hub loaders on local files laid out as the hub serves them; a clear error offline."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm_math.data import hub_source
from slm_math.data.hub_source import HubUnavailableError
from slm_math.grading.extract import last_boxed
from slm_math.data.schema import problem_error
from slm_math.jsonl import DataFileError


def parquet(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture()
def hub(tmp_path):
    root = tmp_path / "hub"
    parquet(root / "openai/gsm8k/main/train-00000-of-00001.parquet", [
        {"question": "Tom has 3 apples and buys 4 more. How many?",
         "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
        {"question": "A shop sells 1,200 pens a day. How many in 2 days?",
         "answer": "1200 * 2 = 2400\n#### 2,400"}])
    parquet(root / "openai/gsm8k/main/test-00000-of-00001.parquet", [
        {"question": "Ann reads 5 pages a day for 6 days. How many pages?",
         "answer": "5 * 6 = 30\n#### 30"}])
    jsonl(root / "HuggingFaceH4/MATH-500/test.jsonl", [
        {"problem": "What is $\\frac{1}{2}+\\frac{1}{3}$?", "solution": "... $\\boxed{\\frac56}$",
         "answer": "\\frac{5}{6}", "subject": "Prealgebra", "level": 2,
         "unique_id": "test/prealgebra/1.json"}])
    for subject in hub_source.MATH_SUBJECTS:
        parquet(root / f"EleutherAI/hendrycks_math/{subject}/train-00000-of-00001.parquet", [
            {"problem": f"A {subject} problem: compute $2+2$.", "level": "Level 3",
             "type": subject, "solution": "It is $\\boxed{4}$."}])
        parquet(root / f"EleutherAI/hendrycks_math/{subject}/test-00000-of-00001.parquet", [
            {"problem": "What is $\\frac{1}{2}+\\frac{1}{3}$?", "level": "Level 2",
             "type": subject, "solution": "$\\boxed{\\frac{5}{6}}$"}])
    parquet(root / "HuggingFaceH4/aime_2024/data/train-00000-of-00001.parquet", [
        {"id": 60, "problem": "Find the remainder when 2^10 is divided by 1000.",
         "solution": "1024", "answer": "24", "url": "u", "year": "2024"}])
    jsonl(root / "math-ai/aime25/test.jsonl", [{"id": "0", "problem": "Find 1+1.", "answer": "2"}])
    parquet(root / "Hothan/OlympiadBench/OE_TO_maths_en_COMP/train-00000-of-00001.parquet", [
        {"id": 1, "question": "Compute 6*7.", "solution": ["6*7=42"], "final_answer": ["$42$"],
         "answer_type": "Numerical", "is_multiple_answer": False, "unit": None,
         "subfield": "Algebra"},
        {"id": 2, "question": "Find all x.", "solution": ["..."], "final_answer": ["1", "2"],
         "answer_type": "Numerical", "is_multiple_answer": True, "unit": None,
         "subfield": "Algebra"},
        {"id": 3, "question": "Give an expression.", "solution": ["..."],
         "final_answer": ["x^2"], "answer_type": "Expression", "is_multiple_answer": False,
         "unit": None, "subfield": "Algebra"}])
    return root


def test_gsm8k(hub):
    splits = hub_source.load_gsm8k(hub)
    assert [r["answer"] for r in splits["train"]] == ["7", "2400"]
    assert splits["test"][0]["problem"].startswith("Ann reads")
    assert "####" not in splits["train"][0]["solution"]
    assert all(problem_error(r) is None for s in splits.values() for r in s)


def test_math_train_excludes_math500_and_keeps_level_subject(hub):
    math500 = hub_source.load_math500(hub)["test"]
    assert math500[0]["answer"] == "\\frac{5}{6}" and math500[0]["level"] == 2
    train = hub_source.load_math(hub)["train"]
    assert len(train) == len(hub_source.MATH_SUBJECTS)  # the MATH-500 copies are left out
    assert {r["answer"] for r in train} == {"4"}
    assert {r["level"] for r in train} == {3}
    assert all(problem_error(r) is None for r in train + math500)


def test_aime_and_olympiadbench(hub):
    assert hub_source.load_aime24(hub)["test"][0]["answer"] == "24"
    assert hub_source.load_aime25(hub)["test"][0]["answer"] == "2"
    olympiad = hub_source.load_olympiadbench(hub)["test"]
    assert [(r["problem"], r["answer"]) for r in olympiad] == [("Compute 6*7.", "42")]


def test_missing_files_in_hub_dir_are_named(hub):
    with pytest.raises(HubUnavailableError, match="no file matching"):
        hub_source.dataset_files("openai/gsm8k", "other/*.parquet", hub)


def test_corrupt_parquet_is_named(hub):
    bad = hub / "openai/gsm8k/main/test-00000-of-00001.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(DataFileError, match="test-00000-of-00001.parquet"):
        hub_source.load_gsm8k(hub)


def test_offline_and_not_cached_is_one_clear_error(offline_hub):
    with pytest.raises(HubUnavailableError, match="not in the local Hugging Face cache"):
        hub_source.load_gsm8k(None)


def test_last_boxed_handles_nesting():
    assert last_boxed("a \\boxed{1} then \\boxed{\\frac{a}{b^{2}}}.") == "\\frac{a}{b^{2}}"
    assert last_boxed("no box") is None
