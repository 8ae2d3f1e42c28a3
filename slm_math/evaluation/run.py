"""Run one evaluation cell: an agent over benchmarks with a model, graded, journaled.

`evaluate_cell` feeds the agent chunks of problems (each chunk one batched call), grades
the results under each benchmark's answer rule, and appends the eval rows to a journal,
so an interrupted cell resumes where it stopped: the journal is keyed by a fingerprint of
everything that decides the rows (model files, agent config, benchmarks), and a rerun
with the same fingerprint skips the problems already done.

Eval row: `problem_id, benchmark, model, agent, prediction` (the agent's final answer: the
last `\\boxed{}` or an explicit "answer is", null if none), `graded_answer` (what the grader
read under the rule, which may fall back to the last number), `answer` (gold), `rule, correct, response` (the text the answer was read
from), `tokens, tokens_in, latency_s, iterations, finish_reason, trace`, and where present
`level, subject`, `samples` ([{answer, correct}] per sample when the agent drew n > 1) and
`iteration_correct` (iterative agents: whether the answer after iteration 1, 2, ... was right).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from slm_math.agents import Agent, AgentResult
from slm_math.data.schema import read_problems
from slm_math.generation import Generator
from slm_math.grading import extract_answer, judge_many
from slm_math.jsonl import JsonlAppender, iter_jsonl

Problem = Mapping[str, Any]


def load_benchmarks(names: Sequence[str], directory: str | Path,
                    limit: int | None = None) -> dict[str, list[Problem]]:
    """The test problems of each benchmark (`<directory>/<name>.jsonl`), the first `limit`."""
    out = {}
    for name in names:
        problems = read_problems(Path(directory) / f"{name}.jsonl")
        out[name] = problems[:limit] if limit else problems
    return out


def round_robin(benchmarks: Mapping[str, Sequence[Problem]], total: int) -> dict[str, list[Problem]]:
    """The first `total` problems, taking one from each benchmark in turn (a balanced subset)."""
    out: dict[str, list[Problem]] = {name: [] for name in benchmarks}
    index, taken = 0, 0
    while taken < total and any(index < len(v) for v in benchmarks.values()):
        for name, problems in benchmarks.items():
            if taken < total and index < len(problems):
                out[name].append(problems[index])
                taken += 1
        index += 1
    return out


def select_fewshot(names: Sequence[str], train_dir: str | Path, k: int, *, seed: int,
                   fallback: str | None = None) -> dict[str, list[Problem]]:
    """k worked examples (train problems with a solution) per benchmark, seeded.

    A benchmark without a train split (CHAMP) borrows the `fallback` benchmark's examples;
    `fallback="mixed"` takes them in turn from every benchmark of `names` that has some.
    """
    if k == 0:
        return {}

    def pick(name: str) -> list[Problem]:
        path = Path(train_dir) / f"{name}.jsonl"
        if not path.exists():
            return []
        pool = [p for p in read_problems(path) if p.get("solution")]
        return random.Random(f"{seed}:{name}").sample(pool, min(k, len(pool)))

    def mixed() -> list[Problem]:
        pools = [examples for examples in map(pick, names) if examples]
        return [p for row in itertools.zip_longest(*pools) for p in row if p is not None][:k]

    out = {}
    for name in names:
        borrowed = (mixed() if fallback == "mixed" else pick(fallback)) if fallback else []
        examples = pick(name) or borrowed
        if not examples:
            raise ValueError(f"few-shot: no train problems with a solution for {name!r} "
                             f"in {train_dir}" + (f" nor for the fallback {fallback!r}" if fallback else ""))
        out[name] = examples
    return out


def model_fingerprint(path: str | Path) -> str:
    """A cheap identity of a model folder: file names, sizes and mtimes, config contents."""
    digest = hashlib.sha256()
    for file in sorted(Path(path).rglob("*")):
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.relative_to(path)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
            if file.suffix == ".json" and stat.st_size < 1_000_000:
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def cell_fingerprint(**parts: Any) -> str:
    """A short hash of everything that decides a cell's rows."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def grade_results(problems: Sequence[Problem], results: Sequence[AgentResult], *,
                  model: str, agent: str, benchmark: str) -> list[dict[str, Any]]:
    """Eval rows for `results`: the answer and each sample graded under the problem's rule."""
    golds = [p["answer"] for p in problems]
    rules = [p.get("rule", "auto") for p in problems]
    verdicts = judge_many([r.response for r in results], golds, rule=rules)
    rows = []
    for problem, result, verdict in zip(problems, results, verdicts):
        row = {
            "problem_id": problem["id"], "benchmark": benchmark, "model": model, "agent": agent,
            "prediction": result.answer, "graded_answer": verdict.answer,
            "answer": problem["answer"], "rule": verdict.rule,
            "correct": verdict.correct, "response": result.response, "tokens": result.tokens,
            "tokens_in": result.tokens_in, "latency_s": round(result.latency_s, 4),
            "iterations": result.iterations, "finish_reason": result.finish_reason,
        }
        for key in ("level", "subject"):
            if problem.get(key) is not None:
                row[key] = problem[key]
        if result.samples:
            sample_verdicts = judge_many(result.samples, [problem["answer"]] * len(result.samples),
                                         rule=problem.get("rule", "auto"))
            row["samples"] = [{"answer": extract_answer(text), "correct": v.correct}
                              for text, v in zip(result.samples, sample_verdicts)]
        if result.iteration_responses:
            row["iteration_correct"] = [v.correct for v in judge_many(
                result.iteration_responses, [problem["answer"]] * len(result.iteration_responses),
                rule=problem.get("rule", "auto"))]
        row["trace"] = result.trace
        rows.append(row)
    return rows


def evaluate_cell(agent: Agent, generator: Generator | Callable[[], Generator],
                  benchmarks: Mapping[str, Sequence[Problem]], *, model: str, agent_name: str,
                  journal: str | Path | None = None, chunk_size: int = 64,
                  progress: bool | None = None) -> dict[str, list[dict[str, Any]]]:
    """Eval rows per benchmark, in each benchmark's problem order.

    generator: a generator, or a function making one (called only if work is left, so a
        fully journaled cell never loads the model). journal: JSONL of rows done so far.
    """
    done: dict[str, dict] = {}
    if journal is not None and Path(journal).exists():
        done = {r["problem_id"]: r for r in iter_jsonl(journal, allow_truncated_tail=True)}
    todo = [(name, p) for name, problems in benchmarks.items() for p in problems
            if p["id"] not in done]
    if todo:
        gen = generator() if callable(generator) and not isinstance(generator, Generator) else generator
        appender = JsonlAppender(journal) if journal is not None else None
        bar = _progress(len(todo), len(done), progress)
        try:
            for start in range(0, len(todo), chunk_size):
                chunk = todo[start:start + chunk_size]
                results = agent.solve(gen, [p for _, p in chunk])
                for name in dict.fromkeys(n for n, _ in chunk):
                    items = [(p, r) for (n, p), r in zip(chunk, results) if n == name]
                    for row in grade_results([p for p, _ in items], [r for _, r in items],
                                             model=model, agent=agent_name, benchmark=name):
                        done[row["problem_id"]] = row
                        if appender:
                            appender.append(row)
                if bar:
                    bar.update(len(chunk))
        finally:
            if appender:
                appender.close()
            if bar:
                bar.close()
    return {name: [done[p["id"]] for p in problems] for name, problems in benchmarks.items()}


def _progress(total: int, already: int, enabled: bool | None):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total + already, initial=already, desc="eval", unit="problem")
