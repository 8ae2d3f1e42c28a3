"""The `Generator` base class every backend implements.

A generator turns prompts into completions (`generate`), counts tokens the way its model
does (`count_tokens`, `context_length`) so agents can budget prompts, and releases what it
holds on `close()` or at the end of a `with` block.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from .params import Completion, Prompt, SamplingParams


class Generator(ABC):
    """Base class of the backends: implement `generate`; `close` if anything must be released.

    tokenizer: a Hugging Face tokenizer of the model, or None where the backend has none
        (an openai backend given no `tokenizer` option).
    context_length: the most tokens (prompt + generated) the model takes, or None if unknown.
    """

    tokenizer: Any = None
    context_length: int | None = None

    @abstractmethod
    def generate(
        self, prompts: Sequence[Prompt], params: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Generate `params.n` completions for each prompt; result i belongs to prompts[i].

        A prompt is a list of chat messages (the model's chat template is applied, with the
        assistant turn opened) or a plain string (already formatted; continued as it is).
        params None means `SamplingParams()`: one greedy completion.
        """

    def format_prompt(self, prompt: Prompt) -> str:
        """The text the model sees for `prompt`: chat messages through the chat template."""
        if isinstance(prompt, str):
            return prompt
        if self.tokenizer is None:
            raise ValueError(
                "formatting chat messages needs a tokenizer; give this backend a `tokenizer` option"
            )
        return self.tokenizer.apply_chat_template(
            list(prompt), tokenize=False, add_generation_prompt=True
        )

    def count_tokens(self, prompt: Prompt) -> int:
        """Tokens in a text, or in chat messages once formatted (the count `tokens_in` reports).

        Without a tokenizer this is an estimate of 4 characters a token, rounded up.
        """
        text = self.format_prompt(prompt) if not isinstance(prompt, str) else prompt
        if self.tokenizer is None:
            return math.ceil(len(text) / 4)
        # chat-formatted text carries its own special tokens; plain text gets the tokenizer's
        return len(self.tokenizer(text, add_special_tokens=isinstance(prompt, str)).input_ids)

    def close(self) -> None:
        """Release what the generator holds (model memory, connections, threads)."""

    def __enter__(self) -> "Generator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_prompts(prompts: Sequence[Prompt]) -> None:
    """Raise a clear error for a prompt that is neither a string nor a list of messages."""
    if isinstance(prompts, str):
        raise TypeError("generate takes a list of prompts, not one string: wrap it in a list")
    for i, p in enumerate(prompts):
        if isinstance(p, str):
            continue
        if not isinstance(p, (list, tuple)) or not all(
            isinstance(m, dict) and "role" in m and "content" in m for m in p
        ):
            raise TypeError(
                f"prompt {i} must be a string or a list of {{'role', 'content'}} messages, got {p!r:.200}"
            )
