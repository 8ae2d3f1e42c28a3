"""The cascade against a real local server (through the fault proxy): order, attempts,
resume from the trace log and the cache, faults recorded as failed attempts."""

from __future__ import annotations

from collections import Counter

import pytest

from slm_math.config.loader import build
from slm_math.config.params import CotgenParams
from slm_math.jsonl import read_jsonl
from slm_math.prompts import user_turn
from slm_math.teacher import TeacherAuthError, run_cotgen
from tests.teacher.conftest import PROBLEMS


def params(tmp_path, proxy, model, *, local_attempts=2, first="local", **extra):
    local = {"name": "local", "base_url": proxy.base_url, "model": model,
             "attempts": local_attempts, "max_tokens": 4, "concurrency": 4,
             "backoff_s": 0.01, "max_retries": 2}
    reference = {"name": "reference", "kind": "reference"}
    teachers = [local, reference] if first == "local" else [reference, local]
    return build(CotgenParams, {"cache_dir": str(tmp_path / "cache"), "teachers": teachers,
                                "progress": False, **extra})


def slots(path):
    return Counter((r["problem_id"], r["teacher"], r["attempt"]) for r in read_jsonl(path))


def test_cascade_moves_on_only_after_all_attempts_fail(tmp_path, proxy, tiny_model_dir):
    traces = tmp_path / "traces.jsonl"
    report = run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir), seed=0,
                        trace_path=str(traces))
    records = read_jsonl(traces)
    # the random tiny model never boxes the answer: both local attempts fail, reference solves
    # every problem with a solution; the one without a solution stays unsolved
    assert slots(traces) == Counter({(p["id"], t, a): 1 for p in PROBLEMS
                                     for t, a in [("local", 1), ("local", 2), ("reference", 1)]})
    assert report.solved_by == Counter({"reference": 3}) and report.unsolved == 1
    assert report.requests == 8 == len(proxy.requests)
    local = [r for r in records if r["teacher"] == "local"]
    assert all(not r["correct"] and r["tokens_out"] > 0 and r["latency_s"] > 0 for r in local)
    seeds = Counter(body["seed"] for body in proxy.chat_requests())
    assert seeds == Counter({0: 4, 1: 4})  # attempt k is sampled with seed + k - 1
    reference = {r["problem_id"]: r for r in records if r["teacher"] == "reference"}
    assert reference["products/train/0"]["text"] == (
        "<think>\n7 * 8 = 56\n</think>\n7 * 8 = 56. The answer is \\boxed{56}.")
    assert reference["products/train/0"]["correct"] and reference["products/train/0"]["answer"] == "56"
    assert reference["lcm/train/0"]["error"] == "the problem has no reference solution"


def test_rerun_asks_nothing_and_changes_nothing(tmp_path, proxy, tiny_model_dir):
    traces = tmp_path / "traces.jsonl"
    run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir), seed=0, trace_path=str(traces))
    before = traces.read_bytes()
    proxy.reset(default="500")  # any request would now fail the run
    report = run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir), seed=0,
                        trace_path=str(traces))
    assert proxy.requests == [] and report.reused == 12 and report.requests == 0
    assert traces.read_bytes() == before


def test_cache_answers_a_lost_trace_file_and_stale_records_go(tmp_path, proxy, tiny_model_dir):
    traces = tmp_path / "traces.jsonl"
    run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir), seed=0, trace_path=str(traces))
    traces.unlink()  # e.g. a `dvc checkout` of an older version
    proxy.reset()
    report = run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir), seed=0,
                        trace_path=str(traces))
    assert proxy.requests == [] and report.cache_hits == 8
    assert max(slots(traces).values()) == 1 and len(slots(traces)) == 12
    # one attempt fewer: attempt-2 records no longer belong to the cascade and are dropped
    report = run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir, local_attempts=1),
                        seed=0, trace_path=str(traces))
    assert proxy.requests == [] and report.dropped_stale == 4
    assert sorted({a for (_, t, a) in slots(traces) if t == "local"}) == [1]
    # another seed is another request: asked again, old records replaced, not doubled
    report = run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir, local_attempts=1),
                        seed=7, trace_path=str(traces))
    assert len(proxy.requests) == 4 and report.dropped_stale == 4
    assert max(slots(traces).values()) == 1 and len(slots(traces)) == 8


def test_first_verified_attempt_stops_the_cascade(tmp_path, proxy, tiny_model_dir):
    traces = tmp_path / "traces.jsonl"
    report = run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir, first="reference"),
                        seed=0, trace_path=str(traces))
    # solved problems stop at the reference; the one it cannot solve goes on to local
    expected = {(p["id"], "reference", 1) for p in PROBLEMS}
    expected |= {("lcm/train/0", "local", a) for a in (1, 2)}
    assert set(slots(traces)) == expected
    assert len(proxy.requests) == 2 and report.solved_by == Counter({"reference": 3})


