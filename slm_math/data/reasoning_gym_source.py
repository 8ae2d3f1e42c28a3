"""Offline problems from reasoning-gym generators, split so train and test never meet.

Item ``i`` of a reasoning-gym dataset comes from ``Random(seed + i)``, so overlapping index
ranges repeat items. Test items are drawn from indices starting at ``TEST_OFFSET`` and train
items from 0, so the two ranges never overlap; any item whose question text also appears in
the other split is skipped. ``gsm_symbolic`` is split by template: every k-th template goes
to test, so a template seen in training is never tested.

Each item's answer is recomputed (``answer_checks``) and each gets a reference solution that
writes the computation before the answer, the form the small model can learn from.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from slm_math.data.answer_checks import CHECKS

TEST_OFFSET = 1_000_000
_INSTRUCTION = re.compile(
    r"\s*(Give (only )?the [\w\s]*? as your final answer\.?|Do not include units\.?)\s*", re.I)


def strip_instruction(question: str) -> str:
    """Drop the generator's answer-format sentence: our prompt asks for a boxed answer."""
    return _INSTRUCTION.sub(" ", question).strip()


def reference_solution(generator: str, item: dict, answer: str) -> str:
    """A worked solution that writes the computation before the final answer."""
    meta = item["metadata"]
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


def generate_task(name: str, generator: str, rule: str, config: dict, *, seed: int,
                  train_size: int, test_size: int, test_template_every: int = 5,
                  max_tries_factor: int = 20) -> tuple[list[dict], list[dict], Counter]:
    """(train, test, counts) problems for one generator; counts say what was dropped."""
    counts: Counter = Counter()
    by_template = generator == "gsm_symbolic"
    if by_template:
        pool = max_tries_factor * (train_size + test_size) + 10
        ds = _dataset(generator, seed, pool, config)
        test_idx = [i for i in range(pool) if ds.task_indices[i] % test_template_every == 0]
        train_idx = [i for i in range(pool) if ds.task_indices[i] % test_template_every != 0]
    else:
        ds = _dataset(generator, seed, TEST_OFFSET + max_tries_factor * (test_size + 1), config)
        test_idx = range(TEST_OFFSET, TEST_OFFSET + max_tries_factor * (test_size + 1))
        train_idx = range(0, max_tries_factor * (train_size + 1))
    check = CHECKS.get(generator)

    def draw(indices, split: str, want: int, exclude: set[str]) -> list[dict]:
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
                      "solution": reference_solution(generator, item, answer)}
            if by_template:
                record["subject"] = f"template_{ds.task_indices[i]}"
            out.append(record)
        if len(out) < want:
            counts[f"{split}_short"] += want - len(out)
        return out

    test = draw(test_idx, "test", test_size, set())
    train = draw(train_idx, "train", train_size, {p["problem"] for p in test})
    return train, test, counts
