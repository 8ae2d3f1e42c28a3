"""Backends by name, and `load_generator`, the one way the pipeline makes a generator.

Backends are imported only when asked for, so the openai backend works without torch
imported, and the vllm backend's absence costs nothing until it is named.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Generator

BACKENDS: dict[str, str] = {
    "hf": "slm_math.generation.hf:HFGenerator.from_pretrained",
    "vllm": "slm_math.generation.vllm_backend:VLLMGenerator",
    "openai": "slm_math.generation.openai_backend:OpenAIGenerator",
}
"""backend name -> "module:factory"; the factory takes (model, **options)."""


def load_generator(backend: str, model: str, **options: Any) -> Generator:
    """Make a generator: `backend` is a key of BACKENDS, `model` a name or path for it.

    options are the backend's own (e.g. hf: device, dtype, batch_size, gguf_file;
    openai: base_url, api_key_env, max_concurrency; vllm: dtype, max_model_len).
    """
    try:
        target = BACKENDS[backend]
    except KeyError:
        raise ValueError(f"unknown generation backend {backend!r}; known: {sorted(BACKENDS)}") from None
    module_name, _, attr_path = target.partition(":")
    factory: Any = importlib.import_module(module_name)
    for attr in attr_path.split("."):
        factory = getattr(factory, attr)
    return factory(model, **options)


def backend_of(generator: Generator) -> str:
    """The backend name of `generator` (the key of `BACKENDS` that made its class), so a
    second model (a verifier) can be loaded the way the first was."""
    module = type(generator).__module__
    for name, target in BACKENDS.items():
        if target.partition(":")[0] == module:
            return name
    raise ValueError(f"cannot tell the generation backend of {type(generator).__name__}")
