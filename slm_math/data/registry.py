"""The benchmark registry: name → answer rule and loader, lm-evaluation-harness style.

Built-in entries are fixed data sets (hub or packaged); ``data.tasks`` in params.yaml adds
reasoning-gym generators by name. Every loader returns ``{split: [problem records]}``.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from slm_math.config import DataParams
from slm_math.config.params import BUILTIN_BENCHMARKS
from slm_math.data import champ_source, hub_source
from slm_math.data.reasoning_gym_source import generate_task


@dataclass(frozen=True)
class Benchmark:
    """A named data set: how it is graded and how it is loaded."""

    name: str
    rule: str
    description: str
    load: Callable[[DataParams, int], tuple[dict[str, list[dict]], Counter]]


def _hub(loader: Callable) -> Callable:
    def load(data: DataParams, seed: int):
        return loader(data.hub_dir), Counter()
    return load


def _gsm_symbolic(data: DataParams, seed: int):
    train, test, counts = generate_task(
        "gsm_symbolic", "gsm_symbolic", "numeric", {}, seed=seed, train_size=data.train_size,
        test_size=data.test_size, test_template_every=data.test_template_every,
        solution_style=data.solution_style)
    return {"train": train, "test": test}, counts


BUILTINS: dict[str, Benchmark] = {b.name: b for b in [
    Benchmark("gsm8k", "numeric", "GSM8K grade-school word problems (hub)",
              _hub(hub_source.load_gsm8k)),
    Benchmark("math", "latex", "MATH train: 12,000 problems outside MATH-500 (hub)",
              _hub(hub_source.load_math)),
    Benchmark("math500", "latex", "MATH-500 test subset (hub)", _hub(hub_source.load_math500)),
    Benchmark("aime24", "numeric", "AIME 2024 (hub)", _hub(hub_source.load_aime24)),
    Benchmark("aime25", "numeric", "AIME 2025 (hub)", _hub(hub_source.load_aime25)),
    Benchmark("olympiadbench", "latex", "OlympiadBench numeric subset (hub)",
              _hub(hub_source.load_olympiadbench)),
    Benchmark("champ", "numeric", "CHAMP numeric-answer competition problems (PyPI, offline)",
              lambda data, seed: ({"test": champ_source.load_champ()}, Counter())),
    Benchmark("gsm_symbolic", "numeric",
              "reasoning-gym GSM-Symbolic, split by template (offline)", _gsm_symbolic),
]}
assert tuple(BUILTINS) == BUILTIN_BENCHMARKS, "config.params.BUILTIN_BENCHMARKS is out of date"


def get_benchmark(name: str, data: DataParams) -> Benchmark:
    """The registry entry for ``name``: a built-in or a reasoning-gym task from params."""
    if name in data.tasks:
        task = data.tasks[name]

        def load(data: DataParams, seed: int, _task=task):
            train, test, counts = generate_task(
                name, _task.generator, _task.rule, dict(_task.config), seed=seed,
                train_size=data.train_size if _task.train_size is None else _task.train_size,
                test_size=data.test_size if _task.test_size is None else _task.test_size,
                solution_style=data.solution_style)
            return {"train": train, "test": test}, counts
        return Benchmark(name, task.rule, f"reasoning-gym {task.generator}", load)
    if name in BUILTINS:
        return BUILTINS[name]
    raise KeyError(f"unknown benchmark {name!r}")


def cap(records: list[dict], size: int, seed: int) -> list[dict]:
    """At most ``size`` records, a seeded sample that keeps file order (all when fewer)."""
    if len(records) <= size:
        return records
    keep = sorted(random.Random(seed).sample(range(len(records)), size))
    return [records[i] for i in keep]
