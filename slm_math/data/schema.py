"""The problem record every benchmark is normalized to, and its strict reader.

problem: ``id, source, split, problem, answer, rule, solution?, level?, subject?``.
``rule`` is the benchmark's answer rule (numeric, fraction_lowest_terms, factor_list, latex):
the grader and the rewards apply it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from slm_math.jsonl import DataFileError, iter_jsonl

RULES = ("numeric", "fraction_lowest_terms", "factor_list", "latex", "auto")
SPLITS = ("train", "test")


class Problem(TypedDict, total=False):
    """One normalized problem."""

    id: str
    source: str
    split: str
    problem: str
    answer: str
    rule: str
    solution: str
    level: int
    subject: str


REQUIRED = {"id": str, "source": str, "split": str, "problem": str, "answer": str, "rule": str}
OPTIONAL = {"solution": (str, type(None)), "level": (int, type(None)),
            "subject": (str, type(None))}


def problem_error(record: dict) -> str | None:
    """Why ``record`` is not a valid problem (naming field and value), or None."""
    for name, kind in REQUIRED.items():
        if name not in record:
            return f"missing field {name!r}"
        if not isinstance(record[name], kind):
            return f"field {name!r} should be a string, got {record[name]!r:.60}"
    for name, kinds in OPTIONAL.items():
        if name in record and not isinstance(record[name], kinds):
            return f"field {name!r} has the wrong type: {record[name]!r:.60}"
    if not record["problem"].strip():
        return "field 'problem' is empty"
    if not record["answer"].strip():
        return "field 'answer' is empty"
    if record["split"] not in SPLITS:
        return f"field 'split' is {record['split']!r}, expected one of {SPLITS}"
    if record["rule"] not in RULES:
        return f"field 'rule' is {record['rule']!r}, expected one of {RULES}"
    return None


def read_problems(path: str | Path) -> list[Problem]:
    """Read a problems JSONL file; a bad record raises naming path, line and field."""
    out: list[Problem] = []
    seen: set[str] = set()
    for number, record in enumerate(iter_jsonl(path), start=1):
        problem = problem_error(record)
        if problem:
            raise DataFileError(f"{path}: record {number}: {problem}")
        if record["id"] in seen:
            raise DataFileError(f"{path}: record {number}: duplicate id {record['id']!r}")
        seen.add(record["id"])
        out.append(record)  # type: ignore[arg-type]
    return out
