"""GRPO's opt-in CPU sampling backend `vllm_lora`: vLLM on the start model + the live adapter.

The engine tests use the real SmolLM2-135M (vLLM's CPU attention wants real head sizes); one
engine serves the module, since starting vLLM costs 15-30 s on 2 cores.
"""

from __future__ import annotations

import json
import shutil

import pytest

from slm_math.config.params import (GenerationParams, LoraParams, Params, RewardSpec,
                                     TrackingParams)
from slm_math.training.grpo import GenerationBackendError, resolve_backend
from slm_math.training.grpo_stage import run_grpo_stage
from tests.conftest import require_vllm
from tests.training.helpers import quick_grpo
from tests.training.test_grpo_stage import _workspace

LORA_TARGETS = ["q_proj", "v_proj"]


def test_vllm_lora_is_opt_in_and_refuses_what_it_cannot_follow(tmp_path, tiny_model_dir):
    assert resolve_backend("auto", use_cuda=False, mode="lora", start_dir=tiny_model_dir) == "trl"
    with pytest.raises(GenerationBackendError, match="grpo.mode is full"):
        resolve_backend("vllm_lora", use_cuda=False, mode="full", start_dir=tiny_model_dir)
    (tmp_path / "adapter_config.json").write_text("{}")  # an adapter folder, not a full model
    with pytest.raises(GenerationBackendError, match="not a full model folder"):
        resolve_backend("vllm_lora", use_cuda=False, mode="lora", start_dir=tmp_path)


@pytest.fixture(scope="module")
def engine(smollm2_model_dir, tmp_path_factory):
    require_vllm()
    from slm_math.training.grpo_vllm import LoraEngine

    engine = LoraEngine(smollm2_model_dir, max_lora_rank=8, max_model_len=256,
                        scratch=tmp_path_factory.mktemp("engine"))
    yield engine
    engine.close()


@pytest.mark.slow
def test_the_engine_samples_with_the_adapter_it_was_last_handed(engine, smollm2_model_dir):
    import torch
    from peft import get_peft_model

    from slm_math.training.model_loading import load_causal_lm, load_tokenizer, lora_config

    tokenizer = load_tokenizer(smollm2_model_dir)
    rows = [tokenizer.apply_chat_template([{"role": "user", "content": f"What is {a} * 7?"}],
                                          add_generation_prompt=True, tokenize=False)
            for a in (3, 3, 3, 3, 5, 8)]  # a group of 4 equal prompts, as TRL repeats them
    ids = [tokenizer(text, add_special_tokens=False).input_ids for text in rows]

    def draw():
        return engine.sample_ids(ids, temperature=1.0, top_p=1.0, max_tokens=24,
                                 stop_token_ids=[tokenizer.eos_token_id], seed=11)

    start = draw()
    assert len({tuple(c) for c in start[:4]}) > 1  # one seed a row: a group is not 4 copies
    model = get_peft_model(load_causal_lm(smollm2_model_dir, "fp32"),
                           lora_config(8, 16, 0.0, LORA_TARGETS))
    engine.sync(model, 0)  # a fresh adapter (B = 0) is the start model
    assert draw() == start
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if "lora_B" in name:
                weight.normal_(0, 0.05)
    engine.sync(model, 1)
    engine.sync(model, 1)  # the same step: nothing is written again
    assert engine.syncs == 2
    moved = draw()
    assert sum(a != b for a, b in zip(moved, start)) >= 4, "the new adapter changed no sample"


@pytest.mark.slow
def test_grpo_stage_with_vllm_lora_trains_and_checks_through_the_engine(
        smollm2_model_dir, tmp_path, monkeypatch):
    require_vllm()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    paths = _workspace(tmp_path, smollm2_model_dir)
    cfg = quick_grpo(mode="lora", max_steps=2, learning_rate=1e-4, max_completion_length=16,
                     lora=LoraParams(r=8, alpha=16, dropout=0.0, target_modules=LORA_TARGETS),
                     generation=GenerationParams(backend="vllm_lora"), eval_problems=2,
                     rewards={"correctness": RewardSpec(1.0, {})})
    run_grpo_stage(Params(seed=0, grpo=cfg, tracking=TrackingParams(experiment="l")), paths)
    metrics = json.loads((tmp_path / "metrics" / "grpo.json").read_text())
    assert metrics["generation_backend"] == "vllm_lora"
    assert metrics["steps"] == 2 and len(metrics["curves"]["reward"]) == 2
    assert metrics["adapter_syncs"] == 3  # before each step's sampling, then the final adapter
    assert metrics["held_out_before"]["n"] == metrics["held_out_after"]["n"] == 2
    assert (tmp_path / "models" / "grpo" / "adapter" / "adapter_config.json").is_file()
    assert not (tmp_path / "models" / ".checkpoints" / "grpo.vllm_adapter").exists()
    shutil.rmtree(tmp_path / "models")
