"""SFT examples: verified teacher traces joined with their problems, as chat turns.

Each example is TRL's conversational prompt-completion format::

    {"prompt": [{"role": "user", "content": <solve.jinja rendered with the problem>}],
     "completion": [{"role": "assistant", "content": <the trace text>}],
     "problem_id": ...}

so SFTTrainer applies the model's own chat template and puts the loss on the completion
(the assistant turn) only. Examples are held out by problem id, never by trace, so a
problem's other traces cannot leak into the held-out loss.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from slm_math.data.schema import read_problems
from slm_math.jsonl import DataFileError, iter_jsonl
from slm_math.prompts import render

PROMPT_TEMPLATE = "solve"  # the same user turn evaluation sends (agents.standard)


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
    return render(PROMPT_TEMPLATE, problem=problem_text)


def chat_example(problem: dict, trace_text: str) -> dict:
    """One prompt-completion example in chat form."""
    return {"prompt": [{"role": "user", "content": user_prompt(problem["problem"])}],
            "completion": [{"role": "assistant", "content": trace_text}],
            "problem_id": problem["id"]}


def load_sft_examples(traces_path: str | Path, problems: dict[str, dict]) -> list[dict]:
    """Chat examples for every verified trace; a trace whose problem is unknown is an error.

    Traces marked ``correct: false`` (should a raw trace file be passed) are skipped.
    """
    traces_path = Path(traces_path)
    examples = []
    for number, trace in enumerate(iter_jsonl(traces_path), start=1):
        for key in ("problem_id", "text"):
            if not isinstance(trace.get(key), str) or not trace[key]:
                raise DataFileError(f"{traces_path}: record {number}: field {key!r} must be a "
                                    f"non-empty string, got {trace.get(key)!r}")
        if trace.get("correct") is False:
            continue
        problem = problems.get(trace["problem_id"])
        if problem is None:
            raise DataFileError(f"{traces_path}: record {number}: problem_id "
                                f"{trace['problem_id']!r} is in no problem file")
        examples.append(chat_example(problem, trace["text"]))
    if not examples:
        raise DataFileError(f"{traces_path}: no verified traces to train on")
    return examples


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
