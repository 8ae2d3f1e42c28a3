"""The format guard: the format reward's weight back once the sampled format drifts.

Unit tests on :class:`FormatGuard`, then tiny-model GRPO runs in TRL's trainer whose format
reward pays for a known share of completions, read back from the step logs TRL writes.
"""

from __future__ import annotations

import pytest

from slm_math.training.format_guard import FormatGuard
from slm_math.training.grpo import build_grpo_trainer, train_grpo
from slm_math.training.grpo_dynamic import FORMAT_STATE_FILE
from slm_math.training.model_loading import load_causal_lm, load_tokenizer
from tests.training.helpers import quick_grpo
from tests.training.test_grpo_train import Interrupt

K = 4  # quick_grpo's completions a prompt; 2 prompts a step: 8 completions a step


def test_the_guard_restores_once_when_the_window_falls_below_the_threshold():
    guard = FormatGuard(weight=1.0, threshold=0.9, window=10)
    assert guard.rate is None and not guard.observe([False] * 9, step=1)  # window not full
    assert not guard.restored
    assert guard.observe([False], step=2) and guard.restored_at_step == 2
    assert guard.rate_at_restore == 0.0
    assert not guard.observe([False] * 10, step=3)  # once per run
    kept = FormatGuard(weight=1.0, threshold=0.9, window=10)
    assert not kept.observe([True] * 9 + [False], step=1)  # 0.9 is not below 0.9
    assert not kept.observe([True] * 100, step=2) and kept.rate == 1.0
    assert not kept.observe([False], step=3)  # 9 of the last 10: still 0.9
    assert kept.observe([False], step=4) and kept.rate_at_restore == 0.8
    assert kept.summary() == {"window": 10, "restored_at_step": 4, "rate_at_restore": 0.8,
                              "rate_last_window": 0.8}


def test_the_guard_state_round_trips():
    guard = FormatGuard(weight=0.5, threshold=0.9, window=4)
    guard.observe([True, False, True], step=1)
    again = FormatGuard(weight=0.5, threshold=0.9, window=4)
    again.load_state_dict(guard.state_dict())
    assert list(again.recent) == [True, False, True] and not again.restored
    assert again.observe([True], step=2)  # 3 of 4 < 0.9: the window carried over
    done = FormatGuard(weight=0.5, threshold=0.9, window=4)
    done.load_state_dict(again.state_dict())
    assert done.restored_at_step == 2 and not done.observe([False] * 4, step=3)
    with pytest.raises(ValueError, match="window must be at least 1"):
        FormatGuard(weight=1.0, threshold=0.9, window=0)


def correctness(completions, **kwargs):
    """Half the completions of every group right: every group informative."""
    return [float(i % 2) for i in range(len(completions))]


def format_every(n: int):
    """A format reward that pays 0.2 for one completion in ``n`` (``n`` 1: all)."""
    def reward(completions, **kwargs):
        return [0.2 if i % n == 0 else 0.0 for i in range(len(completions))]
    reward.__name__ = "format"
    return reward


def _run(model_dir, tmp_path, fmt, *, window=8, steps=3, callbacks=None, resume=False):
    tokenizer = load_tokenizer(model_dir)
    cfg = quick_grpo(max_steps=steps, save_steps=1)
    rows = [{"prompt": [{"role": "user", "content": f"Problem number {i}"}]} for i in range(8)]
    trainer, plan, precision, backend = build_grpo_trainer(
        model=load_causal_lm(model_dir, "fp32"), tokenizer=tokenizer, train_rows=rows, cfg=cfg,
        reward_funcs=[correctness, fmt], reward_weights=[1.0, 0.0],
        checkpoint_dir=tmp_path / "ckpt", seed=0, backend="trl", callbacks=callbacks,
        format_guard=FormatGuard(weight=1.0, threshold=0.9, window=window))
    result = train_grpo(trainer=trainer, tokenizer=tokenizer, cfg=cfg, output_dir=tmp_path / "out",
                        checkpoint_dir=tmp_path / "ckpt", fingerprint="fp", plan=plan,
                        precision=precision, backend=backend)
    return trainer, result.metrics["curves"]


def test_a_drifting_format_brings_its_reward_back_into_the_loss(tiny_model_dir, tmp_path):
    trainer, curves = _run(tiny_model_dir, tmp_path, format_every(2))  # half formatted
    guard = trainer.format_guard
    # the first step's 8 completions fill the window at 0.5 < 0.9: the weight is back for
    # that very batch, so TRL's weighted reward holds the format reward from step 1 on
    assert guard.restored_at_step == 1 and guard.rate_at_restore == 0.5
    assert float(trainer.reward_weights[1]) == 1.0
    assert curves["format/weight"] == [1.0, 1.0, 1.0] and curves["format/rate"] == [0.5] * 3
    for reward, right, fmt in zip(curves["reward"], curves["rewards/correctness/mean"],
                                  curves["rewards/format/mean"]):
        assert reward == pytest.approx(right + fmt, abs=1e-3) and fmt == pytest.approx(0.1)


def test_a_kept_format_leaves_the_weight_at_zero(tiny_model_dir, tmp_path):
    trainer, curves = _run(tiny_model_dir, tmp_path, format_every(1))  # all formatted
    assert not trainer.format_guard.restored and float(trainer.reward_weights[1]) == 0.0
    assert curves["format/weight"] == [0.0, 0.0, 0.0] and curves["format/rate"] == [1.0] * 3
    assert curves["reward"] == pytest.approx(curves["rewards/correctness/mean"], abs=1e-3)


def test_a_resumed_run_keeps_the_restored_weight(tiny_model_dir, tmp_path):
    # a window of 2 steps: restored during step 2, saved with checkpoint-2, killed in step 3
    with pytest.raises(KeyboardInterrupt):
        _run(tiny_model_dir, tmp_path, format_every(2), window=16, steps=4,
             callbacks=[Interrupt(3)])
    assert (tmp_path / "ckpt" / "checkpoint-2" / FORMAT_STATE_FILE).is_file()
    trainer, curves = _run(tiny_model_dir, tmp_path, format_every(2), window=16, steps=4)
    assert trainer.format_guard.restored_at_step == 2
    assert float(trainer.reward_weights[1]) == 1.0
    assert curves["format/weight"] == [0.0, 1.0, 1.0, 1.0]


def test_a_format_guard_needs_a_format_reward(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="a format guard needs the 'format' reward"):
        build_grpo_trainer(
            model=load_causal_lm(tiny_model_dir, "fp32"), tokenizer=load_tokenizer(tiny_model_dir),
            train_rows=[{"prompt": [{"role": "user", "content": "x"}]}] * 4, cfg=quick_grpo(),
            reward_funcs=[correctness], reward_weights=[1.0], checkpoint_dir=tmp_path, seed=0,
            backend="trl", format_guard=FormatGuard(weight=1.0, threshold=0.9, window=8))
