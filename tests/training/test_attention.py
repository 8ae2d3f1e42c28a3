"""Pad-safe SDPA: no fully masked query row reaches the kernel, and real tokens are unchanged."""

from __future__ import annotations

import pytest
import torch

from slm_math.training.attention import PAD_SAFE_SDPA, unmask_dead_rows, use_pad_safe_attention
from slm_math.training.grpo import build_grpo_trainer
from slm_math.training.model_loading import load_causal_lm, load_tokenizer
from tests.training.helpers import quick_grpo


def test_dead_rows_open_and_live_rows_keep_their_mask():
    live = torch.tensor([[True, False, False], [True, True, False]])
    boolean = torch.cat([torch.zeros(1, 3, dtype=torch.bool), live])[None, None]
    opened = unmask_dead_rows(boolean)
    assert opened[0, 0, 0].all() and torch.equal(opened[0, 0, 1:], live)
    low = torch.finfo(torch.bfloat16).min
    additive = torch.where(boolean, 0.0, low).to(torch.bfloat16)
    opened = unmask_dead_rows(additive)
    assert (opened[0, 0, 0] == 0).all() and torch.equal(opened[0, 0, 1:], additive[0, 0, 1:])
    minus_inf = torch.where(boolean, 0.0, float("-inf"))
    assert (unmask_dead_rows(minus_inf)[0, 0, 0] == 0).all()


def _left_padded(tokenizer, lengths: list[int]):
    width = max(lengths)
    ids = torch.full((len(lengths), width), tokenizer.pad_token_id or 0)
    mask = torch.zeros((len(lengths), width), dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, width - n:] = torch.arange(100, 100 + n) + row
        mask[row, width - n:] = 1
    return ids, mask


def _masks_seen(monkeypatch) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    real = torch.nn.functional.scaled_dot_product_attention

    def spy(query, key, value, attn_mask=None, *args, **kwargs):
        if attn_mask is not None:
            seen.append(attn_mask.detach().clone())
        return real(query, key, value, attn_mask, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    return seen


def _dead_rows(mask: torch.Tensor) -> int:
    allowed = mask if mask.dtype == torch.bool else mask > torch.finfo(mask.dtype).min
    return int((~allowed.any(-1)).sum())


def test_a_left_padded_batch_gives_the_same_real_logits_without_dead_rows(tiny_model_dir,
                                                                           monkeypatch):
    tokenizer = load_tokenizer(tiny_model_dir)
    ids, mask = _left_padded(tokenizer, [40, 7, 25])
    model = load_causal_lm(tiny_model_dir, "fp32")
    seen = _masks_seen(monkeypatch)
    with torch.no_grad():
        plain = model(input_ids=ids, attention_mask=mask).logits
    assert seen and _dead_rows(seen[0]) > 0  # the pattern the guard exists for
    seen.clear()
    assert use_pad_safe_attention(model) == 1
    assert model.config._attn_implementation == PAD_SAFE_SDPA
    safe = model(input_ids=ids, attention_mask=mask).logits
    assert seen and all(_dead_rows(m) == 0 for m in seen)
    real = mask.bool()
    torch.testing.assert_close(safe[real].detach(), plain[real], rtol=1e-5, atol=1e-5)
    # a loss over real tokens has finite gradients
    safe[real].logsumexp(-1).mean().backward()
    assert all(p.grad is None or p.grad.isfinite().all() for p in model.parameters())


@pytest.mark.parametrize("backend,attention", [
    ("trl", PAD_SAFE_SDPA),
    ("continuous_batching", "sdpa"),  # transformers' paged engine refuses any other name
])
def test_the_grpo_trainer_trains_with_pad_safe_attention(tiny_model_dir, tmp_path, backend, attention):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = load_causal_lm(tiny_model_dir, "fp32")
    rows = [{"prompt": [{"role": "user", "content": "Hi " * (1 + 9 * i)}]} for i in range(4)]
    trainer, *_ = build_grpo_trainer(
        model=model, tokenizer=tokenizer, train_rows=rows, cfg=quick_grpo(),
        reward_funcs=[lambda completions, **kw: [0.0] * len(completions)], reward_weights=[1.0],
        checkpoint_dir=tmp_path / "ckpt", seed=0, backend=backend)
    assert trainer.model.config._attn_implementation == attention


def test_a_reference_model_loads_with_the_pad_safe_name(tiny_model_dir, tmp_path):
    # TRL builds a full run's reference model from the policy's attention name (beta > 0)
    tokenizer = load_tokenizer(tiny_model_dir)
    trainer, *_ = build_grpo_trainer(
        model=load_causal_lm(tiny_model_dir, "fp32"), tokenizer=tokenizer,
        train_rows=[{"prompt": [{"role": "user", "content": "Hi"}]}] * 4, cfg=quick_grpo(beta=0.04),
        reward_funcs=[lambda completions, **kw: [0.0] * len(completions)], reward_weights=[1.0],
        checkpoint_dir=tmp_path / "ckpt", seed=0, backend="trl")
    assert trainer.ref_model is not None
    assert trainer.ref_model.config._attn_implementation == PAD_SAFE_SDPA
