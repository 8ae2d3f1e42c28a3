"""Tool-integrated solutions: reasoning, a ```python block, its output, the boxed answer.

The format of python_tools, code_feedback and solver_verifier's solver (ToRA's and
Qwen2.5-Math's tool-integrated reasoning, one round)::

    I compute 69 * 39 with Python.
    ```python
    print(69 * 39)
    ```
    ```output
    2691
    ```
    The answer is \\boxed{2691}.

The ```output block is always the sandbox's, never the writer's: `with_output` cuts a text
after its last ```python block (dropping any output the writer guessed) and inserts what the
code really printed (`format_output`, the same text the agents show the model). A trace is
verified (`check_tool_trace`) only when its code ran cleanly, its output block is exactly
what the sandbox prints for that code now, the last printed line supports the boxed answer
(equal under the problem's rule) and that answer is right. `reference_draft` writes one from
a problem's reference solution (the arithmetic as Python) for the offline tasks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

from slm_math.grading import extract_answer, grade
from slm_math.sandbox import SandboxResult, extract_python_blocks, python_block_spans, run_many

OUTPUT_FENCE = "```output"
"""Where a tool-integrated reply stops for the sandbox (a stop string of the agents)."""
_OUTPUT_BLOCK = re.compile(r"\A\s*```output[ \t]*\n(?P<body>.*?)(?:\n```[ \t]*(?:\n|\Z)|\Z)", re.DOTALL)
MAX_OUTPUT_CHARS = 1000


def format_output(result: SandboxResult, max_chars: int = MAX_OUTPUT_CHARS) -> str:
    """The code's stdout (or its error) as the model sees it, at most `max_chars`."""
    if result.limit is not None and result.limit != "output":
        text = f"{result.stdout}\nError: stopped by the {result.limit} limit".strip()
    elif result.exit_code != 0:
        error = [line for line in result.stderr.strip().splitlines() if line.strip()][-3:]
        text = (result.stdout + "\n" + "\n".join(error)).strip()
    else:
        text = result.stdout.strip() or "(no output: print the result)"
    return text if len(text) <= max_chars else "..." + text[-(max_chars - 3):]


def _runnable_spans(text: str) -> list[tuple[int, int]]:
    """The python blocks that run: all of them, but an unclosed last block (a reply cut off
    mid-block) only when it is the only one: joined after complete blocks, its broken tail
    would make the whole program a SyntaxError."""
    spans = python_block_spans(text)
    if len(spans) > 1 and not text[spans[-1][0]:spans[-1][1]].rstrip().endswith("```"):
        spans = spans[:-1]
    return spans


def code_of(text: str) -> str:
    """The ```python blocks of `text` that run (`_runnable_spans`), joined into one program
    (cells sharing state)."""
    return "".join(body for a, b in _runnable_spans(text) for body in extract_python_blocks(text[a:b]))


def split_after_code(text: str) -> tuple[str, str] | None:
    """(text through the last python block that runs, the rest); None without code."""
    spans = _runnable_spans(text)
    if not spans:
        return None
    end = spans[-1][1]
    return text[:end], text[end:]


def output_block(output: str) -> str:
    """An ```output block holding `output`."""
    return f"{OUTPUT_FENCE}\n{output}\n```"


def answer_line(answer: str) -> str:
    """The sentence that ends a tool-integrated solution."""
    return f"The answer is \\boxed{{{answer}}}."


def with_output(text: str, output: str, *, keep_rest: bool = True) -> str | None:
    """`text` cut after its last python block, then the output block, then (`keep_rest`)
    what the writer wrote after its code, minus any output block of its own; None when it
    has no code. An agent drops the rest: its model continues from the real output."""
    split = split_after_code(text)
    if split is None:
        return None
    head, rest = split
    rest = _OUTPUT_BLOCK.sub("", rest, count=1).strip() if keep_rest else ""
    return f"{head.rstrip()}\n{output_block(output)}\n{rest}".rstrip()


def printed_output(text: str) -> str | None:
    """The body of the ```output block right after the last python block, if there is one."""
    split = split_after_code(text)
    match = _OUTPUT_BLOCK.match(split[1]) if split else None
    return match.group("body") if match else None


