"""The download stage's work: load every benchmark, split, check, decontaminate, count.

Besides the benchmarks, ``data.grpo_tasks`` adds train-only problems for GRPO's pool
(data/grpo_train/): drawn after the benchmarks, so the train and test sets, and what SFT and
evaluation read, are the same with or without them.
"""

from __future__ import annotations

from rich.progress import track

from slm_math.config import DataParams, ParamsError
from slm_math.data.contamination import find_contaminated
from slm_math.data.reasoning_gym_source import generate_split
from slm_math.data.registry import cap, get_benchmark
from slm_math.data.schema import problem_error


def prepare_benchmarks(data: DataParams, seed: int, *, progress: bool = True
                       ) -> tuple[dict[str, list[dict]], dict[str, list[dict]], dict]:
    """(train sets, test sets, metrics) for ``data.benchmarks``.

    Fixed test sets larger than ``data.test_size`` (and hub train sets larger than
    ``data.train_size``) are sampled with the seed. Train problems sharing an n-gram with
    any test problem are dropped and counted.
    """
    train: dict[str, list[dict]] = {}
    test: dict[str, list[dict]] = {}
    metrics: dict[str, dict] = {}
    names = track(data.benchmarks, description="benchmarks") if progress else data.benchmarks
    for name in names:
        bench = get_benchmark(name, data)
        splits, counts = bench.load(data, seed)
        for split, records in splits.items():
            for record in records:
                problem = problem_error(record)
                if problem:  # a loader bug, not bad user input: fail loudly with the record
                    raise ValueError(f"benchmark {name}: record {record.get('id')}: {problem}")
        if "test" in splits:
            test[name] = cap(splits["test"], data.test_size, seed)
        if "train" in splits:
            train[name] = cap(splits["train"], max(data.train_size, 0), seed) \
                if name not in data.tasks else splits["train"]
        metrics[name] = {"rule": bench.rule, **dict(sorted(counts.items()))}
    total_dropped = drop_contaminated(train, test, data.contamination_ngram, metrics)
    for name in metrics:
        metrics[name]["train"] = len(train.get(name, []))
        metrics[name]["test"] = len(test.get(name, []))
    summary = {"benchmarks": metrics,
               "total": {"train": sum(len(v) for v in train.values()),
                         "test": sum(len(v) for v in test.values()),
                         "train_contaminated_dropped": total_dropped,
                         "ngram": data.contamination_ngram}}
    return train, test, summary


def drop_contaminated(sets: dict[str, list[dict]], test: dict[str, list[dict]], ngram: int,
                      metrics: dict[str, dict]) -> int:
    """Drop, in place, the problems of ``sets`` sharing an n-gram with any ``test`` problem;
    counts each set's drops in ``metrics[name]["train_contaminated_dropped"]``; the total."""
    all_test = [r["problem"] for records in test.values() for r in records]
    total = 0
    for name, records in sets.items():
        bad = set(find_contaminated([r["problem"] for r in records], all_test, ngram))
        sets[name] = [r for i, r in enumerate(records) if i not in bad]
        metrics[name]["train_contaminated_dropped"] = len(bad)
        total += len(bad)
    return total


def prepare_grpo_tasks(data: DataParams, seed: int, train: dict[str, list[dict]],
                       test: dict[str, list[dict]]) -> tuple[dict[str, list[dict]], dict]:
    """(problem sets, metrics) for ``data.grpo_tasks``: train-only problems for GRPO's pool.

    Each task draws ``size`` distinct problems from the train block of its generator (seeded
    by its own name, so a harder variant of a benchmark's generator draws other numbers).
    A question that is also in a test set, in ``train`` or in an earlier GRPO task is
    skipped (counted in ``train_duplicate``); then the same n-gram check as train problems
    get drops any that overlap a test problem. ``train`` and ``test`` are not changed.
    """
    taken = {r["problem"] for sets in (train, test) for records in sets.values() for r in records}
    sets: dict[str, list[dict]] = {}
    metrics: dict[str, dict] = {}
    for name, task in data.grpo_tasks.items():
        try:
            records, counts = generate_split(name, task.generator, task.rule, dict(task.config),
                                             seed=seed, split="train", size=task.size,
                                             exclude=taken, solution_style=data.solution_style)
        except ValueError as err:  # a generator that refuses its config: the user's params
            raise ParamsError(f"params.yaml: data.grpo_tasks.{name}: {err}") from None
        sets[name] = records
        taken |= {r["problem"] for r in records}
        metrics[name] = {"rule": task.rule, "generator": task.generator, "size": task.size,
                         **dict(sorted(counts.items()))}
    dropped = drop_contaminated(sets, test, data.contamination_ngram, metrics)
    for name, records in sets.items():
        metrics[name]["train"] = len(records)
    return sets, {"tasks": metrics, "total": {"train": sum(map(len, sets.values())),
                                              "train_contaminated_dropped": dropped}}
