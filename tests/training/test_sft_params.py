"""The sft_lora / sft_full / tracking sections of params.yaml load and reject bad values."""

from __future__ import annotations

import pytest

from slm_math.config import ParamsError, load_params
from tests.training.conftest import REPO


def test_committed_params_load_with_the_offline_profile():
    params = load_params(REPO / "params.yaml")
    assert params.sft_lora.lora.r == 16 and params.sft_lora.scheduler == "cosine"
    assert params.sft_full.learning_rate == 5e-5
    assert params.tracking.uri == "sqlite:///mlflow.db"
    assert params.tracking.registered_models.sft_lora == "slm-math-sft-lora"


@pytest.mark.parametrize("override, message", [
    ({"sft_lora": {"lora": {"r": 0}}}, "sft_lora.lora.r: 0 is below the minimum 1"),
    ({"sft_lora": {"lora": {"dropuot": 0.1}}}, "unknown key sft_lora.lora.dropuot (did you mean sft_lora.lora.dropout?)"),
    ({"sft_full": {"scheduler": "cosin"}}, "did you mean 'cosine'?"),
    ({"sft_full": {"precision": "fp16"}}, "sft_full.precision: 'fp16' is not one of"),
    ({"sft_full": {"effective_batch_size": "128"}}, "expected an integer"),
])
def test_bad_values_fail_with_one_line(override, message):
    with pytest.raises(ParamsError) as err:
        load_params(REPO / "params.yaml", overrides=override)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("group, packing, strategy", [
    (True, False, "batch_rebalance"), (False, False, "random"), (True, True, "random"),
])
def test_similar_lengths_are_batched_together_unless_packed(group, packing, strategy, tmp_path):
    from slm_math.training.batching import BatchPlan
    from slm_math.training.sft import sft_config

    params = load_params(REPO / "params.yaml",
                         overrides={"sft_lora": {"group_by_length": group, "packing": packing}})
    assert load_params(REPO / "params.yaml").sft_lora.group_by_length is True
    config = sft_config(params.sft_lora, BatchPlan(per_device=8, grad_accum=2, world_size=1),
                        checkpoint_dir=tmp_path, seed=1, precision="fp32", report_to=[], run_name="t")
    assert config.train_sampling_strategy == strategy
