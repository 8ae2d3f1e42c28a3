"""GRPO reward functions on top of `grade`, in TRL's reward-function shape.

TRL calls `reward(prompts=..., completions=..., completion_ids=..., **columns)` and wants one float
(or None: "not applicable") per completion. Completions are strings, or chat messages
(`[{"role": "assistant", "content": ...}]`); dataset columns such as `answer` and `rule` arrive as
lists, one item per completion. Each factory returns such a function with `__name__` set (TRL logs
rewards under it). `REWARD_FACTORIES` maps names to factories, as in open-r1's `rewards.py`.

The correctness reward applies each row's answer rule (the `rule` column when present, else
`auto`), so a boxed unevaluated computation earns nothing on a numeric task.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from slm_math.grading.extract import last_boxed
from slm_math.grading.grader import grade_many, warm_up

RewardFunc = Callable[..., list]

_THINK_BLOCK = re.compile(r"^\s*(?:<think>)?(?P<think>.*?)</think>(?P<after>.*)$", re.DOTALL)


def completion_text(completion) -> str:
    """The text of one completion: a string as is; chat messages -> the assistant contents joined."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    parts: list[str] = []
    for message in completion or []:
        if not isinstance(message, dict) or message.get("role", "assistant") != "assistant":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):  # multimodal-style [{"type": "text", "text": ...}]
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return "\n".join(parts)


def correctness_reward(
    correct: float = 1.0,
    incorrect: float = 0.0,
    *,
    answer_column: str = "answer",
    rule_column: str = "rule",
    default_rule: str = "auto",
    workers: int = 2,
    **grading_options,
) -> RewardFunc:
    """Reward `correct` when `grade` accepts the completion, else `incorrect` (e.g. 1/0 or +1/-1).

    The gold comes from the `answer_column` kwarg, the rule from `rule_column` when present
    (else `default_rule`). A row without a gold gets None (TRL: not applicable). Other keyword
    arguments (`rel_tol`, `time_limit_s`, `max_chars`, `fallback`, ...) go to `grade`.
    """

    def reward(completions: Sequence, **kwargs) -> list[float | None]:
        golds = kwargs.get(answer_column)
        if golds is None:
            raise KeyError(f"correctness reward needs the dataset column {answer_column!r}")
        rules = kwargs.get(rule_column) or [default_rule] * len(completions)
        rules = [r or default_rule for r in rules]
        texts = [completion_text(c) for c in completions]
        rows = [i for i, g in enumerate(golds) if g is not None]
        verdicts = grade_many(
            [texts[i] for i in rows], [golds[i] for i in rows], rule=[rules[i] for i in rows],
            workers=workers, **grading_options,
        )
        out: list[float | None] = [None] * len(completions)
        for i, ok in zip(rows, verdicts):
            out[i] = correct if ok else incorrect
        return out

    reward.__name__ = "correctness"
    reward.correct_value = correct  # what a right answer scores (the curriculum reads verdicts)
    return reward


def format_reward(value: float = 0.2, *, require_think: bool = True, require_boxed: bool = True) -> RewardFunc:
    """Reward `value` for the expected shape, else 0.

    With `require_think`, the completion must hold exactly one `<think>...</think>` block (the
    opening tag may sit in the prompt, as chat templates that open the block do) with text in it;
    with `require_boxed`, a well-formed `\\boxed{}` must follow the block (or appear anywhere when
    `require_think` is off).
    """

    def reward(completions: Sequence, **kwargs) -> list[float]:
        scores = []
        for completion in completions:
            text = completion_text(completion)
            answer_part = text
            ok = True
            if require_think:
                match = _THINK_BLOCK.match(text) if text.count("</think>") == 1 and text.count("<think>") <= 1 else None
                ok = bool(match and match.group("think").strip())
                answer_part = match.group("after") if match else ""
            if ok and require_boxed:
                ok = last_boxed(answer_part) is not None
            scores.append(value if ok else 0.0)
        return scores

    reward.__name__ = "format"
    return reward


def length_penalty(max_length: int = 1024, cache_length: int = 256, penalty: float = 1.0) -> RewardFunc:
    """DAPO's soft overlong punishment: 0 up to `max_length - cache_length`, then falling
    linearly to `-penalty` at `max_length`, and `-penalty` beyond. Lengths are in tokens when TRL
    passes `completion_ids`, else in characters."""
    if not 0 <= cache_length <= max_length:
        raise ValueError("need 0 <= cache_length <= max_length")

    def reward(completions: Sequence, completion_ids: Sequence | None = None, **kwargs) -> list[float]:
        lengths = (
            [len(ids) for ids in completion_ids]
            if completion_ids is not None
            else [len(completion_text(c)) for c in completions]
        )
        soft_start = max_length - cache_length
        scores = []
        for n in lengths:
            if n <= soft_start:
                scores.append(0.0)
            elif n <= max_length and cache_length > 0:
                scores.append(-penalty * (n - soft_start) / cache_length)
            else:
                scores.append(-penalty)
        return scores

    reward.__name__ = "length"
    return reward


REWARD_FACTORIES: dict[str, Callable[..., RewardFunc]] = {
    "correctness": correctness_reward,
    "format": format_reward,
    "length": length_penalty,
}


def build_rewards(spec: dict[str, dict]) -> list[RewardFunc]:
    """Reward functions from `{name: factory kwargs}` (e.g. params.yaml's `grpo.rewards`).

    Starts the LaTeX grading workers now, so the first training step does not pay for it.
    """
    unknown = sorted(set(spec) - set(REWARD_FACTORIES))
    if unknown:
        raise ValueError(f"unknown rewards {unknown}; known: {sorted(REWARD_FACTORIES)}")
    funcs = [REWARD_FACTORIES[name](**(kwargs or {})) for name, kwargs in spec.items()]
    if "correctness" in spec:
        warm_up((spec["correctness"] or {}).get("workers", 2))
    return funcs
