"""Offline problems from reasoning-gym generators, split so train and test never meet.

Item ``i`` of a reasoning-gym dataset comes from ``Random(seed + i)``, so overlapping index
ranges repeat items. Each split owns its own block of ``SPLIT_SPAN`` indices starting at
``SPLIT_OFFSETS[split]`` (train from 0, test from 1,000,000, the profile stage's problems from
2,000,000), so no two splits ever draw the same item; any train item whose question text also
appears in test is skipped. Each task's generator seed is shifted by :func:`task_seed`, so two
tasks do not draw the same numbers (without it, test item 1 was ``99 * 12`` in products and
``99 + 12`` in chain_sum: correlated benchmarks). ``gsm_symbolic`` is split by template: every k-th template goes
to test, so a template seen in training is never tested.

Each item's answer is recomputed (``answer_checks``) and each gets a reference solution that
writes the computation before the answer, the form the small model can learn from: one line
(``expression``, ``69 * 39 = 2691``) or worked in steps (``worked``,
:mod:`slm_math.data.worked_solutions`).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from fractions import Fraction

from slm_math.data.answer_checks import CHECKS
from slm_math.data.worked_solutions import worked_expression, worked_lcm

SPLIT_SPAN = 1_000_000
SPLIT_OFFSETS = {"train": 0, "test": SPLIT_SPAN, "profile": 2 * SPLIT_SPAN}
TASK_SEED_SPAN = 100_000


def task_seed(seed: int, name: str) -> int:
    """The generator seed of task ``name``: ``seed`` plus a stable per-task shift.

    The shift (crc32 of the name, below ``TASK_SEED_SPAN``) keeps every split inside its own
    block (a split uses far fewer than ``SPLIT_SPAN - TASK_SEED_SPAN`` indices) while tasks
    that share a generator's number stream (products, chain_sum, basic_arithmetic) stop
    drawing the same operands at the same index.
    """
    return seed + zlib.crc32(name.encode()) % TASK_SEED_SPAN
_INSTRUCTION = re.compile(
    r"\s*(Give (only )?the [\w\s]*? as your final answer\.?|Do not include units\.?)\s*", re.I)


def strip_instruction(question: str) -> str:
    """Drop the generator's answer-format sentence: our prompt asks for a boxed answer."""
    return _INSTRUCTION.sub(" ", question).strip()


def reference_solution(generator: str, item: dict, answer: str, style: str = "expression") -> str:
    """A solution that writes the computation before the final answer: in one line
    (``style`` "expression"), or "worked" in steps where the generator has a worked form
    (arithmetic expressions, lcm), the last line still the one-line solution."""
    meta = item["metadata"]
    if style == "worked":
        if "expression" in meta:
            worked = worked_expression(str(meta["expression"]), answer)
            if worked is not None:
                return worked
        if generator == "lcm":
            return worked_lcm([int(n) for n in meta["numbers"]])
    if generator == "gsm_symbolic":
        steps = re.sub(r"\n?####.*$", "", str(meta.get("answer_cot", "")), flags=re.S).strip()
        return steps
    if "expression" in meta:
        return f"{meta['expression']} = {answer}"
    if generator in ("lcm", "gcd"):
        return f"{generator}({', '.join(str(n) for n in meta['numbers'])}) = {answer}"
    if generator == "prime_factorization":
        return f"{meta['number']} = {answer}"
    if generator == "fraction_simplification":
        num, den = int(meta["numerator"]), int(meta["denominator"])
        g = den // Fraction(num, den).denominator
        return f"{num}/{den} = ({num}÷{g})/({den}÷{g}) = {answer}"
    return ""


def _dataset(generator: str, seed: int, size: int, config: dict):
    import reasoning_gym

    try:
        return reasoning_gym.create_dataset(generator, seed=seed, size=size, **config)
    except Exception as err:  # reasoning-gym validates configs with bare asserts
        raise ValueError(f"reasoning-gym generator {generator!r} with config {config}: "
                         f"{type(err).__name__}: {err}") from None


def split_indices(split: str, want: int, max_tries_factor: int = 20) -> range:
    """The dataset indices ``split`` draws ``want`` items from (``max_tries_factor`` tries each).

    The range stays inside the split's own block, so splits never share an item; a size
    that would cross into the next block is an error rather than a silent overlap.
    """
    span = max_tries_factor * (want + 1)
    if span > SPLIT_SPAN - TASK_SEED_SPAN:  # room for task_seed's shift inside the block
        raise ValueError(f"{split}: {want} problems x {max_tries_factor} tries need {span:,} "
                         f"generator indices, more than the {SPLIT_SPAN - TASK_SEED_SPAN:,} "
                         "each split owns")
    start = SPLIT_OFFSETS[split]
    return range(start, start + span)


