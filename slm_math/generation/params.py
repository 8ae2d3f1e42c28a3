"""The data that crosses the generation interface: prompts, sampling parameters, completions.

These types mean the same thing in every backend, so an agent written against them runs
unchanged on `hf`, `vllm` or `openai`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

Message = dict[str, str]
"""One chat message: {"role": "system" | "user" | "assistant", "content": str}."""

Prompt = Union[list[Message], str]
"""A list of chat messages (the backend applies the model's chat template and opens the
assistant turn), or a plain string that is already formatted and is continued as it is."""

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class SamplingParams:
    """How to sample; the defaults give one greedy completion of at most 512 tokens.

    temperature: 0 means greedy (top_p and seed are then irrelevant).
    top_p: nucleus sampling mass, in (0, 1].
    max_new_tokens: the most tokens generated per completion.
    n: completions per prompt.
    seed: makes sampling reproducible: the same prompt, params and seed give the same n
        completions, whatever else is in the call (each backend only with itself: backends
        draw their random numbers differently). None draws fresh randomness.
    stop: strings that end a completion; the text is cut before the first one found and
        the stop string itself is not included.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 512
    n: int = 1
    seed: int | None = None
    stop: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if isinstance(self.stop, str) or not all(isinstance(s, str) and s for s in self.stop):
            raise ValueError(f"stop must be a list of non-empty strings, got {self.stop!r}")
        # a frozen dataclass holding a list: store a copy so the caller's list can't change it
        object.__setattr__(self, "stop", list(self.stop))

    @property
    def greedy(self) -> bool:
        """True when decoding is deterministic argmax (temperature 0)."""
        return self.temperature == 0


@dataclass
class Completion:
    """One generated completion.

    text: the generated text, without the prompt, cut before the first stop string.
    tokens_in: tokens in the prompt (after the chat template), repeated for each of the n.
    tokens_out: tokens generated for this completion, up to and including the token that
        ended it (EOS or the one completing a stop string); never more than max_new_tokens.
    finish_reason: "stop" (EOS or a stop string) or "length" (max_new_tokens reached).
    latency_s: this completion's share of wall time: the wall time of the batch (hf, vllm)
        or request (openai) that produced it, divided by the completions produced together.
        Summed over a local batched run it is about the run's wall time; with concurrent
        openai requests the sum exceeds wall time, since requests overlap.
    """

    text: str
    tokens_in: int
    tokens_out: int
    finish_reason: FinishReason
    latency_s: float


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Cut `text` before the earliest occurrence of any stop string; say whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
