"""Seeded sampling that does not depend on batching: a counter-based Gumbel-max sampler.

`torch.multinomial` draws from one global stream, so a sample would change with whatever
else shares its batch. Here each row's noise is a hash of (row seed, step, token id), so a
completion depends only on its prompt, its seed and its sample index; it is the same
alone, in any batch, in any order. The hash is integer arithmetic, exact on CPU and GPU.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Sequence

import torch

_MASK64 = (1 << 64) - 1


def _signed(x: int) -> int:
    """A 64-bit constant as the int64 torch holds it (two's complement)."""
    x &= _MASK64
    return x - (1 << 64) if x >= 1 << 63 else x


_GOLDEN = _signed(0x9E3779B97F4A7C15)
_MIX1 = _signed(0xBF58476D1CE4E5B9)
_MIX2 = _signed(0x94D049BB133111EB)


def _shr(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 (torch's >> is arithmetic)."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def _splitmix64(x: torch.Tensor) -> torch.Tensor:
    """splitmix64's finalizer: a bijective, well-mixed hash of 64-bit integers."""
    x = x ^ _shr(x, 30)
    x = x * _MIX1
    x = x ^ _shr(x, 27)
    x = x * _MIX2
    return x ^ _shr(x, 31)


def row_seed(seed: int, sample_index: int, prompt_ids: Sequence[int]) -> int:
    """The seed of sample `sample_index` of the prompt `prompt_ids` sampled with `seed`.

    The prompt is part of it so that different prompts draw independent noise.
    """
    prompt_key = zlib.crc32(array("q", prompt_ids).tobytes())
    x = torch.tensor([_signed(seed * 1_000_003 + sample_index)], dtype=torch.int64)
    x = _splitmix64(x * _GOLDEN) ^ _splitmix64(torch.tensor([prompt_key], dtype=torch.int64))
    return int(_splitmix64(x)[0])


def uniform_noise(seeds: torch.Tensor, step: int | torch.Tensor, vocab: int) -> torch.Tensor:
    """Uniform (0, 1) float32 noise of shape (rows, vocab), a pure function of seed, step, token.

    step: an int, or a one-element int64 tensor on the device (what a CUDA graph replays);
    int64 arithmetic wraps, so both give the same noise.
    """
    tokens = torch.arange(vocab, device=seeds.device, dtype=torch.int64)
    if isinstance(step, torch.Tensor):
        x = seeds[:, None] + (step + 1) * _GOLDEN
    else:
        x = seeds[:, None] + _signed((step + 1) * _GOLDEN)
    x = _splitmix64(x ^ _splitmix64(tokens * _MIX1)[None, :])
    # 24 high bits -> a float32 strictly inside (0, 1)
    return (_shr(x, 40).to(torch.float32) + 0.5) / float(1 << 24)


def sample_tokens(
    logits: torch.Tensor, seeds: torch.Tensor, step: int | torch.Tensor, temperature: float,
    top_p: float,
) -> torch.Tensor:
    """Sample one token per row from softmax(logits / temperature) within the top_p nucleus."""
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_logp, order = torch.sort(logp, dim=-1, descending=True)
        mass_before = torch.cumsum(sorted_logp.exp(), dim=-1) - sorted_logp.exp()
        drop_sorted = mass_before >= top_p  # the most likely token is always kept
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logp = logp.masked_fill(drop, float("-inf"))
    gumbel = -torch.log(-torch.log(uniform_noise(seeds, step, logits.shape[-1])))
    return torch.argmax(logp + gumbel, dim=-1)


class SeededSampler:
    """A transformers LogitsProcessor that samples each row with its own seed.

    Used with greedy decoding (do_sample=False): it returns scores that are -inf except at
    the sampled token, so the greedy argmax takes the sample.
    """

    def __init__(self, seeds: list[int], temperature: float, top_p: float, prompt_len: int):
        self.seeds = torch.tensor(seeds, dtype=torch.int64)
        self.temperature = temperature
        self.top_p = top_p
        self.prompt_len = prompt_len

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = input_ids.shape[1] - self.prompt_len
        seeds = self.seeds.to(scores.device)
        chosen = sample_tokens(scores, seeds, step, self.temperature, self.top_p)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter(-1, chosen[:, None], 0.0)
