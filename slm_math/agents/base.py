"""The agent interface: problems in, one `AgentResult` per problem out.

An agent gets the generator and the whole list of problems at once, so it can batch its
model calls across problems (the hf and vllm backends are fast only in batches). Grading
is not the agent's job: the evaluation grades `AgentResult.response` (and each of
`samples`, when the agent drew several) against the gold answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from slm_math.generation import Completion, Generator, SamplingParams


@dataclass
class AgentResult:
    """What an agent did on one problem.

    response: the final text the answer is read from.
    answer: the final answer (the extracted `\\boxed{}` content), None if there is none.
    tokens: tokens generated over all model calls; tokens_in: prompt tokens over all calls.
    latency_s: this problem's share of model time; iterations: model calls (rounds) made.
    trace: every step, in order: {"role": "user" | "assistant" | "tool", "content": ..., ...}.
    samples: when the agent drew n > 1 completions, all their texts (for pass@k and maj@k);
        the evaluation grades each; None for a single completion.
    iteration_responses: for iterative agents, the response the agent would have answered
        with had it stopped after iteration 1, 2, ... (the evaluation grades each for
        `accuracy_by_iteration`); None for one-shot agents.
    """

    response: str
    answer: str | None
    tokens: int
    tokens_in: int
    latency_s: float
    iterations: int
    trace: list[dict[str, Any]]
    samples: list[str] | None = None
    finish_reason: str | None = None
    iteration_responses: list[str] | None = None


class Agent(ABC):
    """Base of the agents. Subclasses set `name` and implement `solve`.

    sampling: how the agent samples (its config in params.yaml `agents.<name>`).
    fewshot: benchmark name -> worked examples (problem records with `solution` and
        `answer`) to show before each problem of that benchmark; empty for zero-shot.
    options: the agent's own knobs (params.yaml `agents.<name>.options`).
    """

    name: ClassVar[str]

    def __init__(self, *, sampling: SamplingParams,
                 fewshot: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                 **options: Any):
        self.sampling = sampling
        self.fewshot = dict(fewshot or {})
        unknown = set(options) - set(self.option_names())
        if unknown:
            raise ValueError(f"agent {self.name!r}: unknown options {sorted(unknown)}; "
                             f"known: {sorted(self.option_names()) or 'none'}")
        self.options = options

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The names the agent accepts in `options` (none for the base)."""
        return ()

    @abstractmethod
    def solve(self, generator: Generator, problems: Sequence[Mapping[str, Any]]) -> list[AgentResult]:
        """Solve `problems` (problem records) with `generator`; result i is for problems[i]."""


def completion_step(completion: Completion) -> dict[str, Any]:
    """One trace step for a model completion."""
    return {"role": "assistant", "content": completion.text, "tokens_in": completion.tokens_in,
            "tokens_out": completion.tokens_out, "finish_reason": completion.finish_reason,
            "latency_s": round(completion.latency_s, 4)}


@dataclass
class Usage:
    """Tokens and model time one problem has spent so far, over all its model calls."""

    tokens: int = 0
    tokens_in: int = 0
    latency_s: float = 0.0
    calls: int = 0

    def add(self, completion: Completion) -> Completion:
        """Count `completion` and hand it back."""
        self.tokens += completion.tokens_out
        self.tokens_in += completion.tokens_in
        self.latency_s += completion.latency_s
        self.calls += 1
        return completion
