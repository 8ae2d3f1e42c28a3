"""Scoring a candidate solution in [0, 1]: a reward model, or a verifier's P(CORRECT).

`load_scorer(path, fallback=generator)` picks by the checkpoint's config:
- a `*ForSequenceClassification` checkpoint (any HF reward model / outcome classifier,
  or one trained here): `SequenceClassifierScorer`, the sigmoid of the logit for one label,
  else the softmax probability of the positive label (`CORRECT`, `LABEL_1`, or the last);
- a causal LM (the trained verifier of `grpo_verifier`, or the solver itself):
  `VerifierScorer`, a generative verifier: the model reads `prompts/verify.jinja` with the
  solution, its reply is opened with `VERDICT:`, and the score is
  P(CORRECT) / (P(CORRECT) + P(INCORRECT)) of the next token(s).
With no path the solver's own model is the verifier, with the weights already loaded: the
hf generator's model (`VerifierScorer`), or the vllm generator's engine, whose prompt
log-probs give the same numbers in its own dtype (`VLLMVerifierScorer`). A causal-LM folder
beside a vllm solver is loaded in an engine of its own (`VLLMVerifierScorer`), elsewhere with
transformers (`VerifierScorer`). Both build the prompt and the verdict tokens in
`VerdictScorer`. The model reads text, it never executes it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slm_math.generation import Generator
from slm_math.prompts import VERDICT_PREFIX, verifier_prompt

Candidate = tuple[str, str]
"""(problem text, solution text)."""



class Scorer:
    """Scores candidates; higher is more likely correct, in [0, 1]."""

    batch_size: int = 8

    def score(self, candidates: Sequence[Candidate]) -> list[float]:
        """One score per (problem, solution), in order, computed in batches."""
        return [score for score, _ in self.judge(candidates)]

    def judge(self, candidates: Sequence[Candidate]) -> list[tuple[float, float | None]]:
        """(score, verdict mass) per candidate: the mass is how much probability a generative
        verifier puts on either verdict, P(CORRECT) + P(INCORRECT) (a model that does not
        answer in verdicts has little); None for a reward model."""
        out: list[tuple[float, float | None]] = []
        for start in range(0, len(candidates), self.batch_size):
            out.extend(self._judge_batch(candidates[start:start + self.batch_size]))
        return out

    def _judge_batch(self, batch: Sequence[Candidate]) -> list[tuple[float, float | None]]:
        return [(score, None) for score in self._score_batch(batch)]

    def _score_batch(self, batch: Sequence[Candidate]) -> list[float]:
        raise NotImplementedError


class SequenceClassifierScorer(Scorer):
    """A sequence-classification checkpoint as a reward model (see the module docstring)."""

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 8, max_length: int | None = None):
        self.model, self.tokenizer, self.batch_size = model.eval(), tokenizer, batch_size
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        labels = {str(v).upper(): int(k) for k, v in (model.config.id2label or {}).items()}
        self.positive = next((labels[name] for name in ("CORRECT", "LABEL_1", "POSITIVE") if name in labels),
                             model.config.num_labels - 1)
        self.max_length = max_length or getattr(tokenizer, "model_max_length", 2048)

    def text(self, problem: str, solution: str) -> str:
        """The classifier's input: a chat (user problem, assistant solution) if it has a template."""
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": problem}, {"role": "assistant", "content": solution}],
                tokenize=False)
        return f"{problem}\n\n{solution}"

    def _score_batch(self, batch: Sequence[Candidate]) -> list[float]:
        import torch

        enc = self.tokenizer([self.text(p, s) for p, s in batch], return_tensors="pt", padding=True,
                             truncation=True, max_length=min(self.max_length, 100_000))
        with torch.inference_mode():
            logits = self.model(**enc.to(self.model.device)).logits.float()
        if logits.shape[-1] == 1:
            return torch.sigmoid(logits[:, 0]).tolist()
        return torch.softmax(logits, dim=-1)[:, self.positive].tolist()


