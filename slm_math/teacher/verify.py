"""The verify stage's library: grade every trace, keep verified ones by policy, count.

Policies (one per problem unless `all`): `first` (cascade order: teacher, then attempt),
`shortest` (fewest characters), `all` (every verified trace).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from slm_math.grading import grade_many
from slm_math.jsonl import DataFileError

CODE_BLOCK = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n")


def grade_traces(traces: list[dict], problems: dict[str, dict], *, workers: int) -> list[bool]:
    """The verdict of every trace against its problem's gold answer, under its rule."""
    for i, trace in enumerate(traces):
        if trace["problem_id"] not in problems:
            raise DataFileError(f"traces: record {i + 1}: problem_id {trace['problem_id']!r} "
                                f"is in no data/train file (re-run cotgen)")
    golds = [problems[t["problem_id"]]["answer"] for t in traces]
    rules = [problems[t["problem_id"]].get("rule", "auto") for t in traces]
    verdicts = grade_many([t.get("text") or "" for t in traces], golds, rule=rules, workers=workers)
    return [v and t.get("error") is None for v, t in zip(verdicts, traces)]


def select_verified(traces: list[dict], verdicts: Sequence[bool], problems: dict[str, dict], *,
                    policy: str, teacher_order: Sequence[str]) -> list[dict]:
    """Verified traces, by `policy`, in problem order, each with its problem text and gold."""
    rank = {name: i for i, name in enumerate(teacher_order)}
    by_problem: dict[str, list[dict]] = defaultdict(list)
    for trace, ok in zip(traces, verdicts):
        if ok:
            by_problem[trace["problem_id"]].append(trace)
    out = []
    for problem_id, problem in problems.items():
        candidates = sorted(by_problem.get(problem_id, []),
                            key=lambda t: (rank.get(t["teacher"], len(rank)), t["attempt"]))
        if not candidates:
            continue
        if policy == "shortest":
            candidates = [min(candidates, key=lambda t: len(t["text"]))]
        elif policy == "first":
            candidates = candidates[:1]
        for trace in candidates:
            out.append({**trace, "correct": True, "problem": problem["problem"],
                        "gold": problem["answer"]})
    return out


def cot_metrics(traces: list[dict], verdicts: Sequence[bool], verified: list[dict], *,
                teacher_order: Sequence[str],
                count_tokens: Callable[[str], int] | None = None) -> dict:
    """metrics/cot.json: problems, solved by each teacher, yield %, unsolved, tokens, code, cost."""
    problems = {t["problem_id"] for t in traces}
    rank = {name: i for i, name in enumerate(teacher_order)}
    solver: dict[str, str] = {}
    for trace, ok in sorted(zip(traces, verdicts), key=lambda tv: (
            rank.get(tv[0]["teacher"], len(rank)), tv[0]["attempt"])):
        if ok:
            solver.setdefault(trace["problem_id"], trace["teacher"])
    solved_by = Counter(solver.values())
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
    return {
        "problems": n,
        "traces": len(traces),
        "solved_by": {name: solved_by.get(name, 0) for name in [*teacher_order, *sorted(
            set(solved_by) - set(teacher_order))]},
        "solved": len(solver),
        "unsolved": n - len(solver),
        "yield_pct": round(100.0 * len(solver) / n, 2) if n else 0.0,
        "verified_traces": len(verified),
        "mean_tokens": round(statistics.fmean(tokens), 2) if tokens else 0.0,
        "median_tokens": statistics.median(tokens) if tokens else 0,
        "tokens_counted_by": "tokenizer" if count_tokens else "teacher usage",
        "code_share": round(sum(bool(CODE_BLOCK.search(t["text"])) for t in verified)
                            / len(verified), 4) if verified else 0.0,
        "cost_usd": round(sum(t.get("cost_usd") or 0.0 for t in traces), 6),
        "teachers": per_teacher,
    }
