"""python_tools: one pass with code; the answer is read from what the code printed.

The model gets `prompts/code_solve.jinja` (it may write ```python blocks) in one batched
call; the blocks of each reply run in the sandbox (`code.run_replies`). When the code ran
cleanly and printed something, its last printed line is the answer, and the response is
the reply, the output and `\\boxed{<that line>}`; otherwise (no code, an error, a limit,
nothing printed) the model's own boxed answer stands. One model call per problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slm_math.agents.base import Agent, AgentResult, Usage, completion_step
from slm_math.agents.code import CODE_OPTIONS, last_output_line, run_replies
from slm_math.agents.standard import fewshot_messages
from slm_math.generation import Generator, Message
from slm_math.grading import extract_answer
from slm_math.prompts import render


def code_prompt(problem: Mapping[str, Any], examples: Sequence[Mapping[str, Any]] = ()) -> list[Message]:
    """The chat prompt asking for a solution that may use code (few-shot turns first)."""
    return [*fewshot_messages(examples),
            {"role": "user", "content": render("code_solve", problem=problem["problem"])}]


def answer_from_output(reply: str, output: str, answer: str) -> str:
    """The response of an answer read from code output: reply, output, boxed answer."""
    return f"{reply}\n```output\n{output}\n```\nThe answer is \\boxed{{{answer}}}."


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
        replies = [c[0] for c in generator.generate(prompts, self.sampling)]
        runs = run_replies([r.text for r in replies], self.options)
        results = []
        for messages, reply, run in zip(prompts, replies, runs):
            usage = Usage()
            usage.add(reply)
            trace = [messages[-1], completion_step(reply)]
            response = reply.text
            if run is not None:
                trace.append(run.step())
                line = last_output_line(run)
                if line is not None:
                    response = answer_from_output(reply.text, run.feedback, line)
            trace.append({"role": "answer", "source": "code_output" if response != reply.text else "model"})
            results.append(AgentResult(
                response=response, answer=extract_answer(response), tokens=usage.tokens,
                tokens_in=usage.tokens_in, latency_s=usage.latency_s, iterations=1, trace=trace,
                finish_reason=reply.finish_reason))
        return results