class VerdictScorer(Scorer):
    """A causal LM as a generative verifier: P(CORRECT) after `VERDICT:` (module docstring).

    The prompt and the verdict tokens are built here; a subclass supplies
    `continuation_logprobs` from wherever the weights are (a transformers model in this
    process, or a vLLM engine), so every path scores the very same tokens.
    """

    VERDICT_PREFIX = VERDICT_PREFIX

    def __init__(self, tokenizer: Any, *, batch_size: int = 8):
        self.tokenizer, self.batch_size = tokenizer, batch_size
        self.yes = tokenizer(" CORRECT", add_special_tokens=False).input_ids
        self.no = tokenizer(" INCORRECT", add_special_tokens=False).input_ids

    def prompt(self, problem: str, solution: str) -> str:
        """The verifier prompt with the assistant turn opened by `VERDICT:`."""
        return verifier_prompt(self.tokenizer, problem, solution)

    def continuation_logprobs(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[float]:
        """log P(continuation | prompt) for each (prompt ids, continuation ids) pair."""
        raise NotImplementedError

    def _judge_batch(self, batch: Sequence[Candidate]) -> list[tuple[float, float | None]]:
        prompts = self.tokenizer([self.prompt(p, s) for p, s in batch], add_special_tokens=False).input_ids
        totals = self.continuation_logprobs([(ids, cont) for ids in prompts for cont in (self.yes, self.no)])
        # P(yes) / (P(yes) + P(no)) = sigmoid(log P(yes) - log P(no))
        return [(sigmoid(yes - no), math.exp(yes) + math.exp(no)) for yes, no in zip(totals[::2], totals[1::2])]


class VerifierScorer(VerdictScorer):
    """The verifier a transformers causal LM in this process (an hf solver's own model, or
    a checkpoint folder): each distinct prompt of a batch runs once, its continuations on
    its KV cache (a CORRECT/INCORRECT pair costs one pass over the solution, not two)."""

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 8):
        super().__init__(tokenizer, batch_size=batch_size)
        self.model = model.eval()
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token

    def continuation_logprobs(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[float]:
        """See `VerdictScorer`. The distinct prompts go through the model right-padded (each
        row's positions as they are alone); the logits at a prompt's last token give each
        continuation's first token, and the rest run in one more pass on the prompts' cache,
        selected per pair, at the positions after each prompt."""
        import torch

        prompts = list(dict.fromkeys(tuple(ids) for ids, _ in pairs))
        if not all(prompts):
            raise ValueError("continuation_logprobs: a prompt must hold at least one token")
        row = {ids: r for r, ids in enumerate(prompts)}
        rows = [row[tuple(ids)] for ids, _ in pairs]
        lengths = [len(ids) for ids in prompts]
        device, pad = self.model.device, self.tokenizer.pad_token_id
        ids, mask = _right_padded([list(p) for p in prompts], pad, device)
        depth = max(len(cont) for _, cont in pairs)
        with torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=mask, use_cache=depth > 1)
            last = out.logits[torch.arange(len(prompts)), torch.tensor(lengths) - 1]
            first = torch.log_softmax(last.float(), -1)  # [prompt, vocab]: each first token
            later = None
            if depth > 1:  # tokens 2.. of each continuation, fed after their prompt
                cache = out.past_key_values
                cache.reorder_cache(torch.tensor(rows, device=device))
                fed, fed_mask = _right_padded([list(c[:-1]) for _, c in pairs], pad, device,
                                              width=depth - 1)
                starts = torch.tensor([lengths[r] for r in rows], device=device)
                positions = starts[:, None] + torch.arange(depth - 1, device=device)
                later = torch.log_softmax(self.model(
                    input_ids=fed, attention_mask=torch.cat([mask[rows], fed_mask], 1),
                    position_ids=positions, past_key_values=cache).logits.float(), -1)
        totals = []
        for k, ((_, cont), r) in enumerate(zip(pairs, rows)):
            total = float(first[r, cont[0]]) if cont else 0.0
            total += sum(float(later[k, t - 1, tok]) for t, tok in enumerate(cont) if t > 0)
            totals.append(total)
        return totals


def _right_padded(seqs: Sequence[list[int]], pad: int, device: Any, width: int | None = None):
    """(ids, attention mask) tensors of `seqs`, right-padded with `pad` to `width` (default:
    the longest)."""
    import torch

    width = max(len(s) for s in seqs) if width is None else width
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], device=device)
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=device)
    return ids, mask


class VLLMVerifierScorer(VerdictScorer):
    """The verifier the model a vllm generator already serves: its engine's prompt
    log-probs (`VLLMGenerator.continuation_logprobs`), no second copy of the weights.

    vLLM schedules the requests itself, so batches are large (`batch_size` candidates, two
    requests each, go to the engine at once).
    """

    batch_size = 256

    def __init__(self, generator: Any, *, batch_size: int | None = None):
        super().__init__(generator.tokenizer, batch_size=batch_size or self.batch_size)
        self.generator = generator

    def continuation_logprobs(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[float]:
        """See `VerdictScorer`."""
        return self.generator.continuation_logprobs(pairs)


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), without overflow for any finite or infinite x."""
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def is_classifier(path: str | Path) -> bool:
    """Whether the checkpoint in `path` is a sequence-classification model."""
    config = json.loads((Path(path) / "config.json").read_text())
    return any(a.endswith("ForSequenceClassification") for a in config.get("architectures") or [])


def load_scorer(path: str | Path | None, *, fallback: Generator | None = None, batch_size: int = 8,
                device: str | None = None) -> Scorer:
    """The scorer for checkpoint `path`; with None, the `fallback` generator's model as
    verifier. A causal-LM `path` beside a vllm `fallback` is loaded in a vllm engine too."""
    if path is None:
        model, tokenizer = getattr(fallback, "model", None), getattr(fallback, "tokenizer", None)
        if model is not None and tokenizer is not None:  # hf: the solver's model, in memory
            return VerifierScorer(model, tokenizer, batch_size=batch_size)
        if hasattr(fallback, "continuation_logprobs"):  # vllm: the engine already loaded
            return VLLMVerifierScorer(fallback, batch_size=max(batch_size, VLLMVerifierScorer.batch_size))
        raise ValueError("best_of_n: with no reward_model the solver scores its own samples, which "
                         "needs its weights (the hf or vllm backend, not an API); set "
                         "agents.<name>.options.reward_model")
    if not (Path(path) / "config.json").exists():
        raise FileNotFoundError(f"reward_model: {path}: no config.json (not a model folder)")
    classifier = is_classifier(path)
    if not classifier and hasattr(fallback, "continuation_logprobs"):
        # a vllm solver: the verifier folder gets an engine of its own, as solver_verifier's
        # verifier_model does (several times faster than transformers fp32 on CPU)
        from slm_math.generation import backend_of, load_generator

        engine = load_generator(backend_of(fallback), str(path))
        return VLLMVerifierScorer(engine, batch_size=max(batch_size, VLLMVerifierScorer.batch_size))
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if classifier:
        model = AutoModelForSequenceClassification.from_pretrained(path)
        return SequenceClassifierScorer(model.to(device or "cpu"), tokenizer, batch_size=batch_size)
    model = AutoModelForCausalLM.from_pretrained(path)
    return VerifierScorer(model.to(device or "cpu"), tokenizer, batch_size=batch_size)
