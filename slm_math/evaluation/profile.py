"""The profile: a model's pass rate per task and difficulty level, over k samples a problem.

The offline mix must hold tasks the small model is neither always nor never right on, and
GRPO needs problems whose k samples disagree (a group that is all right or all wrong has
zero advantage everywhere). The profile measures both, per (task, level) cell:

    n          problems measured
    k          samples per problem
    pass_rate  mean over all n x k samples
    pass_at_k  share of problems with at least one right sample
    mixed      share of problems whose k samples disagree (the share of GRPO groups with signal)
    in_band    min_pass_rate < pass_rate < max_pass_rate

Problems come from each task's reasoning-gym generator (``data.reasoning_gym_source``) in the
``profile`` block of generator indices, disjoint from every train and test item; few-shot
examples are the next items of the same block, so they share the problem's task and level.
Each problem gets the standard agent's prompt (``agents.standard.build_messages``) and all
its samples come from one batched ``generate`` call per cell (``n = k``); every sample is
graded under the task's answer rule. Cells done are journaled, so an interrupted run resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slm_math.agents.standard import build_messages
from slm_math.config.params import ProfileParams, TaskParams
from slm_math.data.reasoning_gym_source import generate_split
from slm_math.generation import Generator, SamplingParams
from slm_math.grading import judge_many
from slm_math.jsonl import JsonlAppender, iter_jsonl

MIX_LEVEL = "mix"
"""The level name of a data.tasks config that none of the task's profile levels matches."""


@dataclass(frozen=True)
class Cell:
    """One (task, level) the profile measures, with the generator config that defines it."""

    task: str
    level: str
    generator: str
    rule: str
    config: Mapping[str, Any]


def profile_cells(params: ProfileParams, mix: Mapping[str, TaskParams]
                  ) -> tuple[list[Cell], dict[str, str]]:
    """(cells to measure, the level of each ``mix`` task that the training data uses).

    Every level of ``params.tasks``, plus each ``mix`` (data.tasks) task at its own config:
    the level with the same generator and config when there is one, else an extra level
    named ``mix``.
    """
    cells = [Cell(task, level, spec.generator, spec.rule, dict(config))
             for task, spec in params.tasks.items() for level, config in spec.levels.items()]
    mix_levels: dict[str, str] = {}
    for task, spec in mix.items():
        same = [c for c in cells if c.task == task and c.generator == spec.generator
                and dict(c.config) == dict(spec.config)]
        if same:
            mix_levels[task] = same[0].level
        else:
            cells.append(Cell(task, MIX_LEVEL, spec.generator, spec.rule, dict(spec.config)))
            mix_levels[task] = MIX_LEVEL
    return cells, mix_levels


def cell_problems(cell: Cell, *, seed: int, problems: int, fewshot: int
                  ) -> tuple[list[dict], list[dict]]:
    """(problems to measure, few-shot examples) of one cell, from the profile's index block."""
    drawn, _ = generate_split(f"{cell.task}/{cell.level}", cell.generator, cell.rule,
                              dict(cell.config), seed=seed, split="profile",
                              size=problems + fewshot)
    if len(drawn) <= fewshot:
        raise ValueError(f"profile: {cell.task} level {cell.level!r} ({dict(cell.config)}) "
                         f"yields only {len(drawn)} distinct problems; widen its config")
    for record in drawn:
        record["source"], record["level"] = cell.task, cell.level
    return drawn[:len(drawn) - fewshot], drawn[len(drawn) - fewshot:]


def measure_cell(generator: Generator, problems: Sequence[dict], examples: Sequence[dict],
                 sampling: SamplingParams) -> list[dict]:
    """One sample record per problem: its k samples generated in one call and graded.

    Record: ``id, task, level, problem, answer, k, correct`` (samples right) and ``answers``
    (what the grader read in each sample, None where it found nothing).
    """
    prompts = [build_messages(p, examples) for p in problems]
    outputs = generator.generate(prompts, sampling)
    texts = [c.text for row in outputs for c in row]
    golds = [p["answer"] for p, row in zip(problems, outputs) for _ in row]
    rules = [p["rule"] for p, row in zip(problems, outputs) for _ in row]
    verdicts = iter(judge_many(texts, golds, rule=rules))
    records = []
    for problem, row in zip(problems, outputs):
        graded = [next(verdicts) for _ in row]
        records.append({"id": problem["id"], "task": problem["source"], "level": problem["level"],
                        "problem": problem["problem"], "answer": problem["answer"],
                        "k": len(row), "correct": sum(v.correct for v in graded),
                        "answers": [v.answer for v in graded]})
    return records


