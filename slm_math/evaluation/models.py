"""Model names of the eval matrix → generators.

A name is a folder `models/<name>`: a full model (config.json + weights), or a LoRA
adapter (adapter_config.json), which is merged into its base model, so that generation
runs at the base model's speed: in memory for the hf backend; for vllm (which loads a
folder) the adapter's own `merged/` (sft_lora with `merge: true`), else a merged copy
saved once under `.cache/merged/<name>-<hash of the adapter and base>`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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


def merged_adapter(path: Path, cache_root: str | Path = ".cache/merged") -> Path:
    """A folder holding adapter `path` merged into its base, for backends that load folders.

    The adapter's own `merged/` if it has one; else a copy merged here once and kept under
    `cache_root`, keyed by the adapter's files and its base (written to a temporary folder,
    then renamed: an interrupted merge leaves nothing that looks finished).
    """
    if (path / "merged" / "config.json").exists():
        return path / "merged"
    from slm_math.evaluation.run import model_fingerprint

    base = adapter_base(path)
    digest = hashlib.sha256(model_fingerprint(base).encode())
    for file in sorted(p for p in path.iterdir() if p.is_file()):  # adapters are small: whole
        digest.update(f"{file.name}\0".encode() + file.read_bytes())
    out = Path(cache_root) / f"{path.name}-{digest.hexdigest()[:16]}"
    if (out / "config.json").exists():
        return out
    model, tokenizer = merge_in_memory(path, dtype="auto")
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(out)
    except OSError:  # another process finished the same merge first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def merge_in_memory(path: Path, dtype: Any) -> tuple[Any, Any]:
    """(model, tokenizer): adapter `path` loaded on its base and merged (PEFT), on CPU."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = adapter_base(path)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    model = PeftModel.from_pretrained(model, path).merge_and_unload()
    tokenizer_dir = path if (path / "tokenizer_config.json").exists() else base
    return model, AutoTokenizer.from_pretrained(tokenizer_dir)


def load_model_generator(path: Path, backend: str, **options: Any) -> Generator:
    """A generator for the model in `path`; an adapter is merged into its base first
    (in memory for hf, into a folder for the other backends: `merged_adapter`)."""
    if not is_adapter(path):
        return load_generator(backend, str(path), **options)
    if backend == "openai":
        raise ValueError(f"{path}: a LoRA adapter is evaluated with the hf or vllm backend, "
                         "not through an API")
    if backend != "hf":
        return load_generator(backend, str(merged_adapter(path)), **options)
    import torch

    from slm_math.generation.hf import HFGenerator, resolve_dtype

    device = options.pop("device", None) or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = merge_in_memory(path, resolve_dtype(options.pop("dtype", None), device))
    return HFGenerator(model.to(device), tokenizer, **options)
