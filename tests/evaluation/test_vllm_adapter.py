"""A LoRA adapter evaluated with the vllm backend (merged into a cached folder), and
best_of_n scoring a vllm solver's samples with its own engine. One engine for
the module, on a tiny Llama built here (vLLM's CPU build in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slm_math.agents import build_agent
from slm_math.agents.scoring import VerifierScorer, VLLMVerifierScorer
from slm_math.evaluation.models import load_model_generator
from slm_math.evaluation.run import evaluate_cell
from slm_math.generation import SamplingParams, load_generator
from tests.agents.conftest import TOY
from tests.conftest import require_vllm
from tests.evaluation.test_models import make_adapter, texts


@pytest.fixture(scope="module")
def project(tmp_path_factory, smol_tokenizer_dir) -> Path:
    """models/base (a 2-layer Llama; head size 64, which vLLM's CPU attention takes) and
    models/lora, an adapter on it; the working directory for the module (.cache/merged)."""
    import shutil

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    require_vllm()
    root = tmp_path_factory.mktemp("project")
    base = root / "models" / "base"
    tokenizer = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=1024, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(base)
    for item in Path(smol_tokenizer_dir).iterdir():
        shutil.copy(item, base / item.name)
    make_adapter(base, root / "models" / "lora")
    cwd = os.getcwd()
    os.chdir(root)
    yield root
    os.chdir(cwd)


@pytest.fixture(scope="module")
def vllm_lora(project):
    with load_model_generator(project / "models" / "lora", "vllm", dtype="float32",
                              kv_cache_gib=1, max_model_len=1024) as gen:
        yield gen


@pytest.fixture(scope="module")
def hf_lora(project):
    with load_model_generator(project / "models" / "lora", "hf", device="cpu", progress=False) as gen:
        yield gen


@pytest.mark.slow
def test_vllm_generates_with_the_merged_adapter(project, vllm_lora, hf_lora):
    merged = Path(vllm_lora.model_path)
    assert merged.parent == Path(".cache/merged") and merged.name.startswith("lora-")
    assert (project / merged / "config.json").exists()
    expected = texts(hf_lora)  # the adapter merged in memory by PEFT, fp32
    assert texts(vllm_lora) == expected
    with load_generator("hf", str(project / "models" / "base"), device="cpu", progress=False) as base:
        assert texts(base) != expected  # the adapter is in the weights vLLM runs


@pytest.mark.slow
def test_best_of_n_scores_a_vllm_solver_with_its_own_weights(vllm_lora, hf_lora):
    agent = build_agent("best_of_n", sampling=SamplingParams(max_new_tokens=6, seed=5),
                        samples=3, temperature=1.0)  # no reward_model: the solver verifies
    rows = evaluate_cell(agent, vllm_lora, {"toy": TOY[:2]}, model="lora", agent_name="bon")
    scorer = agent.scorer(vllm_lora)
    assert isinstance(scorer, VLLMVerifierScorer) and scorer.generator is vllm_lora
    same_weights = VerifierScorer(hf_lora.model, hf_lora.tokenizer)
    for problem, row in zip(TOY, rows["toy"]):
        scored = [s for s in row["trace"] if "score" in s]
        assert len(scored) == 3 and all(0 < s["score"] < 1 for s in scored)
        by_hand = same_weights.score([(problem["problem"], s["content"]) for s in scored])
        assert [s["score"] for s in scored] == pytest.approx(by_hand, abs=1e-4)

