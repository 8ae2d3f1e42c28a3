"""The download stage's work: load every benchmark, split, check, decontaminate, count."""

from __future__ import annotations

from rich.progress import track

from slm_math.config import DataParams
from slm_math.data.contamination import find_contaminated
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
    all_test = [r["problem"] for records in test.values() for r in records]
    total_dropped = 0
    for name, records in train.items():
        bad = set(find_contaminated([r["problem"] for r in records], all_test,
                                    data.contamination_ngram))
        train[name] = [r for i, r in enumerate(records) if i not in bad]
        metrics[name]["train_contaminated_dropped"] = len(bad)
        total_dropped += len(bad)
    for name in metrics:
        metrics[name]["train"] = len(train.get(name, []))
        metrics[name]["test"] = len(test.get(name, []))
    summary = {"benchmarks": metrics,
               "total": {"train": sum(len(v) for v in train.values()),
                         "test": sum(len(v) for v in test.values()),
                         "train_contaminated_dropped": total_dropped,
                         "ngram": data.contamination_ngram}}
    return train, test, summary

