"""Loading the model and tokenizer a trainer starts from, in the precision the device allows.

Shared by SFT and GRPO. ``precision="auto"`` means bf16 where the accelerator supports it
(weights loaded in bf16 and trained with bf16 autocast, as TRL and open-r1 do) and fp32
elsewhere (CPU: bf16 matmuls there are slow and lossy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Precision = Literal["bf16", "fp32"]


def resolve_precision(precision: str) -> Precision:
    """``auto`` → ``bf16`` on a GPU that supports it, else ``fp32``; others pass through."""
    if precision != "auto":
        return precision  # type: ignore[return-value]
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def load_tokenizer(path: str | Path):
    """The model's tokenizer with its own chat template; pad falls back to eos."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.chat_template is None:
        raise ValueError(f"{path}: the tokenizer has no chat template; SFT needs one")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(path: str | Path, precision: Precision):
    """A causal LM from a local folder, its weights in the training precision."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)


def lora_config(r: int, alpha: int, dropout: float, target_modules: list[str]):
    """A PEFT LoRA config for a causal LM (``['all-linear']`` targets every linear layer)."""
    from peft import LoraConfig

    targets: list[str] | str = target_modules
    if target_modules == ["all-linear"]:
        targets = "all-linear"
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                      task_type="CAUSAL_LM", bias="none")
