"""python_tools: one pass with code; the answer is read from what the code printed.

The model gets the tool-integrated prompt (`prompts.user_turn("tool")`, code_solve.jinja) in
one batched call and stops at "```output"; the blocks of each reply run in the sandbox
(`code.run_replies`). When the code ran cleanly and printed something, the response is the
reply with the sandbox's ```output block and `The answer is \\boxed{<last printed line>}`:
exactly the tool-integrated trace format the model is trained on. Otherwise (no code, an
error, a limit, nothing printed) the model's own boxed answer stands. One model call per
problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slm_math.agents.base import Agent, AgentResult, Usage, completion_step
from slm_math.agents.code import CODE_OPTIONS, last_output_line, run_replies, step_of, tool_sampling
from slm_math.agents.standard import fewshot_messages
from slm_math.generation import Generator, Message
from slm_math.grading import extract_answer
from slm_math.prompts import user_turn
from slm_math.trace_formats.tool import answer_line


def code_prompt(problem: Mapping[str, Any], examples: Sequence[Mapping[str, Any]] = ()) -> list[Message]:
    """The chat prompt asking for a tool-integrated solution (few-shot turns first)."""
    return [*fewshot_messages(examples), {"role": "user", "content": user_turn("tool", problem["problem"])}]


class PythonToolsAgent(Agent):
    """One batched generation; code run in the sandbox; answer from its output."""

    name = "python_tools"

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The sandbox limits (see `code.CODE_DEFAULTS`)."""
        return CODE_OPTIONS

    def solve(self, generator: Generator, problems: Sequence[Mapping[str, Any]]) -> list[AgentResult]:
        """See the module docstring."""
        prompts = [code_prompt(p, self.fewshot.get(p["source"], ())) for p in problems]
        replies = [c[0] for c in generator.generate(prompts, tool_sampling(self.sampling))]
        runs = run_replies([r.text for r in replies], self.options)
        results = []
        for messages, reply, run in zip(prompts, replies, runs):
            usage = Usage()
            usage.add(reply)
            trace = [messages[-1], completion_step(reply), step_of(run)]
            line = last_output_line(run)
            response = reply.text if line is None else f"{run.continued}\n{answer_line(line)}"
            trace.append({"role": "answer", "source": "model" if line is None else "code_output"})
            results.append(AgentResult(
                response=response, answer=extract_answer(response), tokens=usage.tokens,
                tokens_in=usage.tokens_in, latency_s=usage.latency_s, iterations=1, trace=trace,
                finish_reason=reply.finish_reason))
        return results
