"""SDPA for training on left-padded batches, with no query row that may attend to nothing.

GRPO trains on prompts padded on the left. Under the causal mask a padding position's
query may attend only to keys at or before it, which are all padding, so its row of the
boolean mask transformers hands to `scaled_dot_product_attention` is all False. PyTorch
defines that row's forward (zeros), but the gradient through a fully masked row is where
the CUDA kernels' NaN reports cluster (pytorch/pytorch#103749, #109517, #119320). On the
H200, grpo_verifier's first update had a NaN gradient with verifier prompts padded by up to
a few hundred positions, while the CPU kernels give finite gradients on the same pattern.

`pad_safe_sdpa` lets such a row attend to every key (as transformers did for torch < 2.5),
which changes no real token's output: the rows it touches are padding, and their outputs
reach neither the loss nor any real token. `use_pad_safe_attention(model)` switches a
model that uses SDPA to it.
"""

from __future__ import annotations

from typing import Any

import torch

PAD_SAFE_SDPA = "slm_sdpa_pad_safe"


def unmask_dead_rows(mask: torch.Tensor) -> torch.Tensor:
    """``mask`` with every query row that allows no key opened to all keys.

    A boolean mask (True: attend) or an additive float mask (its dtype's minimum or -inf:
    blocked) of shape (..., queries, keys).
    """
    if mask.dtype == torch.bool:
        return mask | ~mask.any(-1, keepdim=True)
    blocked = mask <= torch.finfo(mask.dtype).min
    return mask.masked_fill(blocked.all(-1, keepdim=True), 0.0)


def pad_safe_sdpa(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                  attention_mask: torch.Tensor | None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers' SDPA attention with :func:`unmask_dead_rows` applied to the mask."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if attention_mask is not None:
        attention_mask = unmask_dead_rows(attention_mask)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(PAD_SAFE_SDPA, pad_safe_sdpa)
    AttentionMaskInterface.register(PAD_SAFE_SDPA, sdpa_mask)


def use_pad_safe_attention(model: Any) -> int:
    """Switch every config in ``model`` that uses "sdpa" to :data:`PAD_SAFE_SDPA`.

    Other implementations are left as they are (eager's finite fill value and flash
    attention's unpadded sequences have no fully masked row). Returns the configs switched.
    """
    _register()
    switched = 0
    for config in {id(m.config): m.config for m in model.modules()
                   if getattr(getattr(m, "config", None), "_attn_implementation", None) == "sdpa"}.values():
        config._attn_implementation = PAD_SAFE_SDPA
        switched += 1
    return switched
