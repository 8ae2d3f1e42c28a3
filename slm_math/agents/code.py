"""Running the model's ```python blocks in the sandbox, and the text fed back to the model.

The blocks of one reply run together as one program (joined in order, as notebook cells
share state: the model often defines in one block and prints in the next), each reply in
its own sandbox (`slm_math.sandbox.run_many`), never in this process. What the model sees
back is `format_output`: stdout, or the error's last lines, cut to `max_output_chars`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slm_math.sandbox import SandboxResult, extract_python_blocks, run_many

CODE_OPTIONS = ("sandbox_timeout_s", "sandbox_memory_mb", "sandbox_workers", "max_output_chars")
CODE_DEFAULTS: dict[str, Any] = {"sandbox_timeout_s": 5.0, "sandbox_memory_mb": 512,
                                 "sandbox_workers": 2, "max_output_chars": 1000}


@dataclass(frozen=True)
class CodeRun:
    """One reply's code and what running it gave; `feedback` is the text for the model."""

    code: str
    result: SandboxResult
    feedback: str

    def step(self) -> dict[str, Any]:
        """The trace step of this run."""
        return {"role": "tool", "content": self.feedback, "code": self.code,
                "exit_code": self.result.exit_code, "limit": self.result.limit,
                "wall_s": round(self.result.wall_s, 3)}


def format_output(result: SandboxResult, max_chars: int) -> str:
    """The code's stdout (or its error) as the model should see it, at most `max_chars`."""
    if result.limit is not None and result.limit != "output":
        text = f"{result.stdout}\nError: stopped by the {result.limit} limit".strip()
    elif result.exit_code != 0:
        error = [line for line in result.stderr.strip().splitlines() if line.strip()][-3:]
        text = (result.stdout + "\n" + "\n".join(error)).strip()
    else:
        text = result.stdout.strip() or "(no output: print the result)"
    return text if len(text) <= max_chars else "..." + text[-(max_chars - 3):]


def run_replies(texts: Sequence[str | None], options: Mapping[str, Any]) -> list[CodeRun | None]:
    """Run the python blocks of each text; None where a text has no code (or is None)."""
    opts = {**CODE_DEFAULTS, **{k: v for k, v in options.items() if k in CODE_OPTIONS}}
    codes = ["".join(extract_python_blocks(t)) if t else "" for t in texts]
    todo = [i for i, code in enumerate(codes) if code.strip()]
    results = run_many([codes[i] for i in todo], workers=int(opts["sandbox_workers"]),
                       timeout_s=float(opts["sandbox_timeout_s"]),
                       memory_mb=int(opts["sandbox_memory_mb"]))
    out: list[CodeRun | None] = [None] * len(texts)
    for i, result in zip(todo, results):
        out[i] = CodeRun(codes[i], result, format_output(result, int(opts["max_output_chars"])))
    return out


def last_output_line(run: CodeRun | None) -> str | None:
    """The last non-empty line the code printed, when it ran cleanly; else None."""
    if run is None or not run.result.ok:
        return None
    lines = [line.strip() for line in run.result.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else None
