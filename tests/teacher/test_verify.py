"""verify: real grading of traces, the three selection policies, and metrics/cot.json."""

from __future__ import annotations

from slm_math.teacher import cot_metrics, select_verified
from slm_math.teacher.verify import grade_traces, judge_traces
from tests.teacher.conftest import PROBLEMS

PROBS = {p["id"]: p for p in PROBLEMS}
P0, P1 = PROBLEMS[0]["id"], PROBLEMS[1]["id"]


def trace(problem_id, teacher, attempt, text, error=None, cost=0.0, tokens_out=0):
    return {"problem_id": problem_id, "teacher": teacher, "attempt": attempt, "text": text,
            "error": error, "cost_usd": cost, "tokens_out": tokens_out}


TRACES = [
    trace(P0, "api", 1, "<think>long long reasoning</think> 7*8 = 56. \\boxed{56}", cost=0.002, tokens_out=40),
    trace(P0, "api", 2, "<think>x</think> \\boxed{56}", cost=0.001, tokens_out=10),
    trace(P0, "reference", 1, "<think>7 * 8 = 56</think> 7 * 8 = 56. The answer is \\boxed{56}."),
    trace(P1, "api", 1, "```python\nprint(15 + 85)\n```\n\\boxed{100}", cost=0.003, tokens_out=20),
    trace(P1, "api", 2, "\\boxed{15 + 85}", cost=0.001, tokens_out=5),  # a computation: wrong
    trace(PROBLEMS[3]["id"], "api", 1, "", error="empty response", cost=0.001),
    trace(PROBLEMS[3]["id"], "api", 2, "\\boxed{12}", error="response too long (9 chars > 5)"),
]
ORDER = ["api", "reference"]


def test_grading_follows_the_rules_and_failed_attempts_never_pass():
    assert grade_traces(TRACES, PROBS, workers=1) == [True, True, True, True, False, False, False]


def test_policies():
    verdicts = grade_traces(TRACES, PROBS, workers=1)
    first = select_verified(TRACES, verdicts, PROBS, policy="first", teacher_order=ORDER)
    assert [(t["problem_id"], t["teacher"], t["attempt"]) for t in first] == [(P0, "api", 1), (P1, "api", 1)]
    assert first[0]["problem"] == PROBLEMS[0]["problem"] and first[0]["gold"] == "56"
    shortest = select_verified(TRACES, verdicts, PROBS, policy="shortest", teacher_order=ORDER)
    assert [(t["teacher"], t["attempt"]) for t in shortest] == [("api", 2), ("api", 1)]
    every = select_verified(TRACES, verdicts, PROBS, policy="all", teacher_order=ORDER)
    assert len(every) == 4 and all(t["correct"] for t in every)


def test_metrics():
    verdicts = grade_traces(TRACES, PROBS, workers=1)
    verified = select_verified(TRACES, verdicts, PROBS, policy="first", teacher_order=ORDER)
    m = cot_metrics(TRACES, verdicts, verified, teacher_order=ORDER,
                    count_tokens=lambda text: len(text.split()))
    assert m["problems"] == 3 and m["solved"] == 2 and m["unsolved"] == 1
    assert m["solved_by"] == {"api": 2, "reference": 0} and m["yield_pct"] == 66.67
    assert m["code_share"] == 0.5 and m["cost_usd"] == 0.008
    assert m["mean_tokens"] == (7 + 6) / 2 and m["median_tokens"] == 6.5
    assert m["teachers"]["api"]["failed_attempts"] == 2
    by_usage = cot_metrics(TRACES, verdicts, verified, teacher_order=ORDER)
    assert by_usage["mean_tokens"] == 30.0 and by_usage["tokens_counted_by"] == "teacher usage"


TOOL_TEXT = ("I compute 15 + 85 with Python.\n```python\nprint(15 + 85)\n```\n```output\n100\n```\n"
             "The answer is \\boxed{100}.")


def tool_trace(problem_id, teacher, text):
    return {**trace(problem_id, teacher, 1, text), "format": "tool"}


def test_tool_traces_are_verified_by_running_their_code_and_kept_per_format():
    traces = [*TRACES,
              tool_trace(P1, "reference_tool", TOOL_TEXT),
              tool_trace(P1, "api_tool", TOOL_TEXT.replace("\\boxed{100}", "\\boxed{101}")),
              tool_trace(P0, "api_tool", "```python\nprint(7 * 8)\n```\n```output\n57\n```\n\\boxed{56}"),
              tool_trace(P0, "reference_tool", "7 * 8 = 56, \\boxed{56}")]  # right, but no code
    judged = judge_traces(traces, PROBS, workers=1)
    assert [(j.verified, j.answer_correct, j.reason) for j in judged[len(TRACES):]] == [
        (True, True, "verified"), (False, False, "unsupported"),
        (False, True, "output_mismatch"), (False, True, "no_code")]
    assert [j.verified for j in judged[:len(TRACES)]] == grade_traces(TRACES, PROBS, workers=1)
    order = ["api", "reference", "api_tool", "reference_tool"]
    verdicts = [j.verified for j in judged]
    first = select_verified(traces, verdicts, PROBS, policy="first", teacher_order=order)
    assert [(t["problem_id"], t["format"], t["teacher"]) for t in first] == [
        (P0, "standard", "api"), (P1, "standard", "api"), (P1, "tool", "reference_tool")]
    m = cot_metrics(traces, verdicts, first, teacher_order=order, reasons=[j.reason for j in judged])
    assert m["formats"]["tool"] == {"traces": 4, "verified_traces": 1, "problems": 2, "solved": 1,
                                    "yield_pct": 50.0}
    assert m["formats"]["standard"]["solved"] == 2 and m["solved"] == 2
    assert m["tool_checks"] == {"no_code": 1, "output_mismatch": 1, "unsupported": 1, "verified": 1}
    assert m["solved_by"]["reference_tool"] == 1
