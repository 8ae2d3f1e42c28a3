"""Prompt templates (jinja2 files beside this module), rendered by name.

    render("solve", problem="What is 2 + 3?")

Templates are strict: a variable the caller forgot raises instead of rendering as empty.

One user turn per trace format (`user_turn`), shared by the agents that ask for that format
and by SFT, which trains on it: `standard` (solve.jinja: the standard and fewshot agents),
`tool` (code_solve.jinja: python_tools, code_feedback, solver_verifier's solver with tools,
and the cotgen teachers of tool-integrated traces), `verdict` (verify.jinja: solver_verifier's
verifier, best_of_n's scorer, grpo_verifier). `verifier_prompt` is the one text a generative
verifier continues with its verdict, shared by the best_of_n scorer and the grpo_verifier
training prompts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent
VERDICT_PREFIX = "VERDICT:"
"""What opens a generative verifier's reply: the next tokens are its verdict."""
FORMAT_TEMPLATES = {"standard": "solve", "tool": "code_solve", "verdict": "verify"}
"""Trace format -> the template of its user turn."""


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False, autoescape=False)


def render(name: str, **variables: object) -> str:
    """Render template `<name>.jinja` with `variables`; surrounding whitespace is stripped."""
    try:
        template = _environment().get_template(f"{name}.jinja")
    except jinja2.TemplateNotFound:
        known = sorted(p.stem for p in TEMPLATE_DIR.glob("*.jinja"))
        raise ValueError(f"unknown prompt template {name!r}; known: {', '.join(known)}") from None
    return template.render(**variables).strip()


def user_turn(fmt: str, problem: str, solution: str | None = None) -> str:
    """The user turn that asks for a reply in trace format `fmt` (a key of
    `FORMAT_TEMPLATES`); `solution` is the proposed solution a `verdict` turn shows."""
    try:
        template = FORMAT_TEMPLATES[fmt]
    except KeyError:
        raise ValueError(f"unknown trace format {fmt!r}; known: {', '.join(FORMAT_TEMPLATES)}") from None
    if fmt == "verdict":
        if solution is None:
            raise ValueError("a verdict turn needs the proposed solution")
        return render(template, problem=problem, solution=solution)
    return render(template, problem=problem)


def verify_messages(problem: str, solution: str) -> list[dict]:
    """The verifier's user turn: `verify.jinja` with the problem and the proposed solution."""
    return [{"role": "user", "content": user_turn("verdict", problem, solution)}]


def open_verdict(tokenizer: Any, messages: list[dict]) -> str:
    """`messages` in `tokenizer`'s chat template, the assistant turn opened and begun with
    `VERDICT:`: the model's next tokens are its verdict (" CORRECT", " INCORRECT", ...)."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + VERDICT_PREFIX


def verifier_prompt(tokenizer: Any, problem: str, solution: str) -> str:
    """The text a generative verifier continues with its verdict (`open_verdict` of
    `verify_messages`)."""
    return open_verdict(tokenizer, verify_messages(problem, solution))
