"""Prompt templates: jinja2 files in `slm_math/prompts/`, rendered with the problem record.

Templates are files, not code strings, so a prompt change is a reviewable diff and DVC
re-runs cotgen when one changes (the folder is a dependency of the stage).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import jinja2

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class PromptError(ValueError):
    """A prompt template is missing or refers to something the problem does not have."""


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROMPTS_DIR), undefined=jinja2.StrictUndefined,
        autoescape=False, keep_trailing_newline=False)


def render(name: str, **variables: object) -> str:
    """Render `slm_math/prompts/<name>.jinja` with `variables` (undefined names raise)."""
    try:
        template = _environment().get_template(f"{name}.jinja")
    except jinja2.TemplateNotFound:
        known = sorted(p.stem for p in PROMPTS_DIR.glob("*.jinja"))
        raise PromptError(f"prompt template {name!r} not found in {PROMPTS_DIR} "
                          f"(known: {', '.join(known)})") from None
    try:
        return template.render(**variables).strip()
    except jinja2.UndefinedError as err:
        raise PromptError(f"prompt template {name!r}: {err}") from None


def chat_messages(template: str, problem: dict, *, thinking_budget: int | None) -> list[dict]:
    """The chat messages asking a teacher to solve `problem` with template `template`."""
    content = render(template, problem=problem, thinking_budget=thinking_budget)
    return [{"role": "user", "content": content}]


def stable_hash(obj: object) -> str:
    """sha256 of `obj` as canonical JSON: the same content always gives the same hash."""
    data = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
