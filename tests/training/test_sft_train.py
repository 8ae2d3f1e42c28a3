"""A tiny model trains a few steps, its loss falls, and an interrupted run resumes."""

from __future__ import annotations

import json

import pytest
from transformers import TrainerCallback

from slm_math.training.checkpoints import FINGERPRINT_FILE, resumable_checkpoint
from slm_math.training.sft import train_sft
from slm_math.training.sft_data import load_problems, load_sft_examples, split_held_out
from tests.training.helpers import quick_params


@pytest.fixture
def examples(sft_data):
    problems_dir, traces = sft_data
    return split_held_out(load_sft_examples(traces, load_problems(problems_dir)), 4, seed=0,
                          max_examples=16)


def _train(tiny_model_dir, examples, tmp_path, mode, fingerprint="fp", callbacks=None, **kw):
    train, held = examples
    return train_sft(base_model=tiny_model_dir, train_examples=train, eval_examples=held,
                     cfg=quick_params(mode, **kw), mode=mode, output_dir=tmp_path / "out",
                     checkpoint_dir=tmp_path / "ckpt", seed=0, fingerprint=fingerprint,
                     callbacks=callbacks)


def test_full_sft_loss_falls(tiny_model_dir, examples, tmp_path):
    result = _train(tiny_model_dir, examples, tmp_path, "full")
    m = result.metrics
    losses = [e["loss"] for e in result.log_history if "loss" in e]
    assert len(losses) == 4 and m["steps"] == 4
    assert losses[-1] < losses[0] - 0.3
    assert m["eval_loss"] < m["eval_loss_before"] - 0.3
    assert m["best_loss"] == min(losses) and m["final_loss"] == losses[-1]
    assert m["tokens_seen"] > 16 * 20 and m["tokens_per_s"] > 0
    assert m["effective_batch_size"] == 4 and m["resumed_from_step"] == 0
    assert (tmp_path / "out" / "model.safetensors").is_file()
    assert (tmp_path / "out" / "chat_template.jinja").is_file()
    assert not (tmp_path / "ckpt").exists()  # scratch checkpoints go once the model is saved


class Interrupt(TrainerCallback):
    """Raise after ``step`` optimizer steps, as a killed process would stop."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def test_lora_interrupted_run_resumes_from_last_checkpoint(tiny_model_dir, examples, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_model_dir, examples, tmp_path, "lora", callbacks=[Interrupt(3)])
    checkpoint = resumable_checkpoint(tmp_path / "ckpt", "fp")
    assert checkpoint is not None and checkpoint.name == "checkpoint-2"  # save_steps=2
    assert resumable_checkpoint(tmp_path / "ckpt", "other") is None
    assert not (tmp_path / "out").exists()

    result = _train(tiny_model_dir, examples, tmp_path, "lora")
    steps_logged = [e["step"] for e in result.log_history if "loss" in e]
    assert result.metrics["resumed_from_step"] == 2
    assert result.metrics["steps"] == 4
    assert steps_logged[-2:] == [3, 4]  # the global step continued from the checkpoint
    assert "eval_loss_before" not in result.metrics  # measured by the first run only
    losses = [e["loss"] for e in result.log_history if "loss" in e]
    assert losses[-1] < losses[0]
    config = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert config["r"] == 8 and (tmp_path / "out" / "adapter_model.safetensors").is_file()


def test_checkpoints_of_other_inputs_are_cleared(tmp_path):
    from slm_math.training.checkpoints import prepare_checkpoint_dir

    folder = tmp_path / "ckpt"
    (folder / "checkpoint-5").mkdir(parents=True)
    (folder / "checkpoint-5" / "trainer_state.json").write_text("{}")
    (folder / "checkpoint-7").mkdir()  # no trainer_state.json: a save cut short
    (folder / FINGERPRINT_FILE).write_text("old\n")
    assert prepare_checkpoint_dir(folder, "old").name == "checkpoint-5"
    assert prepare_checkpoint_dir(folder, "new") is None
    assert not (folder / "checkpoint-5").exists()
    assert (folder / FINGERPRINT_FILE).read_text().strip() == "new"


def test_bf16_mixed_on_cpu_trains_fp32_weights_under_bf16_autocast(tiny_model_dir, examples, tmp_path):
    import torch
    from safetensors.torch import load_file

    from slm_math.training.model_loading import resolve_precision

    assert resolve_precision("auto") in ("bf16_mixed", "fp32")  # no GPU here: never pure bf16
    result = _train(tiny_model_dir, examples, tmp_path, "full", precision="bf16_mixed")
    losses = [e["loss"] for e in result.log_history if "loss" in e]
    assert result.metrics["precision"] == "bf16_mixed" and losses[-1] < losses[0] - 0.3
    weights = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert {t.dtype for t in weights.values()} == {torch.float32}  # master weights stay fp32


def test_each_step_splits_its_examples_into_micro_batches_of_similar_length(tiny_model_dir, examples,
                                                                            tmp_path):
    from transformers.trainer_pt_utils import BatchRebalanceSampler

    from slm_math.training.sft import build_sft_trainer

    train, held = examples
    cfg = quick_params("full", per_device_batch_size=2)  # 2 micro-batches a step of 4
    trainer, plan, _ = build_sft_trainer(base_model=tiny_model_dir, train_examples=train,
                                         eval_examples=held, cfg=cfg, mode="full",
                                         checkpoint_dir=tmp_path / "ckpt", seed=7)
    assert plan.grad_accum == 2
    loader = trainer.get_train_dataloader()
    sampler = trainer._get_train_sampler()
    assert isinstance(sampler, BatchRebalanceSampler) and sampler.seed == 7  # the run's seed, not 42
    lengths = [batch["attention_mask"].sum(dim=1).tolist() for batch in loader]
    assert sum(len(b) for b in lengths) == len(train) and len(lengths) == 2 * len(train) // 4
    for first, second in zip(lengths[::2], lengths[1::2]):
        assert len(first) + len(second) == 4  # a step holds effective_batch_size examples
        # the step's examples sorted by length, cut in two: no micro-batch spans the other's range
        assert min(first) >= max(second) or min(second) >= max(first)


class PoisonGradient(TrainerCallback):
    """Put a NaN in one gradient just before optimizer step ``step`` (as a bad batch would)."""

    def __init__(self, step: int):
        self.step = step

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        if state.global_step + 1 == self.step:
            next(p for p in model.parameters() if p.grad is not None).grad.view(-1)[0] = float("nan")


def test_a_step_with_a_nan_gradient_is_skipped_and_reported(tiny_model_dir, examples, tmp_path):
    import torch
    from safetensors.torch import load_file

    result = _train(tiny_model_dir, examples, tmp_path, "full", callbacks=[PoisonGradient(2)])
    assert result.metrics["nonfinite_grad_steps"] == [2] and result.metrics["steps"] == 4
    weights = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert all(torch.isfinite(t).all() for t in weights.values())  # the NaN never reached a weight
    clean = _train(tiny_model_dir, examples, tmp_path / "clean", "full")
    assert clean.metrics["nonfinite_grad_steps"] == []
