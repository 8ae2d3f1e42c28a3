"""The `hf` backend: batched generation with a transformers model held in this process.

Prompts are tokenized, sorted by length (longest first, so an out-of-memory shows up in
the first batch and batches waste little padding), left-padded into batches and generated;
results come back in the caller's order. Greedy decoding is plain argmax; sampling uses the
seeded, batch-independent sampler of `sampling.py`. A stop string ends its row as soon as
the decoded text holds it, and is cut from the text.

On a GPU the model runs in bf16 and decodes with `static_decoding.StaticDecoder` (the one
GRPO samples with): a static KV cache and the whole decoding step, sampling included,
replayed as a CUDA graph. The sampler is the same function on both paths, so a seed gives
the same completions either way (up to the arithmetic of the device).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Sequence
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, StoppingCriteria

from .base import Generator, check_prompts
from .params import Completion, Prompt, SamplingParams, cut_at_stop
from .sampling import SeededSampler, row_seed, sample_tokens
from .static_decoding import StaticDecoder

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype:
    """A torch dtype from a name; None/"auto" means bf16 on a GPU and float32 on CPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)} or 'auto', got {dtype!r}") from None


class HFGenerator(Generator):
    """Generation with a transformers causal LM held in this process.

    model, tokenizer: a loaded model and its tokenizer (see `from_pretrained` to load by name).
    batch_size: sequences per `generate` call; default 16 on CPU, 256 on a GPU.
    progress: a tqdm bar over batches; None shows it only when stderr is a terminal.
    decoder: "static" (static KV cache, the decoding step replayed as a CUDA graph on a GPU,
        eager on CPU) or "generate" (transformers' `model.generate`); default: "static" on a
        GPU, "generate" on CPU.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        batch_size: int | None = None,
        progress: bool | None = None,
        decoder: str | None = None,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        on_gpu = model.device.type == "cuda"
        self.batch_size = batch_size or (256 if on_gpu else 16)
        self.progress = progress
        self.graph_used = False  # whether the last static batch replayed a CUDA graph
        self.decoder = decoder or ("static" if on_gpu else "generate")
        if self.decoder not in ("static", "generate"):
            raise ValueError(f"hf backend: decoder must be 'static' or 'generate', got {decoder!r}")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.eos_ids = _eos_ids(model, tokenizer)
        self.context_length = _context_length(model, tokenizer)
        # SamplingParams is the whole truth: the model's own generation defaults (a
        # repetition_penalty, a top_k) would otherwise leak into every call.
        model.generation_config = GenerationConfig(
            eos_token_id=self.eos_ids or None, pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
        )

    @classmethod
    def from_pretrained(
        cls,
        model: str,
        *,
        gguf_file: str | None = None,
        tokenizer: str | None = None,
        dtype: str | torch.dtype | None = None,
        device: str | None = None,
        **options: Any,
    ) -> "HFGenerator":
        """Load `model` (a local directory or hub name; with `gguf_file`, a GGUF inside it).

        tokenizer: where the tokenizer is, if not with the model. dtype: "auto" (bf16 on a
        GPU, float32 on CPU), "bfloat16", "float16" or "float32". device: default cuda if
        available. Other options go to `HFGenerator`.
        """
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = resolve_dtype(dtype, device)
        tok_kwargs = {"gguf_file": gguf_file} if gguf_file and not tokenizer else {}
        tok = AutoTokenizer.from_pretrained(tokenizer or model, **tok_kwargs)
        lm = AutoModelForCausalLM.from_pretrained(model, gguf_file=gguf_file, dtype=torch_dtype)
        return cls(lm.to(device), tok, **options)

    def generate(
        self, prompts: Sequence[Prompt], params: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """See `Generator.generate`. Greedy n>1 gives n copies of the one greedy completion."""
        check_prompts(prompts)
        params = params or SamplingParams()
        encoded = self._encode_all(prompts)
        draws = 1 if params.greedy else params.n
        seed = params.seed if params.seed is not None else random.SystemRandom().getrandbits(62)
        # one row per (prompt, sample); longest first
        rows = [(i, j) for i in range(len(prompts)) for j in range(draws)]
        rows.sort(key=lambda r: -len(encoded[r[0]]))
        results: list[list[Completion | None]] = [[None] * draws for _ in prompts]
        batches = [rows[k : k + self.batch_size] for k in range(0, len(rows), self.batch_size)]
        for batch in _progress(batches, self.progress):
            ids = [encoded[i] for i, _ in batch]
            seeds = [] if params.greedy else [row_seed(seed, j, encoded[i]) for i, j in batch]
            for (i, j), completion in zip(batch, self._generate_batch(ids, seeds, params)):
                results[i][j] = completion
        if greedy_copies := (params.n if params.greedy else 1) - 1:
            results = [r + [Completion(**vars(r[0])) for _ in range(greedy_copies)] for r in results]
        return results  # type: ignore[return-value]

    def _encode_all(self, prompts: Sequence[Prompt]) -> list[list[int]]:
        """Token ids of every prompt, in two batched tokenizer calls (plain text, chat).

        Chat-formatted text holds its special tokens; plain text gets the tokenizer's own
        (as vLLM does), e.g. a BOS for Llama-style models.
        """
        encoded: list[list[int]] = [[] for _ in prompts]
        for plain in (True, False):
            which = [i for i, p in enumerate(prompts) if isinstance(p, str) == plain]
            if which:
                texts = [self.format_prompt(prompts[i]) for i in which]
                for i, ids in zip(which, self.tokenizer(texts, add_special_tokens=plain).input_ids):
                    encoded[i] = ids
        return encoded

    def _encode(self, prompt: Prompt) -> list[int]:
        return self._encode_all([prompt])[0]

    @torch.inference_mode()
    def _generate_batch(
        self, ids: list[list[int]], seeds: list[int], params: SamplingParams
    ) -> list[Completion]:
        start = time.perf_counter()
        if self.decoder == "static":
            generated = self._decode_static(ids, seeds, params)
        else:
            generated = self._decode_generate(ids, seeds, params)
        ends = {*self.eos_ids, self.tokenizer.pad_token_id}
        cuts = [next((k for k, t in enumerate(g) if t in ends), None) for g in generated]
        bodies = [g if end is None else g[:end] for g, end in zip(generated, cuts)]
        texts = self.tokenizer.batch_decode(bodies, skip_special_tokens=True)
        share = (time.perf_counter() - start) / len(ids)
        return [self._completion(g, end, text, len(x), params, share)
                for g, end, text, x in zip(generated, cuts, texts, ids)]

    def _decode_static(
        self, ids: list[list[int]], seeds: list[int], params: SamplingParams
    ) -> list[list[int]]:
        decoder = StaticDecoder(self.model, eos_token_ids=self.eos_ids,
                                pad_token_id=self.tokenizer.pad_token_id)
        if params.greedy:
            def pick(logits: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
                return logits.argmax(-1)
        else:
            row_seeds = torch.tensor(seeds, dtype=torch.int64, device=self.model.device)

            def pick(logits: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
                return sample_tokens(logits, row_seeds, step, params.temperature, params.top_p)
        stop = StopOnText(self.tokenizer, params.stop) if params.stop else None
        tokens = decoder.decode(ids, params.max_new_tokens, pick,
                                stop=stop.scan if stop else None)
        self.graph_used = decoder.graph_used
        return tokens.tolist()

    def _decode_generate(
        self, ids: list[list[int]], seeds: list[int], params: SamplingParams
    ) -> list[list[int]]:
        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids])
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens, do_sample=False,
            eos_token_id=self.eos_ids or None, pad_token_id=pad,
        )
        processors = (
            []
            if params.greedy
            else [SeededSampler(seeds, params.temperature, params.top_p, prompt_len=width)]
        )
        stopping = [StopOnText(self.tokenizer, params.stop, width)] if params.stop else None
        out = self.model.generate(
            input_ids=input_ids.to(self.model.device),
            attention_mask=mask.to(self.model.device),
            generation_config=config,
            logits_processor=processors,
            stopping_criteria=stopping,
        )
        return out[:, width:].tolist()

    def _completion(
        self, generated: list[int], end: int | None, text: str, tokens_in: int,
        params: SamplingParams, latency_s: float,
    ) -> Completion:
        """A completion from a row's tokens, the index of its first EOS/pad (None: none) and
        the text of the tokens before it."""
        text, stopped = cut_at_stop(text, params.stop)
        if end is None:
            tokens_out = len(generated)
        elif stopped or generated[end] not in self.eos_ids:
            tokens_out = end  # the row ended at a stop string; what follows is padding
        else:
            tokens_out = end + 1  # the EOS token was generated
        finish = "stop" if stopped or end is not None else "length"
        return Completion(text, tokens_in, tokens_out, finish, latency_s)

    def close(self) -> None:
        """Drop the model; its GPU memory is freed once nothing else refers to it."""
        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


class StopOnText(StoppingCriteria):
    """Ends each row once its generated text contains a stop string.

    It decodes the same text the completion is cut from, so it stops exactly where the cut
    falls. (transformers' own `stop_strings` matched token pieces and ended rows whose text
    held no stop string: seen with the SmolLM2 tokenizer and the stop string "as ".)
    As a `generate` stopping criterion it looks at every step; `scan` is the static
    decoder's periodic check, which finds the same step after the fact.
    """

    def __init__(self, tokenizer: Any, stop: list[str], prompt_len: int = 0):
        self.tokenizer, self.stop, self.prompt_len = tokenizer, stop, prompt_len
        # a stop string of L characters spans at most L tokens, +4 for partial UTF-8 bytes
        self.window = max(len(s) for s in stop) + 4

    def _hits(self, rows: list[list[int]]) -> list[bool]:
        texts = self.tokenizer.batch_decode(rows, skip_special_tokens=True)
        return [any(s in t for s in self.stop) for t in texts]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        tails = input_ids[:, self.prompt_len :][:, -self.window :].tolist()
        return torch.tensor(self._hits(tails), dtype=torch.bool, device=input_ids.device)

    def scan(self, tokens: torch.Tensor, start: int, running: list[int]) -> dict[int, int]:
        """{row: k} for running rows whose text holds a stop string after k tokens (k > start):
        the first k at which the `generate` criterion would have ended the row."""
        lo = max(0, start + 1 - self.window)
        candidates = [r for r, hit in zip(running, self._hits(tokens[running, lo:].tolist())) if hit]
        ends = {}
        for r in candidates:
            row = tokens[r].tolist()
            ks = range(start + 1, len(row) + 1)
            hits = self._hits([row[max(0, k - self.window) : k] for k in ks])
            k = next((k for k, hit in zip(ks, hits) if hit), None)
            if k is not None:
                ends[r] = k
        return ends


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every token that ends a turn: the model's generation config EOS list and the tokenizer's."""
    ids = model.generation_config.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def _context_length(model: Any, tokenizer: Any) -> int | None:
    """The model's maximum positions, else the tokenizer's limit if it is a real one."""
    n = getattr(model.config, "max_position_embeddings", None)
    if n:
        return int(n)
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if limit and limit < 10**9 else None


def _progress(batches: list, enabled: bool | None):
    """Wrap batches in a tqdm bar when enabled (None: only when stderr is a terminal)."""
    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("SLM_MATH_NO_PROGRESS")
    if not enabled or len(batches) < 2:
        return batches
    from tqdm import tqdm

    return tqdm(batches, desc="generate", unit="batch")
