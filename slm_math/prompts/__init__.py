"""Prompt templates (jinja2 files beside this module), rendered by name.

    render("solve", problem="What is 2 + 3?")

Templates are strict: a variable the caller forgot raises instead of rendering as empty.
`verifier_prompt` is the one text a generative verifier continues with its verdict, shared
by the best_of_n scorer and the grpo_verifier training prompts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent
VERDICT_PREFIX = "VERDICT:"
"""What opens a generative verifier's reply: the next tokens are its verdict."""


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


def verify_messages(problem: str, solution: str) -> list[dict]:
    """The verifier's user turn: `verify.jinja` with the problem and the proposed solution."""
    return [{"role": "user", "content": render("verify", problem=problem, solution=solution)}]


def open_verdict(tokenizer: Any, messages: list[dict]) -> str:
    """`messages` in `tokenizer`'s chat template, the assistant turn opened and begun with
    `VERDICT:`: the model's next tokens are its verdict (" CORRECT", " INCORRECT", ...)."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + VERDICT_PREFIX


def verifier_prompt(tokenizer: Any, problem: str, solution: str) -> str:
    """The text a generative verifier continues with its verdict (`open_verdict` of
    `verify_messages`)."""
    return open_verdict(tokenizer, verify_messages(problem, solution))
