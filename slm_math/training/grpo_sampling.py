"""Sampling and grading outside the trainer: held-out accuracy, the held-out checks during
training (the guard's benchmark and the training tasks' test problems), and curriculum pass
rates (with the start model's format rate).

All use the generation piece's ``hf`` backend on the model in hand (the start model before
training, the trained one after), or the run's vLLM LoRA engine where it has one and grade with the project's grader under each problem's
answer rule, so the numbers mean what evaluation means.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from slm_math.generation import SamplingParams
from slm_math.grading import grade_many
from slm_math.training.batching import world_size
from slm_math.training.grpo_data import pass_rate_records, solve_messages


def sample(model: Any, tokenizer: Any, prompts: Sequence, *, n: int, temperature: float,
           max_new_tokens: int, seed: int, batch_size: int | None = None,
           engine: Any = None) -> list[list[str]]:
    """``n`` completion texts per chat prompt (greedy at temperature 0).

    With ``engine`` (a :class:`~slm_math.training.grpo_vllm.LoraEngine`) vLLM samples with
    the engine's current adapter (none yet: the start model) and ``model`` is not used.
    """
    if engine is not None:
        return engine.sample_texts(prompts, n=n, temperature=temperature,
                                   max_new_tokens=max_new_tokens, seed=seed)
    from slm_math.generation.hf import HFGenerator

    saved_config = model.generation_config
    was_training = model.training
    try:
        # one process: the static CUDA-graph decoder on a GPU (generate on CPU); several
        # (DDP/FSDP): generate, since a graph captured around sharded weights' collectives
        # is not safe
        decoder = None if world_size() == 1 else "generate"
        generator = HFGenerator(model, tokenizer, batch_size=batch_size, progress=None,
                                decoder=decoder)
        params = SamplingParams(temperature=temperature, top_p=1.0, max_new_tokens=max_new_tokens,
                                n=n, seed=seed)
        results = generator.generate(list(prompts), params)
    finally:
        model.generation_config = saved_config
        model.train(was_training)
    return [[c.text for c in row] for row in results]


def grade_rows(problems: Sequence[dict], texts: Sequence[Sequence[str]]) -> list[list[bool]]:
    """Verdicts per problem, under each problem's answer rule."""
    flat_texts, golds, rules, shape = [], [], [], []
    for problem, row in zip(problems, texts, strict=True):
        flat_texts.extend(row)
        golds.extend([problem["answer"]] * len(row))
        rules.extend([problem.get("rule") or "auto"] * len(row))
        shape.append(len(row))
    flat = grade_many(flat_texts, golds, rule=rules) if flat_texts else []
    out, start = [], 0
    for size in shape:
        out.append(list(flat[start:start + size]))
        start += size
    return out


def held_out_accuracy(model: Any, tokenizer: Any, problems: Sequence[dict], *,
                      max_new_tokens: int, seed: int, engine: Any = None) -> dict:
    """Greedy accuracy on ``problems``: ``{"n", "correct", "accuracy", "boxed_rate",
    "correct_ids", "seconds"}`` (seconds: what the check cost)."""
    return held_out_accuracies(model, tokenizer, [problems], max_new_tokens=max_new_tokens,
                               seed=seed, engine=engine)[0]


def held_out_accuracies(model: Any, tokenizer: Any, problem_sets: Sequence[Sequence[dict]], *,
                        max_new_tokens: int, seed: int, engine: Any = None) -> list[dict]:
    """:func:`held_out_accuracy` of each problem set, from one generation call over all of
    them: decoding is step-bound on a CPU, so two checks together cost about one. Each dict's
    ``seconds`` is that shared call's."""
    flat = [p for problems in problem_sets for p in problems]
    texts, verdicts, seconds = [], [], 0.0
    if flat:
        start = time.perf_counter()
        texts = sample(model, tokenizer, [solve_messages(p) for p in flat], n=1, temperature=0.0,
                       max_new_tokens=max_new_tokens, seed=seed, engine=engine)
        verdicts = grade_rows(flat, texts)
        seconds = round(time.perf_counter() - start, 2)
    out, at = [], 0
    for problems in problem_sets:
        part = range(at, at + len(problems))
        at += len(problems)
        if not problems:
            out.append({"n": 0, "correct": 0, "accuracy": None})
            continue
        correct = sum(verdicts[i][0] for i in part)
        out.append({"n": len(problems), "correct": int(correct),
                    "accuracy": round(correct / len(problems), 4),
                    "boxed_rate": round(sum("\\boxed" in texts[i][0] for i in part) / len(problems), 4),
                    "correct_ids": [flat[i]["id"] for i in part if verdicts[i][0]],
                    "seconds": seconds})
    return out


#: the log keys of each problem set a held-out check grades: (accuracy, correct)
CHECK_LOG_KEYS = {"guard": ("held_out/accuracy", "held_out/correct"),
                  "tasks": ("held_out/tasks_accuracy", "held_out/tasks_correct")}


def check_logs(results: dict[str, dict]) -> dict[str, float]:
    """The log entries of one held-out check: ``{set name: held_out_accuracy's dict}`` ->
    ``held_out/accuracy`` and ``held_out/correct`` (the guard), ``held_out/tasks_accuracy``
    and ``held_out/tasks_correct`` (the training tasks); a set with no problems logs nothing."""
    logs = {}
    for name, result in results.items():
        if result.get("n"):
            accuracy, correct = CHECK_LOG_KEYS[name]
            logs[accuracy] = float(result["accuracy"])
            logs[correct] = float(result["correct"])
    return logs


class HeldOutGuard:
    """Greedy held-out checks every ``every`` optimizer steps of training.

    ``evaluate(model)`` returns ``{set name: held_out_accuracy's dict}``: ``"guard"`` (a
    benchmark outside the training tasks) and ``"tasks"`` (the training benchmarks' test
    problems), either absent or empty when not measured. Steps before the last are
    evaluated here (the stage measures the start and the end itself); each step once, so a
    log call at the end of training does not repeat it.
    """

    def __init__(self, evaluate: Callable[[Any], dict[str, dict]], every: int):
        self.evaluate, self.every = evaluate, every
        self.done: dict[int, dict[str, dict]] = {}

    def due(self, step: int, max_steps: int) -> bool:
        """Whether ``step`` is an evaluation step not yet evaluated."""
        return 0 < step < max_steps and step % self.every == 0 and step not in self.done

    def __call__(self, model: Any, step: int) -> dict[str, float]:
        """Evaluate ``model`` now; the log entries (:func:`check_logs`)."""
        results = self.evaluate(model)
        self.done[step] = results
        return check_logs(results)


def measure_pass_rates(model: Any, tokenizer: Any, problems: Sequence[dict], *, k: int,
                       temperature: float, max_new_tokens: int, seed: int,
                       engine: Any = None,
                       format_check: Callable[[list[str]], list[bool]] | None = None) -> list[dict]:
    """The start model's pass rate over ``k`` samples for each problem; with ``format_check``
    each record also counts the samples it accepts (``formatted``)."""
    texts = sample(model, tokenizer, [solve_messages(p) for p in problems], n=k,
                   temperature=temperature, max_new_tokens=max_new_tokens, seed=seed,
                   engine=engine)
    records = pass_rate_records(problems, grade_rows(problems, texts))
    if format_check is not None:
        for record, row in zip(records, texts, strict=True):
            record["formatted"] = int(sum(format_check(list(row))))
    return records
