"""Model folders of the eval matrix: a LoRA adapter merged in memory (hf) or into a cached
folder (backends that load folders), on the shared tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_math.evaluation import models
from slm_math.evaluation.models import load_model_generator, merged_adapter
from slm_math.generation import SamplingParams, load_generator

PROMPTS = [[{"role": "user", "content": "What is 7 times 8?"}], "2 + 3 ="]
GREEDY = SamplingParams(max_new_tokens=8)


def make_adapter(base: str | Path, out: Path, seed: int = 0) -> Path:
    """A LoRA adapter on `base` with random (not zero) B, so it changes the model's output."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj", "down_proj"],
                        init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(out)
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == str(base)
    return out


def texts(gen) -> list[str]:
    return [r[0].text for r in gen.generate(PROMPTS, GREEDY)]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_model_dir) -> Path:
    return make_adapter(tiny_model_dir, tmp_path_factory.mktemp("models") / "lora")


def test_an_adapter_is_merged_once_into_a_cached_folder(adapter, tiny_model_dir, tmp_path, monkeypatch):
    cache = tmp_path / "merged"
    folder = merged_adapter(adapter, cache)
    assert folder.parent == cache and folder.name.startswith("lora-")
    assert (folder / "config.json").exists() and (folder / "tokenizer_config.json").exists()
    assert not list(folder.glob("adapter_*")) and [p.name for p in cache.iterdir()] == [folder.name]
    # the folder holds the merged model: same text as the in-memory merge, not the base's
    with load_model_generator(adapter, "hf", device="cpu", progress=False) as in_memory:
        expected = texts(in_memory)
    with load_generator("hf", str(folder), device="cpu", progress=False) as gen:
        assert texts(gen) == expected
    with load_generator("hf", tiny_model_dir, device="cpu", progress=False) as base:
        assert texts(base) != expected
    # found again without merging; a changed adapter is merged anew
    monkeypatch.setattr(models, "merge_in_memory", lambda *a, **k: pytest.fail("merged again"))
    assert merged_adapter(adapter, cache) == folder
    monkeypatch.undo()
    changed = make_adapter(tiny_model_dir, tmp_path / "lora", seed=1)
    other = merged_adapter(changed, cache)
    assert other != folder and other.name.startswith("lora-")
    assert sorted(p.name for p in cache.iterdir()) == sorted([folder.name, other.name])  # no temp left


def test_an_adapters_own_merged_folder_is_used(adapter, tmp_path):
    import shutil

    copy = tmp_path / "lora"
    shutil.copytree(adapter, copy)
    (copy / "merged").mkdir()
    (copy / "merged" / "config.json").write_text("{}")
    assert merged_adapter(copy, tmp_path / "cache") == copy / "merged"
    assert not (tmp_path / "cache").exists()


def test_an_adapter_through_an_api_is_refused(adapter):
    with pytest.raises(ValueError, match="hf or vllm backend"):
        load_model_generator(adapter, "openai")
