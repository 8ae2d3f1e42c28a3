"""Quick SFT settings for tests: a few optimizer steps on a tiny model."""

from __future__ import annotations

from slm_math.config.params import LoraParams, SFTFullParams, SFTLoraParams


def quick_params(mode: str, **overrides):
    """Params that train 4 steps of 4 sequences of at most 64 tokens, fp32."""
    common = dict(effective_batch_size=4, per_device_batch_size=4, max_length=64, max_steps=4,
                  warmup_ratio=0.0, logging_steps=1, save_steps=2, eval_problems=4,
                  max_examples=16, precision="fp32")
    if mode == "lora":
        return SFTLoraParams(**{**common, "learning_rate": 2e-2,
                                "lora": LoraParams(r=8, alpha=16, dropout=0.0), **overrides})
    return SFTFullParams(**{**common, "learning_rate": 3e-3, **overrides})