def last_line(output: str) -> str | None:
    """The last non-empty line of `output`."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else None


@dataclass(frozen=True)
class ToolCheck:
    """Whether a tool-integrated trace is verified, and if not, why.

    reason: `verified`, `no_code`, `code_failed` (an error or a limit), `output_mismatch`
    (the output block is not what the sandbox printed), `no_answer`, `unsupported` (the
    last printed line is not the boxed answer) or `wrong_answer`.
    """

    ok: bool
    reason: str
    code_ran: bool


def check_tool_trace(text: str, result: SandboxResult | None, gold: str, rule: str = "auto",
                     *, max_output_chars: int = MAX_OUTPUT_CHARS) -> ToolCheck:
    """The verdict on `text` given `result`, the sandbox's run of `code_of(text)` (None when
    the text has no code); see the module docstring."""
    if result is None or not code_of(text).strip():
        return ToolCheck(False, "no_code", False)
    if not result.ok:
        return ToolCheck(False, "code_failed", False)
    output = format_output(result, max_output_chars)
    if printed_output(text) != output:
        return ToolCheck(False, "output_mismatch", True)
    split = split_after_code(text)
    boxed = extract_answer(split[1]) if split else None
    if boxed is None:
        return ToolCheck(False, "no_answer", True)
    line = last_line(output)
    if line is None or not grade(line, boxed, rule=rule):
        return ToolCheck(False, "unsupported", True)
    if not grade(text, gold, rule=rule):
        return ToolCheck(False, "wrong_answer", True)
    return ToolCheck(True, "verified", True)


def run_codes(texts: Sequence[str], *, workers: int = 2, timeout_s: float = 5.0,
              memory_mb: int = 512) -> list[SandboxResult | None]:
    """The sandbox's run of each text's code (in parallel); None for a text without code."""
    codes = [code_of(t or "") for t in texts]
    todo = [i for i, code in enumerate(codes) if code.strip()]
    results = run_many([codes[i] for i in todo], workers=workers, timeout_s=timeout_s,
                       memory_mb=memory_mb)
    out: list[SandboxResult | None] = [None] * len(texts)
    for i, result in zip(todo, results):
        out[i] = result
    return out


def finish(text: str, *, timeout_s: float = 5.0, memory_mb: int = 512) -> tuple[str, SandboxResult | None]:
    """A written solution with its code's real output in place (`with_output`), and the
    run; the text unchanged (and None) when it has no code."""
    [result] = run_codes([text], workers=1, timeout_s=timeout_s, memory_mb=memory_mb)
    if result is None:
        return text, None
    return with_output(text, format_output(result)) or text, result


# --- reference solutions as Python -------------------------------------------------------

_CALC = re.compile(r"<<([^<>=]+)=([^<>]+)>>")  # GSM8K's calculator annotations
_FUNCTIONS = {"lcm": "math.lcm", "gcd": "math.gcd"}
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Call, ast.Name, ast.Attribute,
            ast.Load, ast.operator, ast.unaryop)


def python_expression(expression: str) -> str | None:
    """`expression` (a solution's arithmetic: `7 × 8`, `2^3`, `lcm(4, 6)`) as Python, or
    None when it is not plain arithmetic on numbers."""
    expr = expression.strip().rstrip(".")
    for symbol, python in (("×", "*"), ("÷", "/"), ("^", "**"), ("−", "-")):
        expr = expr.replace(symbol, python)
    for name, full in _FUNCTIONS.items():
        expr = re.sub(rf"\b{name}\s*\(", f"{full}(", expr)
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            return None
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            return None
        if isinstance(node, ast.Call) and ast.unparse(node.func) not in _FUNCTIONS.values():
            return None
        if isinstance(node, ast.Name) and node.id != "math":
            return None
    return ast.unparse(tree)


def solution_code(solution: str) -> tuple[str, str] | None:
    """(what is computed, the Python program) for a reference solution, or None.

    GSM8K-style solutions: every `<<expr=value>>` becomes a line; otherwise the left side of
    the last line's last `=` (`7 * 8 = 56`, `lcm(4, 6) = 12`) is printed.
    """
    steps = _CALC.findall(solution)
    if steps:
        lines = [python_expression(expr) for expr, _ in steps]
        if any(line is None for line in lines):
            return None
        body = [f"step{i} = {line}" for i, line in enumerate(lines, 1)]
        code = "\n".join(body) + f"\nprint(step{len(lines)})\n"
        what = "each step"
    else:
        last = (solution.strip().splitlines() or [""])[-1]
        if "=" not in last:
            return None
        what = last.rsplit("=", 1)[0].strip()
        line = python_expression(what)
        if line is None:
            return None
        code = f"print({line})\n"
    if "math." in code:
        code = "import math\n" + code
    return what, code


def reference_draft(problem: dict) -> str | None:
    """A tool-integrated solution of `problem` from its reference solution, without the
    output (`finish` runs it): None when the solution holds no arithmetic to run."""
    found = solution_code(problem.get("solution") or "")
    if found is None:
        return None
    what, code = found
    return f"I compute {what} with Python.\n```python\n{code}```\n{answer_line(problem['answer'])}"