def test_per_teacher_max_problems(tmp_path, proxy, tiny_model_dir):
    p = params(tmp_path, proxy, tiny_model_dir)
    p.teachers[0].max_problems = 1
    run_cotgen(PROBLEMS, p, seed=0, trace_path=str(tmp_path / "traces.jsonl"))
    asked = {pid for (pid, t, _) in slots(tmp_path / "traces.jsonl") if t == "local"}
    assert asked == {PROBLEMS[0]["id"]} and len(proxy.requests) == 2


def test_faults_become_failed_attempts_not_crashes(tmp_path, proxy, tiny_model_dir):
    proxy.reset(["429:0.2", "500", "drop", "empty", "nobox", "huge", "badutf8", "notjson"])
    traces = tmp_path / "traces.jsonl"
    p = params(tmp_path, proxy, tiny_model_dir)
    p.teachers[0].concurrency = 1
    report = run_cotgen(PROBLEMS, p, seed=0, trace_path=str(traces))
    local = [r for r in read_jsonl(traces) if r["teacher"] == "local"]
    errors = Counter((r["error"] or "none").split(" (")[0] for r in local)
    assert errors["empty response"] >= 1 and errors["response too long"] == 1
    assert errors["response is not valid UTF-8"] == 1
    assert sum("malformed response" in e for e in errors.elements()) == 1
    assert any(r["text"] == "Let me think about this one." and r["answer"] is None
               and r["error"] is None and not r["correct"] for r in local)
    assert len(local) == 8 and report.incomplete == 0 and report.solved_by["reference"] == 3
    assert report.client_stats["local"]["http_429"] == 1


def test_rejected_key_stops_the_run(tmp_path, proxy, tiny_model_dir):
    proxy.reset(default="status:401")
    with pytest.raises(TeacherAuthError, match="401"):
        run_cotgen(PROBLEMS, params(tmp_path, proxy, tiny_model_dir), seed=0,
                   trace_path=str(tmp_path / "traces.jsonl"))
    assert not any(r["teacher"] == "local" for r in read_jsonl(tmp_path / "traces.jsonl"))


def test_each_trace_format_is_a_cascade_of_its_own(tmp_path, proxy, tiny_model_dir):
    local = {"name": "local_tool", "base_url": proxy.base_url, "model": tiny_model_dir,
             "format": "tool", "max_tokens": 4, "concurrency": 4, "backoff_s": 0.01, "max_retries": 2}
    p = build(CotgenParams, {"cache_dir": str(tmp_path / "cache"), "progress": False, "teachers": [
        local, {"name": "reference", "kind": "reference"},
        {"name": "reference_tool", "kind": "reference", "format": "tool"}]})
    traces = tmp_path / "traces.jsonl"
    report = run_cotgen(PROBLEMS, p, seed=0, trace_path=str(traces))
    # the standard cascade (reference) and the tool cascade (local_tool, then reference_tool)
    assert slots(traces) == Counter({(q["id"], t, 1): 1 for q in PROBLEMS
                                     for t in ("reference", "local_tool", "reference_tool")})
    assert report.solved_by == Counter({"reference": 3, "reference_tool": 3})
    assert report.unsolved == 2 and report.unsolved_by_format == Counter({"standard": 1, "tool": 1})
    # a tool teacher is asked with the prompt the tool agents send
    asked = {body["messages"][0]["content"] for body in proxy.chat_requests()}
    assert asked == {user_turn("tool", q["problem"]) for q in PROBLEMS}
    records = {(r["problem_id"], r["teacher"]): r for r in read_jsonl(traces)}
    local_tool = [r for (_, t), r in records.items() if t == "local_tool"]
    # the random tiny model writes no code (or nothing at all: a failed attempt)
    assert all(r["format"] == "tool" and not r["correct"] for r in local_tool)
    assert all(r["tool_check"] == "no_code" for r in local_tool if r["error"] is None)
    product = records[("products/train/0", "reference_tool")]
    assert product["text"] == ("I compute 7 * 8 with Python.\n```python\nprint(7 * 8)\n```\n"
                               "```output\n56\n```\nThe answer is \\boxed{56}.")
    assert product["correct"] and product["tool_check"] == "verified" and product["answer"] == "56"
    assert records[("gsm/train/0", "reference_tool")]["correct"]       # its last line, as Python
    assert records[("lcm/train/0", "reference_tool")]["error"].startswith("the reference solution has no")
    before = traces.read_bytes()
    report = run_cotgen(PROBLEMS, p, seed=0, trace_path=str(traces))
    assert report.requests == 0 and report.reused == 12 and traces.read_bytes() == before