def draw_problems(ds, indices, *, name: str, generator: str, rule: str, split: str, want: int,
                  counts: Counter, exclude: set[str] = frozenset(),
                  by_template: bool = False, solution_style: str = "expression") -> list[dict]:
    """Up to ``want`` problem records from items ``indices`` of ``ds``, in index order.

    Skips (and counts under ``<split>_...``) repeated questions, questions in ``exclude`` and
    items whose answer fails its recomputation check; the answer is the recomputed one.
    """
    check = CHECKS.get(generator)
    out: list[dict] = []
    seen: set[str] = set()
    for i in indices:
        if len(out) >= want:
            break
        item = ds[i]
        question = strip_instruction(item["question"])
        if question in seen or question in exclude:
            counts[f"{split}_duplicate"] += 1
            continue
        answer = str(item["answer"]).strip()
        if check is not None:
            fixed = check(item)
            if fixed is None:
                counts[f"{split}_invalid_answer"] += 1
                continue
            if fixed != answer:
                counts[f"{split}_answer_normalized"] += 1
            answer = fixed
        else:
            counts[f"{split}_unchecked"] += 1
        seen.add(question)
        record = {"id": f"{name}/{split}/{i}", "source": name, "split": split,
                  "problem": question, "answer": answer, "rule": rule,
                  "solution": reference_solution(generator, item, answer, solution_style)}
        if by_template:
            record["subject"] = f"template_{ds.task_indices[i]}"
        out.append(record)
    if len(out) < want:
        counts[f"{split}_short"] += want - len(out)
    return out


def generate_split(name: str, generator: str, rule: str, config: dict, *, seed: int,
                   split: str, size: int, max_tries_factor: int = 20,
                   exclude: set[str] = frozenset(),
                   solution_style: str = "expression") -> tuple[list[dict], Counter]:
    """(problems, counts): ``size`` checked problems from ``split``'s own block of indices,
    none of whose question text is in ``exclude``, solutions in ``solution_style``."""
    counts: Counter = Counter()
    indices = split_indices(split, size, max_tries_factor)
    ds = _dataset(generator, task_seed(seed, name), indices.stop, config)
    return draw_problems(ds, indices, name=name, generator=generator, rule=rule, split=split,
                         want=size, counts=counts, exclude=exclude,
                         solution_style=solution_style), counts


def generate_task(name: str, generator: str, rule: str, config: dict, *, seed: int,
                  train_size: int, test_size: int, test_template_every: int = 5,
                  max_tries_factor: int = 20, solution_style: str = "expression",
                  ) -> tuple[list[dict], list[dict], Counter]:
    """(train, test, counts) problems for one generator, solutions in ``solution_style``;
    counts say what was dropped."""
    counts: Counter = Counter()
    by_template = generator == "gsm_symbolic"
    if by_template:
        # train and test share the train block, split by template
        pool = max_tries_factor * (train_size + test_size) + 10
        if pool > SPLIT_SPAN - TASK_SEED_SPAN:
            raise ValueError(f"{name}: {train_size + test_size} problems x {max_tries_factor} "
                             f"tries need {pool:,} generator indices, more than {SPLIT_SPAN:,}")
        ds = _dataset(generator, task_seed(seed, name), pool, config)
        test_idx = [i for i in range(pool) if ds.task_indices[i] % test_template_every == 0]
        train_idx = [i for i in range(pool) if ds.task_indices[i] % test_template_every != 0]
    else:
        test_idx = split_indices("test", test_size, max_tries_factor)
        train_idx = split_indices("train", train_size, max_tries_factor)
        ds = _dataset(generator, task_seed(seed, name), test_idx.stop, config)
    draw = dict(ds=ds, name=name, generator=generator, rule=rule, counts=counts,
                by_template=by_template, solution_style=solution_style)
    test = draw_problems(indices=test_idx, split="test", want=test_size, **draw)
    train = draw_problems(indices=train_idx, split="train", want=train_size,
                          exclude={p["problem"] for p in test}, **draw)
    return train, test, counts
