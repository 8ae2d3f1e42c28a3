"""SFT examples: verified traces joined with their problems, as chat turns, mixed by format.

Each example is TRL's conversational prompt-completion format::

    {"prompt": [{"role": "user", "content": <the user turn of the trace's format>}],
     "completion": [{"role": "assistant", "content": <the trace text>}],
     "problem_id": ..., "format": "standard" | "tool" | "verdict"}

The user turn is the one the agents send for that format (`prompts.user_turn`): solve.jinja
for a standard solution, code_solve.jinja for a tool-integrated one, verify.jinja with the
graded solution for a verdict. SFTTrainer applies the model's own chat template and puts the
loss on the completion (the assistant turn) only. Examples are held out by problem id, never
by trace, so a problem's other traces cannot leak into the held-out loss; the training
examples are then drawn by format in the shares `sft_*.formats` asks for (`mix_formats`).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path

from slm_math.data.schema import read_problems
from slm_math.jsonl import DataFileError, iter_jsonl
from slm_math.prompts import FORMAT_TEMPLATES, user_turn

PROMPT_TEMPLATE = FORMAT_TEMPLATES["standard"]  # the same user turn evaluation sends (agents.standard)


def load_problems(paths: list[Path] | Path) -> dict[str, dict]:
    """Problems by id from one JSONL file or every ``*.jsonl`` in a folder."""
    if isinstance(paths, Path) and paths.is_dir():
        paths = sorted(paths.glob("*.jsonl"))
    elif isinstance(paths, Path):
        paths = [paths]
    problems: dict[str, dict] = {}
    for path in paths:
        for record in read_problems(path):
            problems[record["id"]] = record
    return problems


def user_prompt(problem_text: str) -> str:
    """The user turn for a problem: what SFT trains on, GRPO samples from, evaluation asks."""
    return user_turn("standard", problem_text)


def chat_example(problem: dict, trace_text: str, fmt: str = "standard",
                 solution: str | None = None) -> dict:
    """One prompt-completion example in chat form, the user turn of format `fmt`."""
    return {"prompt": [{"role": "user", "content": user_turn(fmt, problem["problem"], solution)}],
            "completion": [{"role": "assistant", "content": trace_text}],
            "problem_id": problem["id"], "format": fmt}


def load_sft_examples(traces_path: str | Path, problems: dict[str, dict]) -> list[dict]:
    """Chat examples for every verified trace; a trace whose problem is unknown is an error.

    Traces marked ``correct: false`` (should a raw trace file be passed) are skipped; a
    trace's ``format`` (default standard) picks its user turn, and a verdict trace needs
    the ``solution`` it judges.
    """
    traces_path = Path(traces_path)
    examples = []
    for number, trace in enumerate(iter_jsonl(traces_path), start=1):
        for key in ("problem_id", "text"):
            if not isinstance(trace.get(key), str) or not trace[key]:
                raise DataFileError(f"{traces_path}: record {number}: field {key!r} must be a "
                                    f"non-empty string, got {trace.get(key)!r}")
        fmt = trace.get("format") or "standard"
        if fmt not in FORMAT_TEMPLATES:
            raise DataFileError(f"{traces_path}: record {number}: field 'format' is {fmt!r}, "
                                f"expected one of {', '.join(FORMAT_TEMPLATES)}")
        if fmt == "verdict" and not isinstance(trace.get("solution"), str):
            raise DataFileError(f"{traces_path}: record {number}: a verdict trace needs the "
                                f"'solution' it judges, got {trace.get('solution')!r}")
        if trace.get("correct") is False:
            continue
        problem = problems.get(trace["problem_id"])
        if problem is None:
            raise DataFileError(f"{traces_path}: record {number}: problem_id "
                                f"{trace['problem_id']!r} is in no problem file")
        examples.append(chat_example(problem, trace["text"], fmt, trace.get("solution")))
    if not examples:
        raise DataFileError(f"{traces_path}: no verified traces to train on")
    return examples


def mix_formats(examples: list[dict], shares: Mapping[str, float], *, total: int | None,
                seed: int) -> tuple[list[dict], dict[str, dict]]:
    """(examples, counts): `total` examples (None: as many as the formats with a share have)
    drawn by format in the given shares (normalized), shuffled with `seed`.

    A format with more examples than its share is sampled without repetition; one with
    fewer is repeated whole, then topped up by a sample, so the shares hold. A format with
    a share but no examples is an error (its traces were never made). counts: per format,
    `examples` drawn and `available`.
    """
    pools: dict[str, list[dict]] = defaultdict(list)
    for example in examples:
        pools[example.get("format", "standard")].append(example)
    weights = {fmt: float(w) for fmt, w in shares.items() if w > 0}
    missing = sorted(fmt for fmt in weights if not pools.get(fmt))
    if missing:
        raise DataFileError(f"formats: {', '.join(missing)} asked for a share but the verified "
                            f"traces hold none (formats present: {', '.join(sorted(pools)) or 'none'})")
    total = sum(len(pools[fmt]) for fmt in weights) if total is None else total
    norm = sum(weights.values())
    rng = random.Random(seed)
    counts, mixed = {}, []
    wanted = _apportion({fmt: total * w / norm for fmt, w in weights.items()}, total)
    for fmt, want in wanted.items():
        pool = pools[fmt][:]
        rng.shuffle(pool)
        whole, rest = divmod(want, len(pool))
        drawn = pool * whole + pool[:rest]
        mixed.extend(drawn)
        counts[fmt] = {"examples": len(drawn), "available": len(pool)}
    rng.shuffle(mixed)
    return mixed, counts


def _apportion(quotas: Mapping[str, float], total: int) -> dict[str, int]:
    """Integer counts summing to `total`, closest to the quotas (largest remainders first)."""
    counts = {k: int(q) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: quotas[k] - counts[k], reverse=True)[:total - sum(counts.values())]:
        counts[k] += 1
    return counts


def _problem_rank(problem_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{problem_id}".encode()).hexdigest()


def split_held_out(examples: list[dict], eval_problems: int, seed: int,
                   max_examples: int | None = None) -> tuple[list[dict], list[dict]]:
    """(train, held_out): ``eval_problems`` whole problems held out, chosen by a seeded hash.

    The train list is shuffled with ``seed`` and cut to ``max_examples``. At least one
    problem is kept for training.
    """
    ids = sorted({e["problem_id"] for e in examples}, key=lambda i: _problem_rank(i, seed))
    held = set(ids[:min(eval_problems, len(ids) - 1)])
    train = [e for e in examples if e["problem_id"] not in held]
    held_out = [e for e in examples if e["problem_id"] in held]
    random.Random(seed).shuffle(train)
    if max_examples is not None:
        train = train[:max_examples]
    return train, held_out
