"""The verify stage's library: grade every trace, keep verified ones by policy, count.

Policies (one per problem and trace format unless `all`): `first` (cascade order: teacher,
then attempt), `shortest` (fewest characters), `all` (every verified trace). A standard
trace is verified when its answer is right (`grade`); a tool-integrated one when its code,
run again in the sandbox, prints exactly its output block, that output supports its boxed
answer and the answer is right (`trace_formats.tool.check_tool_trace`). Verdict traces for
the verifier (`trace_formats.verdict`) are built from the graded traces.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slm_math.grading import grade_many
from slm_math.jsonl import DataFileError
from slm_math.trace_formats.tool import check_tool_trace, run_codes

CODE_BLOCK = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n")


def format_of(trace: dict) -> str:
    """A trace's format (records written before formats existed are standard)."""
    return trace.get("format") or "standard"


@dataclass(frozen=True)
class Judgement:
    """A trace's grade: `verified` (kept for SFT), `answer_correct` (its final answer alone,
    the label a verdict trace of it gets) and, for a tool-integrated one, the check's reason."""

    verified: bool
    answer_correct: bool
    reason: str | None = None


def judge_traces(traces: list[dict], problems: dict[str, dict], *, workers: int) -> list[Judgement]:
    """Every trace judged against its problem's gold under its rule; a tool-integrated one
    also by its code's output (run in the sandbox, `workers` at a time)."""
    for i, trace in enumerate(traces):
        if trace["problem_id"] not in problems:
            raise DataFileError(f"traces: record {i + 1}: problem_id {trace['problem_id']!r} "
                                f"is in no data/train file (re-run cotgen)")
    golds = [problems[t["problem_id"]]["answer"] for t in traces]
    rules = [problems[t["problem_id"]].get("rule", "auto") for t in traces]
    texts = [t.get("text") or "" for t in traces]
    right = [bool(v) and t.get("error") is None
             for v, t in zip(grade_many(texts, golds, rule=rules, workers=workers), traces)]
    out = [Judgement(ok, ok) for ok in right]
    tools = [i for i, t in enumerate(traces) if format_of(t) == "tool" and t.get("error") is None]
    for i, run in zip(tools, run_codes([texts[i] for i in tools], workers=workers)):
        check = check_tool_trace(texts[i], run, golds[i], rules[i])
        out[i] = Judgement(check.ok, right[i], check.reason)
    return out


def grade_traces(traces: list[dict], problems: dict[str, dict], *, workers: int) -> list[bool]:
    """Whether each trace is verified (`judge_traces`)."""
    return [j.verified for j in judge_traces(traces, problems, workers=workers)]


def select_verified(traces: list[dict], verdicts: Sequence[bool], problems: dict[str, dict], *,
                    policy: str, teacher_order: Sequence[str]) -> list[dict]:
    """Verified traces, by `policy` for each format, in problem order, each with its format,
    problem text and gold."""
    rank = {name: i for i, name in enumerate(teacher_order)}
    by_problem: dict[str, list[dict]] = defaultdict(list)
    for trace, ok in zip(traces, verdicts):
        if ok:
            by_problem[trace["problem_id"]].append(trace)
    formats = list(dict.fromkeys(format_of(t) for t in traces))
    out = []
    for problem_id, problem in problems.items():
        for fmt in formats:
            candidates = sorted((t for t in by_problem.get(problem_id, []) if format_of(t) == fmt),
                                key=lambda t: (rank.get(t["teacher"], len(rank)), t["attempt"]))
            if not candidates:
                continue
            if policy == "shortest":
                candidates = [min(candidates, key=lambda t: len(t["text"]))]
            elif policy == "first":
                candidates = candidates[:1]
            for trace in candidates:
                out.append({**trace, "format": fmt, "correct": True, "problem": problem["problem"],
                            "gold": problem["answer"]})
    return out


