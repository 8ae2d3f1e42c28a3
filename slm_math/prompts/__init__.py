"""Prompt templates (jinja2 files beside this module), rendered by name.

    render("solve", problem="What is 2 + 3?")

Templates are strict: a variable the caller forgot raises instead of rendering as empty.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

TEMPLATE_DIR = Path(__file__).parent


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
