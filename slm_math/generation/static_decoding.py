"""Static-cache decoding: one decoding step, token choice included, replayed as a CUDA graph.

transformers' ``generate`` pays its Python overhead on every decoding step (about 70 ms a
step for a 1.5B model on an H100, whatever the batch: benchmarks/results/generation.json).
Here the prompt is prefilled into a static KV cache, then the whole decoding step (the
forward pass, choosing the next token, ending rows at EOS, writing the token and advancing
the positions) is captured once per batch as a CUDA graph and replayed, so a step costs
what its kernels cost. On CPU (and when capture fails) the same step runs eagerly.

One implementation serves both users: the hf generation backend (``hf.py``: greedy or
seeded, batch-independent sampling, stop strings) and GRPO's sampler
(``slm_math.training.grpo``: :meth:`StaticDecoder.sample`).

The model is any causal LM that accepts a 4D additive attention mask, a ``StaticCache``
and explicit positions (every transformers decoder model does); padding is on the left and
positions count only real tokens, as ``generate`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch

log = logging.getLogger(__name__)

CHECK_EVERY = 32  # decoding steps between host checks (all rows ended? stop strings?)
BUCKET = 128  # a decoding step attends to the cache up to the next multiple of this (one graph each)

TokenPicker = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""Chooses each row's next token from the last position's logits (rows x vocab) and the
step (a one-element long tensor on the device, 0 for the first generated token). It runs
inside a CUDA graph, so it must not synchronize with the host."""

