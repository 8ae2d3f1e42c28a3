"""Loading the model and tokenizer a trainer starts from, in the precision the device allows.

Shared by SFT and GRPO. ``precision="auto"`` means bf16 on a GPU that supports it (weights
loaded in bf16 and trained with bf16 autocast, as TRL and open-r1 do); ``bf16_mixed`` on a
CPU with native bf16 instructions (AVX512-BF16/AMX: fp32 weights and optimizer, bf16 autocast, the trainer on the CPU;
measured 2.5-3x the fp32 training speed of the 135M model on 2 cores); fp32 elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Precision = Literal["bf16", "bf16_mixed", "fp32"]


def resolve_precision(precision: str) -> Precision:
    """``auto`` → ``bf16`` on a GPU that supports it, ``bf16_mixed`` on a CPU with native
    bf16 matmuls, else ``fp32``; others pass through."""
    if precision != "auto":
        return precision  # type: ignore[return-value]
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    from slm_math.generation.vllm_env import isa_capped

    if isa_capped():  # an ISA cap below AVX-512: fp32, as vLLM's dtype (vllm_env.cpu_dtype)
        return "fp32"
    if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "bf16_mixed"
    return "fp32"


def uses_bf16_autocast(precision: str) -> bool:
    """Whether the trainer runs under bf16 autocast (TrainingArguments' ``bf16``)."""
    return precision in ("bf16", "bf16_mixed")


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
