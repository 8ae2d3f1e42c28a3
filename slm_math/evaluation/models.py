"""Model names of the eval matrix → generators.

A name is a folder `models/<name>`: a full model (config.json + weights), or a LoRA
adapter (adapter_config.json), which is loaded on its base model and merged, so that
generation runs at the base model's speed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slm_math.generation import Generator, load_generator


class ModelNotFoundError(FileNotFoundError):
    """A model name of the matrix has no folder (a user error: one line, exit 2)."""


def model_dir(name: str, root: str | Path = "models") -> Path:
    """The folder of model `name`, checked to hold a model or an adapter."""
    path = Path(root) / name
    if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
        have = sorted(p.name for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []
        raise ModelNotFoundError(
            f"{path}: no config.json or adapter_config.json: model {name!r} does not exist "
            f"(models present: {', '.join(have) or 'none'}; has its training stage run?)")
    return path


def is_adapter(path: Path) -> bool:
    """Whether `path` is a PEFT adapter folder rather than a full model."""
    return (path / "adapter_config.json").exists() and not (path / "config.json").exists()


def adapter_base(path: Path, root: str | Path = "models") -> Path:
    """The base model an adapter was trained on: its recorded path if local, else models/base."""
    recorded = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
    if recorded and (Path(recorded) / "config.json").exists():
        return Path(recorded)
    return Path(root) / "base"


def load_model_generator(path: Path, backend: str, **options: Any) -> Generator:
    """A generator for the model in `path` (an adapter is merged into its base, hf only)."""
    if not is_adapter(path):
        return load_generator(backend, str(path), **options)
    if backend != "hf":
        raise ValueError(f"{path}: a LoRA adapter is evaluated with the hf backend; "
                         f"merge it first to use {backend!r}")
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from slm_math.generation.hf import HFGenerator, resolve_dtype

    device = options.pop("device", None) or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = resolve_dtype(options.pop("dtype", None), device)
    base = adapter_base(path)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    model = PeftModel.from_pretrained(model, path).merge_and_unload()
    tokenizer_dir = path if (path / "tokenizer_config.json").exists() else base
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    return HFGenerator(model.to(device), tokenizer, **options)
