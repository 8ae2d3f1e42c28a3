"""The `reference` teacher: a problem's own solution written in the trace format.

The last step of the offline cascade. The text keeps the computation before the box
("<think>7 * 8 = 56</think> 7 * 8 = 56. The answer is \\boxed{56}."): a small model trained
on answer-only targets collapses to constant answers. In the `tool` format it writes the
solution's arithmetic as Python (`trace_formats.tool.reference_draft`); cotgen runs it and
puts the printed output in.
"""

from __future__ import annotations

from slm_math.teacher.client import ChatResult
from slm_math.teacher.prompts import render
from slm_math.trace_formats.tool import reference_draft

TEMPLATE = "reference"


def reference_trace(problem: dict) -> ChatResult:
    """The trace for `problem` from its `solution`; a failed attempt when it has none."""
    steps = (problem.get("solution") or "").strip()
    if not steps:
        return ChatResult(text="", error="the problem has no reference solution")
    last_step = steps.splitlines()[-1].strip()
    return ChatResult(text=render(TEMPLATE, problem=problem, steps=steps, last_step=last_step),
                      finish_reason="stop")


def reference_tool_trace(problem: dict) -> ChatResult:
    """The tool-integrated draft for `problem` from its solution (no output yet); a failed
    attempt when the solution holds no arithmetic to run."""
    draft = reference_draft(problem)
    if draft is None:
        return ChatResult(text="", error="the reference solution has no arithmetic to write as Python")
    return ChatResult(text=draft, finish_reason="stop")
