"""code_feedback: reasoning with code → run it → inject the output → final answer.

Round 1: the model solves with `prompts/code_solve.jinja` (it may write ```python blocks),
all problems in one batched call. The blocks of each reply run in the sandbox. Round 2,
for the problems whose reply had code: the conversation continues with the output as the
next user turn (`prompts/code_output.jinja`), and the model's second reply, one batched
call again, is the response. A reply without code is the response as it is. The prompt
of round 2 goes through the context budget (`context.fit_rounds`); a problem whose round 2
cannot fit keeps its round-1 reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slm_math.agents.base import Agent, AgentResult, Usage, completion_step
from slm_math.agents.code import CODE_OPTIONS, run_replies
from slm_math.agents.context import ContextOverflow, fit_rounds
from slm_math.agents.python_tools import code_prompt
from slm_math.generation import Generator
from slm_math.grading import extract_answer
from slm_math.prompts import render


class CodeFeedbackAgent(Agent):
    """Two batched rounds: solve with code, then answer from the code's output."""

    name = "code_feedback"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The sandbox limits (see `code.CODE_DEFAULTS`)."""
        return CODE_OPTIONS

    def solve(self, generator: Generator, problems: Sequence[Mapping[str, Any]]) -> list[AgentResult]:
        """See the module docstring."""
        heads = [code_prompt(p, self.fewshot.get(p["source"], ())) for p in problems]
        first = [c[0] for c in generator.generate(heads, self.sampling)]
        runs = run_replies([c.text for c in first], self.options)
        usages = [Usage() for _ in problems]
        traces = [[head[-1], completion_step(usages[i].add(c))] for i, (head, c) in enumerate(zip(heads, first))]
        responses = [c.text for c in first]
        finish = [c.finish_reason for c in first]
        followups, todo = [], []
        for i, run in enumerate(runs):
            if run is None:
                continue
            traces[i].append(run.step())
            round_ = [{"role": "assistant", "content": first[i].text},
                      {"role": "user", "content": render("code_output", output=run.feedback)}]
            try:
                messages, _ = fit_rounds(generator, heads[i], [round_], reserve=self.sampling.max_new_tokens)
            except ContextOverflow as exc:
                traces[i].append({"role": "stop", "reason": "context", "detail": str(exc)})
                continue
            followups.append(messages)
            todo.append(i)
        for i, out in zip(todo, generator.generate(followups, self.sampling) if followups else []):
            reply = usages[i].add(out[0])
            traces[i].append(completion_step(reply))
            responses[i], finish[i] = reply.text, reply.finish_reason
        return [AgentResult(response=r, answer=extract_answer(r), tokens=u.tokens, tokens_in=u.tokens_in,
                            latency_s=u.latency_s, iterations=u.calls, trace=t, finish_reason=f)
                for r, u, t, f in zip(responses, usages, traces, finish)]
