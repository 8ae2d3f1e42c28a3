"""GRPO on a tiny model: a learnable reward rises, beta=0 loads no reference model, resume."""

from __future__ import annotations

import math

import pytest
from transformers import TrainerCallback

from slm_math.training.checkpoints import resumable_checkpoint
from slm_math.training.grpo import build_grpo_trainer, train_grpo
from slm_math.training.model_loading import load_causal_lm, load_tokenizer
from tests.training.helpers import quick_grpo


def low_half_reward(vocab_size: int):
    """Share of completion tokens from the lower half of the vocabulary: about 0.5 at random."""

    def reward(completions, completion_ids, **kwargs):
        return [sum(t < vocab_size // 2 for t in ids) / max(1, len(ids)) for ids in completion_ids]

    reward.__name__ = "low_half"
    return reward


ROWS = [{"prompt": [{"role": "user", "content": f"Say something {i}"}]} for i in range(16)]


def _trainer(model_dir, tmp_path, cfg, backend="trl", callbacks=None):
    tokenizer = load_tokenizer(model_dir)
    model = load_causal_lm(model_dir, "fp32")
    trainer, plan, precision, backend = build_grpo_trainer(
        model=model, tokenizer=tokenizer, train_rows=ROWS, cfg=cfg,
        reward_funcs=[low_half_reward(len(tokenizer))], reward_weights=[1.0],
        checkpoint_dir=tmp_path / "ckpt", seed=0, backend=backend, callbacks=callbacks)
    return trainer, tokenizer, plan, precision, backend


def _train(model_dir, tmp_path, cfg, backend="trl", callbacks=None):
    trainer, tokenizer, plan, precision, backend = _trainer(model_dir, tmp_path, cfg, backend,
                                                            callbacks)
    return train_grpo(trainer=trainer, tokenizer=tokenizer, cfg=cfg, output_dir=tmp_path / "out",
                      checkpoint_dir=tmp_path / "ckpt", fingerprint="fp", plan=plan,
                      precision=precision, backend=backend), trainer


def test_trivially_learnable_reward_rises_in_a_few_steps(tiny_model_dir, tmp_path, caplog):
    cfg = quick_grpo(num_generations=8, max_steps=6, per_device_batch_size=16, save_steps=100)
    with caplog.at_level("WARNING", logger="slm_math.training.grpo"):
        result, trainer = _train(tiny_model_dir, tmp_path, cfg, backend="cuda_graph")
    rewards = result.metrics["curves"]["reward"]
    assert len(rewards) == 6
    assert sum(rewards[-2:]) / 2 > rewards[0] + 0.15, rewards
    assert trainer.last_decoder is not None  # our static decoder sampled (eagerly on CPU)
    assert result.metrics["generation_backend"] == "cuda_graph"
    assert result.metrics["nonfinite_grad_steps"] == []
    assert result.metrics["curves"]["frac_reward_zero_std"] == [0.0] * 6
    grad_norms = result.metrics["curves"]["grad_norm"]  # TRL logs it on the reward's row
    assert len(grad_norms) == 6 and all(g > 0 for g in grad_norms), grad_norms
    updates, ratios = result.metrics["curves"]["update_norm"], result.metrics["curves"]["update_ratio"]
    assert len(updates) == 6 and all(u > 0 for u in updates), updates  # every step moved the weights
    assert all(0 < r < math.inf for r in ratios), ratios  # lr 5e-2 on a tiny model: above 1 at first
    assert (tmp_path / "out" / "model.safetensors").is_file()
    m = result.metrics  # throughput: 6 steps x 2 prompts x 8 completions of up to 8 tokens
    assert 6 * 16 <= m["generated_tokens"] <= 6 * 16 * 8 and m["generation_seconds"] > 0
    assert m["generation_tokens_per_s"] == pytest.approx(m["generated_tokens"] / m["generation_seconds"], rel=0.01)
    assert m["training_tokens"] > m["generated_tokens"]  # prompts and completions
    assert m["training_tokens_per_s"] > 0
    # the tiny model's random tokens rarely end before 8: most completions are cut, and it says so
    clipped = [c for c in m["curves"]["clipped_ratio"] if c is not None]
    assert m["clipped_ratio_mean"] == pytest.approx(sum(clipped) / len(clipped), abs=1e-6)
    assert m["clipped_ratio_mean"] > 0.25
    assert any("were cut at max_completion_length 8" in r.getMessage() for r in caplog.records)


def test_the_clipped_warning_fires_only_above_its_share():
    from slm_math.training.grpo import CLIPPED_WARN_SHARE, clipped_warning

    assert clipped_warning(None, 96) is None and clipped_warning(0.16, 96) is None  # the CPU default's share
    assert clipped_warning(CLIPPED_WARN_SHARE, 64) is None
    assert clipped_warning(0.6, 128).startswith("grpo: 60% of the sampled completions were cut at "
                                                "max_completion_length 128")


def test_beta_zero_builds_no_reference_model(tiny_model_dir, tmp_path):
    trainer, *_ = _trainer(tiny_model_dir, tmp_path, quick_grpo(beta=0.0))
    assert trainer.ref_model is None
    with_kl, *_ = _trainer(tiny_model_dir, tmp_path, quick_grpo(beta=0.05))
    assert with_kl.ref_model is not None  # the contrast: a KL term needs the frozen copy
    ref_params = sum(p.numel() for p in with_kl.ref_model.parameters())
    assert ref_params == sum(p.numel() for p in with_kl.model.parameters())


class Interrupt(TrainerCallback):
    """Raise after ``step`` optimizer steps, as a killed process would stop."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def test_interrupted_lora_run_resumes_and_continues_the_step_count(tiny_model_dir, tmp_path):
    cfg = quick_grpo(mode="lora", max_steps=4, save_steps=2, learning_rate=1e-2)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_model_dir, tmp_path, cfg, callbacks=[Interrupt(3)])
    checkpoint = resumable_checkpoint(tmp_path / "ckpt", "fp")
    assert checkpoint is not None and checkpoint.name == "checkpoint-2"
    assert not (tmp_path / "out").exists()

    result, _ = _train(tiny_model_dir, tmp_path, cfg)
    assert result.metrics["resumed_from_step"] == 2 and result.metrics["steps"] == 4
    assert result.metrics["curves"]["step"][-2:] == [3, 4]
    assert (tmp_path / "out" / "model.safetensors").is_file()  # merged weights
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()
    assert not (tmp_path / "ckpt").exists()


def test_step_curves_keep_a_step_whose_logged_values_are_none_or_nan():
    from slm_math.training.grpo import step_curves

    # TRL logged entropy None and grad norm NaN on a GPU run where every completion was cut
    logs = [{"step": 1, "reward": 0.0, "entropy": None, "loss": 0.0, "grad_norm": float("nan"),
             "rewards/verdict/mean": float("nan")},
            {"step": 2, "reward": 0.5, "entropy": 0.25, "loss": 0.125, "grad_norm": 0.75},
            {"step": 2, "train_runtime": 22.3}]
    curves = step_curves(logs)
    assert curves["step"] == [1, 2] and curves["reward"] == [0.0, 0.5]
    assert curves["entropy"] == [None, 0.25] and curves["rewards/verdict/mean"] == [None, None]
    assert curves["grad_norm"] == [None, 0.75]


def test_an_update_with_a_nan_gradient_is_skipped_and_counted():
    import torch
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from slm_math.training.grad_guard import NonFiniteGradGuard

    model = torch.nn.Linear(3, 2)
    model(torch.ones(1, 3)).sum().backward()
    guard = NonFiniteGradGuard()
    state = TrainerState()
    state.global_step = 4
    args = TrainingArguments(output_dir="unused", report_to=[])
    guard.on_pre_optimizer_step(args, state, TrainerControl(), model=model)
    assert model.weight.grad is not None and guard.skipped_steps == []  # finite: untouched
    model.bias.grad[0] = float("nan")
    guard.on_pre_optimizer_step(args, state, TrainerControl(), model=model)
    assert model.weight.grad is None and model.bias.grad is None and guard.skipped_steps == [5]
    before = model.weight.detach().clone()
    torch.optim.AdamW(model.parameters(), lr=0.1).step()
    assert torch.equal(model.weight, before)  # the optimizer applied nothing


def test_cuda_graph_under_mixed_precision_samples_with_trl(tiny_model_dir, tmp_path):
    # fp32 weights under accelerate's bf16 autocast (bf16_mixed, CPU): the static decoder's
    # cache saw two dtypes and the first step failed
    cfg = quick_grpo(max_steps=1, per_device_batch_size=8, save_steps=100, precision="bf16_mixed")
    result, trainer = _train(tiny_model_dir, tmp_path, cfg, backend="cuda_graph")
    assert result.metrics["generation_backend"] == "trl" and trainer.last_decoder is None
    assert result.metrics["steps"] == 1


def test_continuous_batching_samples_and_trains_a_step(tiny_model_dir, tmp_path):
    # transformers' paged engine accepts only sdpa, eager or flash attention names: the
    # pad-safe SDPA GRPO trains with elsewhere made it refuse to start
    cfg = quick_grpo(max_steps=1, per_device_batch_size=8, save_steps=100)
    result, trainer = _train(tiny_model_dir, tmp_path, cfg, backend="continuous_batching")
    assert result.metrics["steps"] == 1 and result.metrics["generated_tokens"] > 0
    assert result.metrics["generation_backend"] == "continuous_batching"
