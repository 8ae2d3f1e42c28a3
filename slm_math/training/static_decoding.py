"""Fast sampling for GRPO: a static KV cache and one decoding step replayed as a CUDA graph.

GRPO spends most of a step generating: K completions for each prompt, every step, from
weights that just changed. transformers' ``generate`` pays its Python overhead on every
decoding step (about 70 ms a step for a 1.5B model on an H100, whatever the batch:
benchmarks/results/generation.json); here the whole forward pass of one step plus the
sampling is captured once per call as a CUDA graph and replayed, so a step costs what its
kernels cost. On CPU (and when capture fails) the same step runs eagerly.

The decoder needs nothing but a causal LM that accepts a 4D additive attention mask, a
``StaticCache`` and explicit positions (every transformers decoder model does); padding is
on the left and positions count only real tokens, as ``generate`` does. Sampling is the
Gumbel-max form of multinomial sampling at a temperature (``argmax(p / E)`` with ``E``
exponential), which needs no host synchronization inside the graph.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import torch

log = logging.getLogger(__name__)

CHECK_EVERY = 32  # decoding steps between checks whether every row has ended


GQA_ATTENTION = "slm_gqa_masked"


def gqa_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                  attention_mask: torch.Tensor | None, scaling: float | None = None,
                  dropout: float = 0.0, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """Masked attention that reads each key/value head once for its whole query group.

    transformers' SDPA path repeats the key/value heads to the query heads whenever a mask
    is given (for Qwen2.5-1.5B: 6x the static cache copied every layer, every step: most
    of a decoding step's memory traffic). Here the query heads of a group share one
    key/value head through a reshape; the softmax is in fp32.
    """
    batch, heads, q_len, dim = query.shape
    kv_heads = key.shape[1]
    group = heads // kv_heads
    scaling = dim ** -0.5 if scaling is None else scaling
    q = query.reshape(batch, kv_heads, group * q_len, dim)
    scores = torch.matmul(q, key.transpose(-1, -2)).float() * scaling
    scores = scores.view(batch, kv_heads, group, q_len, -1)
    if attention_mask is not None:
        scores = scores + attention_mask[:, :, None, :, : scores.shape[-1]].float()
    probs = torch.softmax(scores, dim=-1).to(value.dtype).view(batch, kv_heads, group * q_len, -1)
    out = torch.matmul(probs, value).view(batch, heads, q_len, dim)
    return out.transpose(1, 2).contiguous(), None


def _register_attention() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(GQA_ATTENTION, gqa_attention)


class _attention(object):
    """Use :func:`gqa_attention` in ``model`` for the duration of a ``with`` block."""

    def __init__(self, model: Any):
        self.configs = [m.config for m in model.modules() if hasattr(m, "config")
                        and hasattr(m.config, "_attn_implementation")]

    def __enter__(self):
        _register_attention()
        self.saved = [c._attn_implementation for c in self.configs]
        for c in self.configs:
            c._attn_implementation = GQA_ATTENTION
        return self

    def __exit__(self, *exc):
        for c, name in zip(self.configs, self.saved):
            c._attn_implementation = name
        return False


def _static_cache(model: Any, batch: int, length: int, device, dtype):
    from transformers import StaticCache

    try:
        return StaticCache(config=model.config, max_cache_len=length)
    except TypeError:  # older transformers: sizes and placement up front
        return StaticCache(config=model.config, max_batch_size=batch, max_cache_len=length,
                           device=device, dtype=dtype)


class StaticDecoder:
    """Samples completions from ``model`` with a static cache (CUDA-graph replay on a GPU).

    model: a causal LM (a PEFT model too). eos_token_ids: tokens that end a completion (it
    keeps the EOS, as TRL does). cuda_graph: replay the step as a CUDA graph (default: when
    the model is on a GPU).
    """

    def __init__(self, model: Any, *, eos_token_ids: Sequence[int], pad_token_id: int,
                 cuda_graph: bool | None = None):
        self.model = model
        self.eos = list(eos_token_ids)
        self.pad = pad_token_id
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        self.cuda_graph = (self.device.type == "cuda") if cuda_graph is None else cuda_graph
        self.graph_used = False  # whether the last call replayed a graph (for tests, benchmarks)

    @torch.no_grad()
    def sample(self, prompts: Sequence[Sequence[int]], max_new_tokens: int,
               temperature: float = 1.0, seed: int | None = None) -> list[list[int]]:
        """One completion per prompt (token ids, cut after the first EOS, which is kept)."""
        if not prompts:
            return []
        was_training = self.model.training
        self.model.eval()
        try:
            with _attention(self.model):
                tokens = self._decode(prompts, max_new_tokens, temperature, seed)
        finally:
            self.model.train(was_training)
        return [_cut_after_eos(row, self.eos) for row in tokens.tolist()]

    def _decode(self, prompts, max_new_tokens: int, temperature: float, seed: int | None):
        dev, batch = self.device, len(prompts)
        width = max(len(p) for p in prompts)
        length = width + max_new_tokens
        ids = torch.full((batch, width), self.pad, dtype=torch.long)
        real = torch.zeros((batch, width), dtype=torch.bool)
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(list(p), dtype=torch.long)
            real[i, width - len(p):] = True
        ids, real = ids.to(dev), real.to(dev)
        positions = (real.long().cumsum(-1) - 1).clamp(min=0)
        blocked = torch.finfo(self.dtype).min
        causal = torch.tril(torch.ones(width, width, dtype=torch.bool, device=dev))
        allowed = real[:, None, None, :] & causal[None, None]
        allowed |= torch.eye(width, dtype=torch.bool, device=dev)[None, None]  # pad rows: self only
        prefill_mask = torch.full((batch, 1, width, length), blocked, dtype=self.dtype, device=dev)
        prefill_mask[..., :width].masked_fill_(allowed, 0.0)
        # the decoding mask: the real prompt tokens, then each new position as it is reached
        mask = torch.full((batch, 1, 1, length), blocked, dtype=self.dtype, device=dev)
        mask[:, 0, 0, :width].masked_fill_(real, 0.0)

        rng = None
        if seed is not None:
            rng = torch.Generator(device=dev).manual_seed(seed)
        cache = _static_cache(self.model, batch, length, dev, self.dtype)
        out = self.model(input_ids=ids, attention_mask=prefill_mask, position_ids=positions,
                         cache_position=torch.arange(width, device=dev), past_key_values=cache,
                         use_cache=True, logits_to_keep=1)
        tokens = torch.full((batch, max_new_tokens), self.pad, dtype=torch.long, device=dev)
        tokens[:, 0] = _sample(out.logits[:, -1], temperature, rng)
        del out

        tok = torch.empty((batch, 1), dtype=torch.long, device=dev)
        pos = positions[:, -1:].clone()
        cpos = torch.empty((1,), dtype=torch.long, device=dev)
        eos = torch.tensor(self.eos, device=dev)

        def step() -> torch.Tensor:
            logits = self.model(input_ids=tok, attention_mask=mask, position_ids=pos,
                                cache_position=cpos, past_key_values=cache, use_cache=True).logits
            return _sample(logits[:, -1], temperature, rng)

        graph = None
        next_tok = None
        self.graph_used = False
        for t in range(1, max_new_tokens):
            tok.copy_(tokens[:, t - 1:t])
            pos.add_(1)
            cpos.fill_(width + t - 1)
            mask[:, 0, 0, width + t - 1] = 0.0
            if graph is not None:
                graph.replay()
            elif self.cuda_graph and t >= 2 and rng is None:
                graph, next_tok = self._capture(step)
                if graph is not None:
                    graph.replay()
                else:
                    self.cuda_graph = False
                    next_tok = step()
            elif self.cuda_graph and t == 1 and rng is None:
                stream = torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):  # warm-up off the capture stream, a real step
                    next_tok = step()
                torch.cuda.current_stream().wait_stream(stream)
            else:
                next_tok = step()
            tokens[:, t] = next_tok
            if t % CHECK_EVERY == 0 and torch.isin(tokens[:, :t + 1], eos).any(-1).all():
                break
        self.graph_used = graph is not None
        return tokens.cpu()

    def _capture(self, step):
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                result = step()
        except Exception as err:  # a model whose step syncs with the host: run it eagerly
            log.warning("CUDA graph capture failed (%s: %s); decoding eagerly", type(err).__name__, err)
            return None, None
        return graph, result


def _sample(logits: torch.Tensor, temperature: float, rng: torch.Generator | None) -> torch.Tensor:
    """Argmax at temperature 0, else a sample from softmax(logits / T) (Gumbel-max form)."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    noise = torch.empty_like(probs).exponential_(generator=rng)
    return (probs / noise).argmax(-1)


def _cut_after_eos(row: list[int], eos: Sequence[int]) -> list[int]:
    for i, token in enumerate(row):
        if token in eos:
            return row[:i + 1]
    return row
