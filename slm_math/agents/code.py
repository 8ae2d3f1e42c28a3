"""Running the model's ```python blocks in the sandbox, and putting the output in its reply.

The code agents ask for tool-integrated solutions (`trace_formats.tool`: reasoning, a
```python block, the sandbox's ```output block, the boxed answer) and stop the model at
"```output" (`tool_sampling`): the output is the sandbox's to write. The blocks of one reply
run together as one program (joined in order, as notebook cells share state), each reply in
its own sandbox (`slm_math.sandbox.run_many`), never in this process. `with_output` then
cuts the reply after its last block and appends the output block, the text the model
continues from (code_feedback, solver_verifier) or that python_tools answers after.

Every reply leaves a `tool` step in the trace: the code and what it printed (`ran: true`),
or `ran: false` when the reply had no code, so a model that stops writing code shows in
the eval metrics (`code_executed_rate`), not only in the accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slm_math.generation import SamplingParams
from slm_math.sandbox import SandboxResult, run_many
from slm_math.trace_formats.tool import OUTPUT_FENCE, code_of, format_output, last_line, with_output

CODE_OPTIONS = ("sandbox_timeout_s", "sandbox_memory_mb", "sandbox_workers", "max_output_chars")
CODE_DEFAULTS: dict[str, Any] = {"sandbox_timeout_s": 5.0, "sandbox_memory_mb": 512,
                                 "sandbox_workers": 2, "max_output_chars": 1000}
NO_CODE_STEP = {"role": "tool", "ran": False, "reason": "no ```python block in the reply"}


@dataclass(frozen=True)
class CodeRun:
    """One reply's code and what running it gave.

    feedback: the output as the model sees it (`format_output`); continued: the reply cut
    after its last python block (what it wrote after the code, a guess at the output, is
    dropped), with the output block appended (`with_output`).
    """

    code: str
    result: SandboxResult
    feedback: str
    continued: str

    def step(self) -> dict[str, Any]:
        """The trace step of this run."""
        return {"role": "tool", "ran": True, "content": self.feedback, "code": self.code,
                "exit_code": self.result.exit_code, "limit": self.result.limit,
                "wall_s": round(self.result.wall_s, 3)}


def tool_sampling(sampling: SamplingParams) -> SamplingParams:
    """`sampling` that also stops at "```output": the sandbox writes the output, not the model."""
    return sampling if OUTPUT_FENCE in sampling.stop else replace(sampling, stop=[*sampling.stop, OUTPUT_FENCE])


def run_replies(texts: Sequence[str | None], options: Mapping[str, Any]) -> list[CodeRun | None]:
    """Run the python blocks of each text; None where a text has no code (or is None)."""
    opts = {**CODE_DEFAULTS, **{k: v for k, v in options.items() if k in CODE_OPTIONS}}
    codes = [code_of(t) if t else "" for t in texts]
    todo = [i for i, code in enumerate(codes) if code.strip()]
    results = run_many([codes[i] for i in todo], workers=int(opts["sandbox_workers"]),
                       timeout_s=float(opts["sandbox_timeout_s"]),
                       memory_mb=int(opts["sandbox_memory_mb"]))
    out: list[CodeRun | None] = [None] * len(texts)
    for i, result in zip(todo, results):
        feedback = format_output(result, int(opts["max_output_chars"]))
        out[i] = CodeRun(codes[i], result, feedback, with_output(texts[i], feedback, keep_rest=False))
    return out


def step_of(run: CodeRun | None) -> dict[str, Any]:
    """The trace step of a reply's code: its run, or the note that it had none."""
    return run.step() if run is not None else dict(NO_CODE_STEP)


def last_output_line(run: CodeRun | None) -> str | None:
    """The last non-empty line the code printed, when it ran cleanly; else None."""
    if run is None or not run.result.ok:
        return None
    return last_line(run.result.stdout)
