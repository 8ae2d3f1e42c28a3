"""The standard agent: one pass of the model over the chat-formatted prompt.

The prompt is the model's chat template over: optional few-shot turns (a worked example's
problem as the user, its solution ending in a boxed answer as the assistant: the
multi-turn few-shot of lm-evaluation-harness), then the problem with the boxed-answer
instruction (the `standard` user turn, `prompts/solve.jinja`, the one SFT trains on).
Greedy by default; with `n > 1` it draws n samples, answers with the first and keeps all of
them for pass@k and maj@k.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slm_math.agents.base import Agent, AgentResult, completion_step
from slm_math.generation import Generator, Message
from slm_math.grading import extract_answer
from slm_math.prompts import render, user_turn


def fewshot_messages(examples: Sequence[Mapping[str, Any]]) -> list[Message]:
    """User/assistant turns for worked examples, the solution written before the box."""
    messages: list[Message] = []
    for example in examples:
        messages.append({"role": "user", "content": user_turn("standard", example["problem"])})
        messages.append({"role": "assistant", "content": render(
            "worked_solution", solution=example.get("solution") or "", answer=example["answer"])})
    return messages


def build_messages(problem: Mapping[str, Any],
                   examples: Sequence[Mapping[str, Any]] = ()) -> list[Message]:
    """The chat prompt of one problem: few-shot turns, then the problem and the instruction."""
    return [*fewshot_messages(examples),
            {"role": "user", "content": user_turn("standard", problem["problem"])}]


class StandardAgent(Agent):
    """One model call per problem, all problems in one batched `generate`."""

    name = "standard"

    def prompt(self, problem: Mapping[str, Any]) -> list[Message]:
        """The messages for `problem`, with its benchmark's few-shot examples if any."""
        return build_messages(problem, self.fewshot.get(problem["source"], ()))

    def solve(self, generator: Generator, problems: Sequence[Mapping[str, Any]]) -> list[AgentResult]:
        """One batched generation over all problems; see the module docstring."""
        prompts = [self.prompt(p) for p in problems]
        outputs = generator.generate(prompts, self.sampling)
        results = []
        for messages, completions in zip(prompts, outputs):
            first = completions[0]
            trace = [messages[-1] | {"fewshot_turns": len(messages) - 1},
                     *(completion_step(c) for c in completions)]
            results.append(AgentResult(
                response=first.text,
                answer=extract_answer(first.text),
                tokens=sum(c.tokens_out for c in completions),
                tokens_in=sum(c.tokens_in for c in completions),
                latency_s=sum(c.latency_s for c in completions),
                iterations=1,
                trace=trace,
                samples=[c.text for c in completions] if len(completions) > 1 else None,
                finish_reason=first.finish_reason,
            ))
        return results
