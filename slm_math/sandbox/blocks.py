"""extract_python_blocks: the ```python fenced code blocks in model-written text, and where
they lie in it (`python_block_spans`)."""

from __future__ import annotations

import re

# An opening fence at the start of a line (up to 3 spaces of indent, as in CommonMark), a
# python-ish info string, then everything up to a closing fence of at least as many backticks,
# or the end of the text: a model cut off mid-block still wrote code worth running.
_BLOCK = re.compile(
    r"^[ ]{0,3}(?P<fence>`{3,})[ \t]*(?:python3?|py)\b[^\n`]*\n(?P<body>.*?)(?:^[ ]{0,3}(?P=fence)`*[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)


def extract_python_blocks(text: str) -> list[str]:
    """The bodies of the ```python (also ```py, ```python3) blocks in text, in order.

    Bodies keep their own indentation and end with a newline when non-empty; empty blocks are
    dropped; an unclosed last block runs to the end of the text. Other languages and bare
    ``` fences are ignored.
    """
    blocks = []
    for match in _BLOCK.finditer(text):
        body = match.group("body")
        if body.strip():
            blocks.append(body if body.endswith("\n") else body + "\n")
    return blocks


def python_block_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) in `text` of each non-empty ```python block, fences included: `end` is
    just after the closing fence (the end of the text for an unclosed last block)."""
    return [match.span() for match in _BLOCK.finditer(text) if match.group("body").strip()]
