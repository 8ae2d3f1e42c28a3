"""code_feedback: reasoning with code → run it → the output in the reply → final answer.

Round 1: the model writes a tool-integrated solution (`prompts.user_turn("tool")`) and stops
at "```output", all problems in one batched call. The blocks of each reply run in the
sandbox. Round 2, for the replies with code: the reply is cut after its last block, the
sandbox's ```output block is appended, and the model continues that same assistant turn
(one batched call again), the ToRA / Qwen2.5-Math tool-integrated loop, in the format the
model is trained on (`trace_formats.tool`). The response is the reply, the output and the
continuation. A reply without code is the response as it is. The round-2 prompt goes
through the context budget (`context.fit_continuation`); a problem whose round 2 cannot fit
keeps its round-1 reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slm_math.agents.base import Agent, AgentResult, Usage, completion_step
from slm_math.agents.code import CODE_OPTIONS, run_replies, step_of, tool_sampling
from slm_math.agents.context import ContextOverflow, fit_continuation
from slm_math.agents.python_tools import code_prompt
from slm_math.generation import Generator
from slm_math.grading import extract_answer


class CodeFeedbackAgent(Agent):
    """Two batched rounds: solve with code, then answer after the code's output."""

    name = "code_feedback"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The sandbox limits (see `code.CODE_DEFAULTS`)."""
        return CODE_OPTIONS

    def solve(self, generator: Generator, problems: Sequence[Mapping[str, Any]]) -> list[AgentResult]:
        """See the module docstring."""
        sampling = tool_sampling(self.sampling)
        heads = [code_prompt(p, self.fewshot.get(p["source"], ())) for p in problems]
        first = [c[0] for c in generator.generate(heads, sampling)]
        runs = run_replies([c.text for c in first], self.options)
        usages = [Usage() for _ in problems]
        traces = [[head[-1], completion_step(usages[i].add(c))] for i, (head, c) in enumerate(zip(heads, first))]
        responses = [c.text for c in first]
        finish = [c.finish_reason for c in first]
        followups, todo = [], []
        for i, run in enumerate(runs):
            traces[i].append(step_of(run))
            if run is None:
                continue
            try:
                prompt, _ = fit_continuation(generator, heads[i], [], run.continued + "\n",
                                             reserve=self.sampling.max_new_tokens)
            except ContextOverflow as exc:
                traces[i].append({"role": "stop", "reason": "context", "detail": str(exc)})
                continue
            followups.append(prompt)
            todo.append(i)
        for i, out in zip(todo, generator.generate(followups, sampling) if followups else []):
            reply = usages[i].add(out[0])
            traces[i].append(completion_step(reply))
            responses[i], finish[i] = f"{runs[i].continued}\n{reply.text}", reply.finish_reason
        return [AgentResult(response=r, answer=extract_answer(r), tokens=u.tokens, tokens_in=u.tokens_in,
                            latency_s=u.latency_s, iterations=u.calls, trace=t, finish_reason=f)
                for r, u, t, f in zip(responses, usages, traces, finish)]
