"""Prompt templates (jinja2 files beside this module), rendered by name.

``render_prompt("solve.jinja", problem=...)`` is the student-side instruction: the user turn
of every SFT example, and what evaluation asks the trained model, so both see one text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

PROMPTS_DIR = Path(__file__).parent


@lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(PROMPTS_DIR),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                              autoescape=False)


def render_prompt(name: str, **variables: object) -> str:
    """Render the template ``name`` (e.g. ``"solve.jinja"``); a missing variable raises."""
    return _environment().get_template(name).render(**variables).strip()