def summarize(correct: Sequence[int], k: int, *, min_pass_rate: float,
              max_pass_rate: float) -> dict[str, Any]:
    """A cell's numbers from each problem's count of right samples out of ``k``."""
    n = len(correct)
    if n == 0 or k < 1:
        raise ValueError(f"summarize needs at least one problem and k >= 1 (got n={n}, k={k})")
    if any(not 0 <= c <= k for c in correct):
        raise ValueError(f"a correct count is outside [0, {k}]: {list(correct)}")
    pass_rate = sum(correct) / (n * k)
    return {"n": n, "k": k, "pass_rate": round(pass_rate, 4),
            "pass_at_k": round(sum(c > 0 for c in correct) / n, 4),
            "mixed": round(sum(0 < c < k for c in correct) / n, 4),
            "in_band": min_pass_rate < pass_rate < max_pass_rate}


def profile_metrics(samples: Sequence[dict], params: ProfileParams, mix_levels: Mapping[str, str],
                    **extra: Any) -> dict[str, Any]:
    """metrics/profile.json from the sample records.

    ``{"tasks": {task: {level: summary}}, "selected": [[task, level], ...] (in band),
    "mix": {task: level of data.tasks}, "settings": {...}, **extra}``.
    """
    counts: dict[str, dict[str, list[int]]] = {}
    ks: dict[tuple[str, str], int] = {}
    for record in samples:
        counts.setdefault(record["task"], {}).setdefault(record["level"], []).append(record["correct"])
        ks[record["task"], record["level"]] = record["k"]
    tasks = {task: {level: summarize(c, ks[task, level], min_pass_rate=params.min_pass_rate,
                                     max_pass_rate=params.max_pass_rate)
                    for level, c in levels.items()}
             for task, levels in counts.items()}
    selected = [[task, level] for task, levels in tasks.items()
                for level, summary in levels.items() if summary["in_band"]]
    settings = {"problems": params.problems, "k": params.k, "fewshot": params.fewshot,
                "temperature": params.temperature, "max_new_tokens": params.max_new_tokens,
                "band": [params.min_pass_rate, params.max_pass_rate]}
    return {"tasks": tasks, "selected": selected, "mix": dict(mix_levels),
            "settings": settings, **extra}


def run_profile(params: ProfileParams, *, seed: int, mix: Mapping[str, TaskParams],
                generator: Callable[[], Generator], journal: str | Path | None = None,
                progress: bool = True) -> tuple[list[dict], dict[str, str]]:
    """(sample records of every cell, mix levels): measure each cell not yet in ``journal``.

    generator: makes the generator; called only when a cell is left to measure.
    """
    cells, mix_levels = profile_cells(params, mix)
    done: dict[str, dict] = {}
    if journal is not None and Path(journal).exists():
        done = {r["id"]: r for r in iter_jsonl(journal, allow_truncated_tail=True)}
    planned = [(cell, *cell_problems(cell, seed=seed, problems=params.problems,
                                     fewshot=params.fewshot)) for cell in cells]
    todo = [item for item in planned if any(p["id"] not in done for p in item[1])]
    sampling = SamplingParams(temperature=params.temperature, top_p=params.top_p,
                              max_new_tokens=params.max_new_tokens, n=params.k, seed=seed)
    if todo:
        from rich.progress import Progress

        gen = generator()
        appender = JsonlAppender(journal) if journal is not None else None
        try:
            with Progress(disable=not progress, transient=False) as bar:
                task_id = bar.add_task("profile", total=len(planned),
                                       completed=len(planned) - len(todo))
                for cell, problems, examples in todo:
                    bar.update(task_id, description=f"profile {cell.task}/{cell.level}")
                    for record in measure_cell(gen, problems, examples, sampling):
                        done[record["id"]] = record
                        if appender:
                            appender.append(record)
                    bar.advance(task_id)
        finally:
            if appender:
                appender.close()
            gen.close()
    return [done[p["id"]] for _, problems, _ in planned for p in problems], mix_levels


def profile_table(metrics: Mapping[str, Any]) -> str:
    """metrics/profile.json as a Markdown table; ``*`` marks the level data.tasks trains on."""
    lines = ["| task | level | pass rate | pass@k | mixed | in band |",
             "| --- | --- | ---: | ---: | ---: | :---: |"]
    for task, levels in metrics["tasks"].items():
        for level, s in levels.items():
            mark = " *" if metrics.get("mix", {}).get(task) == level else ""
            lines.append(f"| {task} | {level}{mark} | {s['pass_rate']:.3f} | {s['pass_at_k']:.3f} "
                         f"| {s['mixed']:.3f} | {'yes' if s['in_band'] else 'no'} |")
    return "\n".join(lines)
