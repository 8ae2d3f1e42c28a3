"""Base model materialization: local dirs, the packaged GGUF, and a clear offline hub error."""

from __future__ import annotations

import json

import pytest

from slm_math.base_model import ModelSourceError, materialize_base_model


def test_local_directory_is_saved_as_safetensors(tiny_model_dir, tmp_path):
    out = tmp_path / "base"
    facts = materialize_base_model(str(tiny_model_dir), out)
    assert (out / "model.safetensors").exists()
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == 2
    assert facts["source"].startswith("local:") and facts["parameters"] > 0
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(out)
    text = tokenizer.apply_chat_template([{"role": "user", "content": "2+2?"}], tokenize=False,
                                         add_generation_prompt=True)
    assert "<|im_start|>assistant" in text


def test_hub_id_offline_and_uncached_is_clear(offline_hub, tmp_path):
    with pytest.raises(ModelSourceError, match="not in the local Hugging Face cache"):
        materialize_base_model("Qwen/Qwen2.5-Math-1.5B", tmp_path / "base")


def test_hub_id_loads_from_a_cache_laid_out_like_the_hub(offline_hub, tiny_model_dir, tmp_path):
    # Put the tiny model into the HF cache exactly as snapshot_download leaves it.
    import shutil

    repo = offline_hub / "hub" / "models--acme--tiny-math"
    snapshot = repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_model_dir, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123456789abcdef0123456789abcdef01234567")
    facts = materialize_base_model("acme/tiny-math", tmp_path / "base")
    assert facts["source"] == "hub:acme/tiny-math@main"
    assert (tmp_path / "base" / "model.safetensors").exists()


def test_nonsense_name_is_rejected(tmp_path):
    with pytest.raises(ModelSourceError, match="neither a packaged model"):
        materialize_base_model("not-a-model", tmp_path / "base")


def test_directory_without_config(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelSourceError, match="no config.json"):
        materialize_base_model(str(tmp_path / "empty"), tmp_path / "base")


@pytest.mark.slow
def test_packaged_gguf_becomes_a_trainable_model(tmp_path):
    out = tmp_path / "base"
    facts = materialize_base_model("smollm2-135m-gguf", out)
    assert facts["parameters"] == 134_515_008
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config  # trainers refuse a config that says GGUF
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(out)
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