def cot_metrics(traces: list[dict], verdicts: Sequence[bool], verified: list[dict], *,
                teacher_order: Sequence[str],
                count_tokens: Callable[[str], int] | None = None,
                reasons: Sequence[str | None] | None = None,
                verdict_traces: Sequence[dict] = ()) -> dict:
    """metrics/cot.json: problems, solved by each teacher, yield %, unsolved, tokens, code,
    cost; per format (`formats`), why tool-integrated traces failed (`tool_checks`, from
    `reasons`), and the verdict traces by label and origin."""
    problems = {t["problem_id"] for t in traces}
    rank = {name: i for i, name in enumerate(teacher_order)}
    solver: dict[tuple[str, str], str] = {}  # (problem, format) -> the teacher that solved it
    for trace, ok in sorted(zip(traces, verdicts), key=lambda tv: (
            rank.get(tv[0]["teacher"], len(rank)), tv[0]["attempt"])):
        if ok:
            solver.setdefault((trace["problem_id"], format_of(trace)), trace["teacher"])
    solved_by = Counter(solver.values())
    solved = {problem for problem, _ in solver}
    tokens = [count_tokens(t["text"]) if count_tokens else t.get("tokens_out") or 0
              for t in verified]
    per_teacher: dict[str, dict] = {}
    for trace, ok in zip(traces, verdicts):
        row = per_teacher.setdefault(trace["teacher"], {"traces": 0, "verified": 0, "failed_attempts": 0,
                                                        "tokens_out": 0, "cost_usd": 0.0})
        row["traces"] += 1
        row["verified"] += bool(ok)
        row["failed_attempts"] += trace.get("error") is not None
        row["tokens_out"] += trace.get("tokens_out") or 0
        row["cost_usd"] = round(row["cost_usd"] + (trace.get("cost_usd") or 0.0), 8)
    n = len(problems)
    formats = {}
    for fmt in dict.fromkeys(format_of(t) for t in traces):
        asked = {t["problem_id"] for t in traces if format_of(t) == fmt}
        done = sum(1 for (_, f) in solver if f == fmt)
        formats[fmt] = {"traces": sum(format_of(t) == fmt for t in traces),
                        "verified_traces": sum(format_of(t) == fmt for t in verified),
                        "problems": len(asked), "solved": done,
                        "yield_pct": round(100.0 * done / len(asked), 2) if asked else 0.0}
    out = {
        "problems": n,
        "traces": len(traces),
        "solved_by": {name: solved_by.get(name, 0) for name in [*teacher_order, *sorted(
            set(solved_by) - set(teacher_order))]},
        "solved": len(solved),
        "unsolved": n - len(solved),
        "yield_pct": round(100.0 * len(solved) / n, 2) if n else 0.0,
        "verified_traces": len(verified),
        "mean_tokens": round(statistics.fmean(tokens), 2) if tokens else 0.0,
        "median_tokens": statistics.median(tokens) if tokens else 0,
        "tokens_counted_by": "tokenizer" if count_tokens else "teacher usage",
        "code_share": round(sum(bool(CODE_BLOCK.search(t["text"])) for t in verified)
                            / len(verified), 4) if verified else 0.0,
        "cost_usd": round(sum(t.get("cost_usd") or 0.0 for t in traces), 6),
        "teachers": per_teacher,
        "formats": formats,
    }
    if reasons is not None:
        checks = Counter(r for t, r in zip(traces, reasons) if format_of(t) == "tool" and r)
        if checks:
            out["tool_checks"] = dict(sorted(checks.items()))
    if verdict_traces:
        out["verdict_traces"] = {
            "traces": len(verdict_traces),
            "labels": dict(Counter(t["label"] for t in verdict_traces)),
            "origins": dict(sorted(Counter(t["origin"] for t in verdict_traces).items())),
            "solution_formats": dict(Counter(t["solution_format"] for t in verdict_traces))}
    return out
