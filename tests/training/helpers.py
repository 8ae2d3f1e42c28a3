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


def quick_grpo(**overrides):
    """GRPO settings for tests: a few steps of a few short completions, fp32, no curriculum."""
    from slm_math.config.params import CurriculumParams, GRPOParams

    base = dict(init="base", mode="full", num_generations=4, prompts_per_step=2,
                per_device_batch_size=8, max_steps=3, learning_rate=5e-2, scheduler="constant",
                max_completion_length=8, precision="fp32", save_steps=2, eval_problems=4,
                curriculum=CurriculumParams(mode="none", candidates=None), rewards={})
    base.update(overrides)
    return GRPOParams(**base)