StopScan = Callable[[torch.Tensor, int, list[int]], dict[int, int]]
"""Host-side stop check: (tokens generated so far (rows x t, CPU), the first step not
scanned before, the rows still running) -> {row: k} for rows whose completion ends after
its first k tokens."""

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
    if attention_mask is not None and attention_mask.shape[-1] < key.shape[-2]:
        # a decoding step attends only to the cache's first positions (its length bucket)
        key, value = key[:, :, : attention_mask.shape[-1]], value[:, :, : attention_mask.shape[-1]]
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
    """Decodes batches from ``model`` with a static cache (CUDA-graph replay on a GPU).

    model: a causal LM (a PEFT model too). eos_token_ids: tokens that end a row (the EOS is
    kept; what follows is ``pad_token_id``); empty: rows run to ``max_new_tokens``.
    cuda_graph: replay the step as a CUDA graph (default: when the model is on a GPU).
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
        """One completion per prompt (token ids, cut after the first EOS, which is kept).

        Temperature 0 is greedy, else multinomial sampling in the Gumbel-max form
        (``argmax(p / E)``, ``E`` exponential), which needs no host synchronization; a seed
        gives a private generator (then the step runs eagerly: no graph).
        """
        rng = None
        if seed is not None:
            rng = torch.Generator(device=self.device).manual_seed(seed)

        def pick(logits: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
            return _gumbel_sample(logits, temperature, rng)

        tokens = self.decode(prompts, max_new_tokens, pick, graph_safe=rng is None)
        return [_cut_after_eos(row, self.eos) for row in tokens.tolist()]

    @torch.no_grad()
    def decode(self, prompts: Sequence[Sequence[int]], max_new_tokens: int, pick: TokenPicker,
               *, stop: StopScan | None = None, graph_safe: bool = True) -> torch.Tensor:
        """Generate ``max_new_tokens`` for each prompt; the tokens (rows x max_new_tokens, CPU).

        A row ends at its first EOS (kept) or where ``stop`` says; the rest of it is pad.
        graph_safe: False when ``pick`` cannot be captured in a CUDA graph (runs eagerly).
        """
        if not prompts:
            return torch.empty((0, max_new_tokens), dtype=torch.long)
        was_training = self.model.training
        self.model.eval()
        try:
            # in the weights' dtype: under a trainer's mixed-precision autocast (fp32 weights,
            # bf16 matmuls) the prefill and the decoding steps wrote the static cache in
            # different dtypes and the first step failed
            with _attention(self.model), torch.autocast(self.device.type, enabled=False):
                return self._decode(prompts, max_new_tokens, pick, stop, graph_safe)
        finally:
            self.model.train(was_training)

    def _decode(self, prompts, max_new_tokens: int, pick: TokenPicker, stop: StopScan | None,
                graph_safe: bool) -> torch.Tensor:
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
        # the prompt attends only to the prompt: a mask as long as it, so attention reads no more
        prefill_mask = torch.full((batch, 1, width, width), blocked, dtype=self.dtype, device=dev)
        prefill_mask.masked_fill_(allowed, 0.0)
        cache = _static_cache(self.model, batch, length, dev, self.dtype)
        out = self.model(input_ids=ids, attention_mask=prefill_mask, position_ids=positions,
                         cache_position=torch.arange(width, device=dev), past_key_values=cache,
                         use_cache=True, logits_to_keep=1)
        del prefill_mask

        # the state one decoding step reads and advances in place (so a graph can replay it)
        step = torch.zeros((1,), dtype=torch.long, device=dev)  # index of the token chosen
        tokens = torch.full((batch, max_new_tokens), self.pad, dtype=torch.long, device=dev)
        done = torch.zeros((batch,), dtype=torch.bool, device=dev)
        eos = torch.tensor(self.eos, dtype=torch.long, device=dev)
        # the decoding mask: the real prompt tokens, then each new position as it is reached
        mask = torch.full((batch, 1, 1, length), blocked, dtype=self.dtype, device=dev)
        mask[:, 0, 0, :width].masked_fill_(real, 0.0)
        tok = torch.empty((batch, 1), dtype=torch.long, device=dev)
        pos = positions[:, -1:].clone()
        cpos = torch.full((1,), width - 1, dtype=torch.long, device=dev)

        def choose(logits: torch.Tensor) -> None:
            nxt = torch.where(done, self.pad, pick(logits, step))
            if len(self.eos):
                done.logical_or_(nxt[:, None].eq(eos[None]).any(-1))
            tokens.index_copy_(1, step, nxt[:, None])
            tok.copy_(nxt[:, None])
            step.add_(1)
            pos.add_(1)
            cpos.add_(1)

        def decoding_step(span: int) -> None:
            mask.index_fill_(3, cpos, 0.0)
            logits = self.model(input_ids=tok, attention_mask=mask[..., :span], position_ids=pos,
                                cache_position=cpos, past_key_values=cache, use_cache=True).logits
            choose(logits[:, -1])

        choose(out.logits[:, -1])
        del out
        use_graph = self.cuda_graph and graph_safe
        graphs: dict[int, torch.cuda.CUDAGraph] = {}  # one per attention span
        pool = None  # the graphs replay one at a time, so they share one memory pool
        ends: dict[int, int] = {}
        scanned = 0
        check_done = bool(self.eos) or stop is not None
        for t in range(1, max_new_tokens):
            # the step writes cache position width + t - 1 and attends to everything before it
            span = min(length, -(-(width + t) // BUCKET) * BUCKET)
            if span in graphs:
                graphs[span].replay()
            elif use_graph and t == 1:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):  # warm-up off the capture stream: a real step
                    decoding_step(span)
                torch.cuda.current_stream().wait_stream(side)
            elif use_graph:
                graph = self._capture(lambda: decoding_step(span), pool)
                if graph is None:
                    use_graph = False
                    decoding_step(span)
                else:
                    graphs[span], pool = graph, graph.pool()
                    graph.replay()
            else:
                decoding_step(span)
            if check_done and (t + 1) % CHECK_EVERY == 0 and t + 1 < max_new_tokens:
                if stop is not None:
                    scanned = self._scan(stop, tokens[:, :t + 1], scanned, done, ends)
                if bool(done.all()):
                    break
        self.graph_used = bool(graphs)
        if stop is not None:
            self._scan(stop, tokens, scanned, done, ends)
        tokens = tokens.cpu()
        for row, k in ends.items():
            tokens[row, k:] = self.pad
        return tokens

    @staticmethod
    def _scan(stop: StopScan, tokens: torch.Tensor, scanned: int, done: torch.Tensor,
              ends: dict[int, int]) -> int:
        """Ask ``stop`` about the new tokens of the running rows; end the rows it names."""
        running = [i for i, d in enumerate(done.tolist()) if not d]
        found = stop(tokens.cpu(), scanned, running) if running else {}
        if found:
            ends.update(found)
            done[torch.tensor(sorted(found), device=done.device)] = True
        return tokens.shape[1]

    def _capture(self, step: Callable[[], None], pool: Any = None) -> torch.cuda.CUDAGraph | None:
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, pool=pool):
                step()
        except Exception as err:  # a model whose step syncs with the host: run it eagerly
            log.warning("CUDA graph capture failed (%s: %s); decoding eagerly", type(err).__name__, err)
            return None
        return graph


def _gumbel_sample(logits: torch.Tensor, temperature: float,
                   rng: torch.Generator | None) -> torch.Tensor:
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
